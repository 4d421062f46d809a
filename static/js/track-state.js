// The song editor's state: the document (name + EDL), the selected item, undo/redo, and saving.
// Every edit goes through `edit()`, which records an undo step and schedules an autosave
// (PUT = a new revision on the server). This is the one place the editor's mutable state lives:
// the other track-*.js modules read and write `state`, and never keep copies of `state.doc` (undo
// replaces it). Redrawing is the entry point's business, reached through `hooks` so that this
// module imports no view.
import { Problem, api } from "./api.js";
import { pageData } from "./keys.js";
import { plan } from "./timeline.js";

const data = pageData();
const $ = (id) => document.getElementById(id);
export const trackId = data.track.id;
export const clips = data.clips; // clip id (string) -> clip JSON
export const clipOf = (item) => clips[String(item.clip_id)] || { id: item.clip_id, label: `#${item.clip_id}` };
export const LANES = [0, 1];
export const VIEW_SR = 1000; // the arrangement is laid out in milliseconds
const AUTOSAVE_MS = 1200;

function normalise(edl) {
  const out = structuredClone(edl);
  out.items = out.items || [];
  out.lanes = out.lanes || {};
  return out;
}

export const state = {
  doc: { name: data.track.name, edl: normalise(data.track.edl) },
  track: data.track, // the track JSON as the server last returned it (audio_url)
  revision: data.track.revision,
  selected: null, // index into doc.edl.items, or null
  dirty: false, // edits not yet stored as a revision
  saving: null, // the PUT in flight (a Promise), or null
};
state.selected = state.doc.edl.items.length ? 0 : null;

/** Set by the entry point: `render()` redraws everything, `saved()` runs after a clean save. */
export const hooks = { render: () => {}, saved: () => {} };

const undoStack = [];
const redoStack = [];
let saveTimer = null;

export const canUndo = () => undoStack.length > 0;
export const canRedo = () => redoStack.length > 0;

const snapshot = () => structuredClone(state.doc);

/** Apply `mutate(doc)` as one undoable step, redraw, autosave. */
export function edit(mutate) {
  undoStack.push(snapshot());
  if (undoStack.length > 200) undoStack.shift();
  redoStack.length = 0;
  mutate(state.doc);
  changed();
}

function changed() {
  state.dirty = true;
  hooks.render();
  setStatus(`unsaved · r${state.revision}`, "dirty");
  clearTimeout(saveTimer);
  saveTimer = setTimeout(save, AUTOSAVE_MS);
}

export function undo() {
  if (!undoStack.length) return;
  redoStack.push(snapshot());
  state.doc = undoStack.pop();
  clampSelection();
  changed();
}

export function redo() {
  if (!redoStack.length) return;
  undoStack.push(snapshot());
  state.doc = redoStack.pop();
  clampSelection();
  changed();
}

/** Select item `index` (or null) and redraw. */
export function select(index) {
  state.selected = index;
  hooks.render();
}

export function clampSelection() {
  const n = state.doc.edl.items.length;
  if (state.selected != null && state.selected >= n) state.selected = n - 1;
  if (state.selected != null && state.selected < 0) state.selected = null;
}

export function setStatus(text, kind = "") {
  const el = $("save-status");
  el.textContent = text;
  el.className = `status ${kind}`;
}

// -- saving --------------------------------------------------------------------------------------
export async function save() {
  clearTimeout(saveTimer);
  if (state.saving) { await state.saving; if (!state.dirty) return; }
  if (!state.dirty) return;
  const { doc } = state;
  const layout = plan(doc.edl, VIEW_SR);
  if (layout.problems.length) {
    const p = layout.problems[0];
    setStatus(`not saved: item ${p.index + 1}: ${p.message}`, "error");
    return;
  }
  const body = { name: doc.name, edl: doc.edl, base_revision: state.revision };
  const sent = JSON.stringify(doc);
  setStatus("saving…");
  state.saving = (async () => {
    try {
      const out = await api("PUT", `/api/v1/tracks/${trackId}`, body);
      state.revision = out.revision;
      state.track = out;
      state.dirty = JSON.stringify(state.doc) !== sent; // edits made while the request was out
      const { dirty, revision } = state;
      setStatus(dirty ? `unsaved · r${revision}` : `saved · r${revision}`, dirty ? "dirty" : "");
      if (dirty) saveTimer = setTimeout(save, AUTOSAVE_MS);
      else hooks.saved();
    } catch (err) {
      if (err instanceof Problem && err.status === 409) {
        setStatus("changed elsewhere: reload to continue", "error");
      } else if (err instanceof Problem && err.errors.length) {
        const e = err.errors[0];
        setStatus(`not saved: ${e.field}: ${e.msg}`, "error");
        if (e.index != null) select(e.index);
      } else {
        setStatus(`not saved: ${err.message}`, "error");
      }
    } finally {
      state.saving = null;
    }
  })();
  return state.saving;
}

window.addEventListener("beforeunload", (e) => {
  if (state.dirty) { save(); e.preventDefault(); }
});
