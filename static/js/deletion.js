// Deleting clips, checkpoints and runs: ask the server what would go (dry run), show it, delete
// on confirmation; a refusal (409) lists the songs, albums and exports that use it.
import { api, Problem } from "./api.js";

const LINKS = { track: (id) => `/tracks/${id}`, album: (id) => `/albums/${id}` };

function dialog() {
  let d = document.getElementById("delete-dialog");
  if (d) return d;
  d = document.createElement("dialog");
  d.id = "delete-dialog";
  d.className = "panel dialog";
  d.setAttribute("aria-labelledby", "delete-title");
  d.innerHTML = `<div class="stack">
    <h2 id="delete-title" data-d-title></h2>
    <p data-d-text></p>
    <ul class="small mono" data-d-list></ul>
    <div class="row"><button type="button" class="danger" data-d-confirm>Delete</button>
      <button type="button" data-d-cancel>Cancel</button><span class="status" data-d-status></span></div>
  </div>`;
  document.body.append(d);
  d.querySelector("[data-d-cancel]").addEventListener("click", () => d.close());
  return d;
}

function fill(d, title, text, items) {
  d.querySelector("[data-d-title]").textContent = title;
  d.querySelector("[data-d-text]").textContent = text;
  d.querySelector("[data-d-list]").replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    if (item.href) {
      const a = document.createElement("a");
      a.href = item.href;
      a.textContent = item.text;
      li.append(a);
    } else li.textContent = item.text;
    if (item.data) Object.assign(li.dataset, item.data);
    return li;
  }));
  d.querySelector("[data-d-status]").textContent = "";
}

function refusal(d, what, err) {
  const users = err.body.users || [];
  fill(d, `${what} cannot be deleted`, err.message, users.map((u) => ({
    text: `${u.kind} ${u.id}: ${u.name || "Untitled"}${u.clip_ids ? ` (clips ${u.clip_ids.map((i) => `#${i}`).join(", ")})` : ""}`,
    href: LINKS[u.kind]?.(u.id), data: { user: `${u.kind}-${u.id}` },
  })));
  d.dataset.state = "refused";
  d.querySelector("[data-d-confirm]").hidden = true;
}

/**
 * Delete what `request` names after the curator saw what goes. `request(dryRun)` performs the
 * API call (DELETE ...?dry_run= or the batch POST) and returns the removal JSON. Resolves with
 * the removal once deleted, or null when cancelled or refused.
 */
export function confirmDelete(what, request) {
  const d = dialog();
  const confirm = d.querySelector("[data-d-confirm]");
  return new Promise(async (resolve) => {
    const done = (value) => { d.removeEventListener("close", onClose); resolve(value); };
    const onClose = () => done(null);
    d.addEventListener("close", onClose);
    confirm.hidden = false;
    d.dataset.state = "asking";
    fill(d, `Delete ${what}?`, "Asking the server what this removes…", []);
    if (!d.open) d.showModal();
    let plan;
    try {
      plan = await request(true);
    } catch (err) {
      if (err instanceof Problem && err.status === 409) refusal(d, what, err);
      else fill(d, `Cannot delete ${what}`, err.message, []);
      return;
    }
    const shown = plan.paths.slice(0, 12).map((p) => ({ text: p }));
    if (plan.paths.length > 12 || plan.paths_truncated) shown.push({ text: `… and more (${plan.files} files, ${plan.folders} folders)` });
    fill(d, `Delete ${what}?`, `${plan.summary[0].toUpperCase()}${plan.summary.slice(1)}. This cannot be undone.`, shown);
    d.dataset.state = "confirm";
    confirm.onclick = async () => {
      confirm.disabled = true;
      d.querySelector("[data-d-status]").textContent = "deleting…";
      try {
        const removed = await request(false);
        d.removeEventListener("close", onClose);
        d.close();
        resolve(removed);
      } catch (err) {
        if (err instanceof Problem && err.status === 409) refusal(d, what, err);
        else d.querySelector("[data-d-status]").textContent = `not deleted: ${err.message}`;
      } finally {
        confirm.disabled = false;
      }
    };
  });
}

export const deleteByUrl = (url) => (dryRun) => api("DELETE", `${url}?dry_run=${dryRun}`);
