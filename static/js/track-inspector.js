// Drawing the song's form fields: the inspector of the selected item and the lane/join controls,
// filled from `state` (a field being typed in is left alone). Kept apart from track-draw.js because
// it maps EDL fields to input values (seconds to ms, defaults), which the arrangement never needs;
// the reverse mapping, input to EDL, is the commands' setField/setLaneField.
import { clipOf, state } from "./track-state.js";
import { laneOf } from "./timeline.js";

const $ = (id) => document.getElementById(id);

const FIELD_VIEW = {
  start_s: (it) => it.start_s,
  end_s: (it) => it.end_s,
  gain_db: (it) => it.gain_db ?? 0,
  repeat: (it) => it.repeat ?? 1,
  fade_in_ms: (it) => Math.round((it.fade_in_s ?? 0) * 1000),
  fade_out_ms: (it) => Math.round((it.fade_out_s ?? 0) * 1000),
  crossfade_ms: (it) => (it.crossfade_s == null ? "" : Math.round(it.crossfade_s * 1000)),
  offset_ms: (it) => Math.round((it.offset_s ?? 0) * 10000) / 10,
  lane: (it) => it.lane ?? 0,
  pan: (it) => (it.pan == null ? "" : it.pan),
};

export function renderLaneControls() {
  const { doc } = state;
  for (const input of document.querySelectorAll("[data-lane-field]")) {
    const l = laneOf(doc.edl, Number(input.dataset.lane));
    const value = { pan: l.pan, offset_ms: Math.round(l.offset_s * 1000), gain_db: l.gain_db }[input.dataset.laneField];
    if (document.activeElement !== input) input.value = value;
  }
  if (document.activeElement !== $("crossfade-ms")) $("crossfade-ms").value = Math.round((doc.edl.crossfade_s ?? 0.01) * 1000);
  if (document.activeElement !== $("repeat-crossfade-ms")) $("repeat-crossfade-ms").value = Math.round((doc.edl.repeat_crossfade_s ?? 0) * 1000);
}

export function renderInspector() {
  const { doc, selected } = state;
  const item = selected != null ? doc.edl.items[selected] : null;
  $("no-item").hidden = !!item;
  $("item-fields").hidden = !item;
  $("item-actions").hidden = !item;
  $("item-clip-link").hidden = !item;
  if (!item) return;
  $("item-title").textContent = `Item ${selected + 1} · ${clipOf(item).label}`;
  $("item-clip-link").href = `/clips/${item.clip_id}`;
  for (const input of document.querySelectorAll("[data-field]")) {
    if (document.activeElement !== input) input.value = FIELD_VIEW[input.dataset.field](item);
    input.removeAttribute("aria-invalid");
  }
}
