// The rating / keep-reject / tags / notes panel (_curation.html). Every change is a PATCH.
import { patchClip } from "./api.js";

export class Curation {
  constructor(root, { onSaved } = {}) {
    this.root = root;
    this.clip = null;
    this.onSaved = onSaved || (() => {});
    this.status = root.querySelector("[data-i-status]");
    this.tagInput = root.querySelector("[data-i-tag]");
    this.notes = root.querySelector("[data-i-notes]");
    root.querySelectorAll("[data-rate]").forEach((b) =>
      b.addEventListener("click", () => this.rate(Number(b.dataset.rate))));
    root.querySelector('[data-verdict-btn="keep"]').addEventListener("click", () => this.verdict(true));
    root.querySelector('[data-verdict-btn="reject"]').addEventListener("click", () => this.verdict(false));
    this.tagInput.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      const tag = this.tagInput.value.trim();
      if (tag && this.clip) this.save({ tags: [...this.clip.tags, tag] });
      this.tagInput.value = "";
    });
    let timer;
    this.notes.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.clip && this.save({ notes: this.notes.value }), 800);
    });
    this.notes.addEventListener("change", () => {
      clearTimeout(timer);
      if (this.clip && this.notes.value !== this.clip.notes) this.save({ notes: this.notes.value });
    });
  }

  get autoAdvance() { return this.root.querySelector("[data-i-advance]")?.checked ?? false; }

  show(clip) {
    this.clip = clip;
    this.root.querySelectorAll("[data-rate]").forEach((b) =>
      b.setAttribute("aria-pressed", String(Number(b.dataset.rate) === clip.rating)));
    this.root.querySelector('[data-verdict-btn="keep"]').classList.toggle("primary", clip.kept === true);
    this.root.querySelector('[data-verdict-btn="reject"]').classList.toggle("danger", clip.kept === false);
    const tags = this.root.querySelector("[data-i-tags]");
    tags.replaceChildren(...clip.tags.map((t) => {
      const chip = document.createElement("span");
      chip.className = "tag";
      chip.textContent = t;
      const x = document.createElement("button");
      x.type = "button";
      x.textContent = "✕";
      x.setAttribute("aria-label", `Remove tag ${t}`);
      x.addEventListener("click", () => this.save({ tags: clip.tags.filter((o) => o !== t) }));
      chip.append(x);
      return chip;
    }));
    if (document.activeElement !== this.notes) this.notes.value = clip.notes || "";
  }

  /** Rate 1..5; the same rating again clears it. */
  rate(n) { if (this.clip) return this.save({ rating: this.clip.rating === n ? null : n }); }

  verdict(keep) { if (this.clip) return this.save({ kept: keep }); }

  async save(changes) {
    const clip = this.clip;
    this.status.textContent = "saving…";
    try {
      const out = await patchClip(clip.id, changes);
      Object.assign(clip, { rating: out.rating, kept: out.kept, tags: out.tags, notes: out.notes });
      this.status.textContent = "saved";
      if (this.clip === clip) this.show(clip);
      this.onSaved(clip, changes);
    } catch (e) {
      this.status.textContent = `not saved: ${e.message}`;
    }
  }
}
