// Many clips at once in the clip browser: Ctrl/⌘+click, Shift+click, "select all in view", and
// the batch bar whose every action is ONE request (POST /projects/{id}/clips/batch).
import { api } from "./api.js";
import { confirmDelete } from "./deletion.js";
import { isTyping, toast } from "./keys.js";

export class Selection {
  constructor(list, bar, { projectId, onEdited, onDeleted }) {
    this.list = list;
    this.bar = bar;
    this.url = `/api/v1/projects/${projectId}/clips/batch`;
    this.onEdited = onEdited;
    this.onDeleted = onDeleted;
    this.ids = new Set();
    this.anchor = null;
    const on = (sel, fn) => bar.querySelectorAll(sel).forEach((b) => b.addEventListener("click", fn));
    on("[data-b-all]", () => this.all());
    on("[data-b-none]", () => this.clear());
    on("[data-b-rate]", (e) => this.edit({ rating: Number(e.currentTarget.dataset.bRate) }));
    on("[data-b-kept]", (e) => this.edit({ kept: JSON.parse(e.currentTarget.dataset.bKept) }));
    on("[data-b-addtag]", () => this.tag("add_tags"));
    on("[data-b-untag]", () => this.tag("remove_tags"));
    on("[data-b-delete]", () => this.remove());
    document.addEventListener("keydown", (e) => {
      if (isTyping(e.target) || document.querySelector("dialog[open]")) return;
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "a") { e.preventDefault(); this.all(); }
      else if (e.key === "Escape" && this.ids.size) this.clear();
    });
  }

  rowIds() { return [...this.list.querySelectorAll(".clip")].map((r) => Number(r.dataset.clipId)); }

  /** Ctrl+click: add or remove one clip (the clip being auditioned joins a fresh selection). */
  toggle(id, current) {
    if (!this.ids.size && current != null && current !== id) this.ids.add(current);
    if (this.ids.has(id)) this.ids.delete(id); else this.ids.add(id);
    this.anchor = id;
    this.paint();
  }

  /** Shift+click: every clip between the anchor (or the auditioned clip) and this one. */
  range(id, current) {
    const order = this.rowIds();
    const from = order.indexOf(this.anchor ?? current ?? id);
    const to = order.indexOf(id);
    const [a, b] = from < 0 ? [to, to] : [Math.min(from, to), Math.max(from, to)];
    for (const i of order.slice(a, b + 1)) this.ids.add(i);
    this.paint();
  }

  all() { for (const id of this.rowIds()) this.ids.add(id); this.paint(); }

  clear() { this.ids.clear(); this.anchor = null; this.paint(); }

  paint() {
    for (const row of this.list.querySelectorAll(".clip")) {
      const on = this.ids.has(Number(row.dataset.clipId));
      row.classList.toggle("picked", on);
      row.toggleAttribute("data-picked", on);
    }
    const n = this.ids.size;
    this.bar.dataset.count = String(n);
    this.bar.classList.toggle("active", n > 0);
    this.bar.querySelector("[data-b-count]").textContent = `${n} selected`;
    this.bar.querySelectorAll("button:not([data-b-all])").forEach((b) => { b.disabled = n === 0; });
  }

  status(text) { this.bar.querySelector("[data-b-status]").textContent = text; }

  async edit(changes) {
    const ids = [...this.ids];
    if (!ids.length) return;
    this.status(`saving ${ids.length} clips…`);
    try {
      const out = await api("POST", this.url, { ids, ...changes });
      this.onEdited(out.data);
      this.status(`saved ${out.updated} clips`);
    } catch (err) {
      this.status(`not saved: ${err.message}`);
      toast(`not saved: ${err.message}`);
    }
  }

  tag(field) {
    const input = this.bar.querySelector("[data-b-tag]");
    const tag = input.value.trim();
    if (!tag) { input.focus(); toast("Type a tag first"); return; }
    this.edit({ [field]: [tag] });
  }

  async remove() {
    const ids = [...this.ids];
    if (!ids.length) return;
    const request = async (dryRun) =>
      (await api("POST", this.url, { ids, delete: true, dry_run: dryRun })).removal;
    const removed = await confirmDelete(ids.length === 1 ? `clip #${ids[0]}` : `${ids.length} clips`, request);
    if (!removed) return;
    this.onDeleted(removed.clips);
    this.clear();
    this.status(`deleted ${removed.clips.length} clips`);
  }
}
