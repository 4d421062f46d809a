// The song editor's commands: every change a user can make to the arrangement (item fields such as
// in/out trim, gain, fades, repeat, lane and pan; lane and join settings; nudge, drag-shift,
// reorder, add from a clip, duplicate, remove, auto-align, rename). Each one is a single `edit()`,
// so it is one undo step and autosaves; none touches the DOM beyond a toast or a status line.
import { api } from "./api.js";
import { toast } from "./keys.js";
import { clampSelection, clips, edit, select, state, trackId } from "./track-state.js";
import { laneOf } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const num = (v, fallback = 0) => (v === "" || v == null || !isFinite(Number(v)) ? fallback : Number(v));

/** Put `item` on `lane`; the first time lane 2 is used, lanes go hard left / hard right. */
function setLane(d, item, lane) {
  item.lane = lane;
  if (lane === 1 && !d.edl.lanes["0"] && !d.edl.lanes["1"]) {
    d.edl.lanes = { 0: { pan: -1, offset_s: 0, gain_db: 0 }, 1: { pan: 1, offset_s: 0, gain_db: 0 } };
  }
}

/** An inspector field (`data-field`) of the selected item, from the input's raw value. */
export function setField(field, raw) {
  edit((d) => {
    const item = d.edl.items[state.selected];
    switch (field) {
      case "start_s": case "end_s": case "gain_db": item[field] = num(raw, item[field]); break;
      case "repeat": item.repeat = Math.max(1, Math.round(num(raw, 1))); break;
      case "fade_in_ms": item.fade_in_s = Math.max(0, num(raw) / 1000); break;
      case "fade_out_ms": item.fade_out_s = Math.max(0, num(raw) / 1000); break;
      case "crossfade_ms": if (raw === "") delete item.crossfade_s; else item.crossfade_s = Math.max(0, num(raw) / 1000); break;
      case "offset_ms": item.offset_s = num(raw) / 1000; break;
      case "lane": setLane(d, item, Number(raw)); break;
      case "pan": item.pan = raw === "" ? null : Math.max(-1, Math.min(1, num(raw))); break;
    }
  });
}

/** A lane control (`data-lane-field`: pan, offset_ms, gain_db) of `lane`. */
export function setLaneField(lane, field, raw) {
  edit((d) => {
    const l = laneOf(d.edl, lane);
    if (field === "pan") l.pan = Math.max(-1, Math.min(1, num(raw)));
    if (field === "offset_ms") l.offset_s = Math.max(0, num(raw) / 1000);
    if (field === "gain_db") l.gain_db = num(raw);
    d.edl.lanes[String(lane)] = l;
  });
}

export const setJoinCrossfade = (raw) => edit((d) => { d.edl.crossfade_s = Math.max(0, num(raw, 10) / 1000); });
export const setRepeatCrossfade = (raw) => edit((d) => { d.edl.repeat_crossfade_s = Math.max(0, num(raw) / 1000); });
export const rename = (name) => edit((d) => { d.name = name; });

/** Repeat the selected item once more (the D key). */
export function repeatOnce() {
  const i = state.selected;
  edit((d) => { d.edl.items[i].repeat = (d.edl.items[i].repeat ?? 1) + 1; });
}

/** Shift the selected item's offset by `ms` (0.001 ms precision). */
export function nudge(ms) {
  if (state.selected == null) return;
  edit((d) => {
    const item = d.edl.items[state.selected];
    item.offset_s = Math.round(((item.offset_s ?? 0) + ms / 1000) * 1e6) / 1e6;
  });
  toast(`offset ${Math.round(state.doc.edl.items[state.selected].offset_s * 10000) / 10} ms`, 900);
}

/** Item `index` dropped `shift` seconds later (earlier when negative) in the arrangement: 1 ms steps. */
export function shiftItem(index, shift) {
  edit((d) => {
    const item = d.edl.items[index];
    item.offset_s = Math.round(((item.offset_s ?? 0) + shift) * 1000) / 1000;
  });
  toast(`moved ${shift > 0 ? "+" : ""}${Math.round(shift * 1000)} ms · offset ${Math.round(state.doc.edl.items[index].offset_s * 1000)} ms`, 1200);
}

/** Reorder: item `from` goes before item `to` (`to` = length: to the end). */
export function move(from, to) {
  if (from === to || from == null) return;
  edit((d) => {
    const [item] = d.edl.items.splice(from, 1);
    d.edl.items.splice(to > from ? to - 1 : to, 0, item);
  });
  select(to > from ? to - 1 : to);
}

/** The whole of clip `id` as a new item at the end of `lane`. */
export function addClip(id, lane) {
  const clip = clips[String(id)];
  edit((d) => {
    const item = { clip_id: clip.id, start_s: 0, end_s: Math.round(clip.duration_s * 1e6) / 1e6, lane: 0 };
    setLane(d, item, lane);
    d.edl.items.push(item);
  });
  select(state.doc.edl.items.length - 1);
}

export function duplicate() {
  if (state.selected == null) return;
  edit((d) => d.edl.items.splice(state.selected + 1, 0, structuredClone(d.edl.items[state.selected])));
  select(state.selected + 1);
}

export function remove() {
  if (state.selected == null) return;
  edit((d) => d.edl.items.splice(state.selected, 1));
  clampSelection();
  select(state.selected); // redraw with the clamped selection
}

/** Ask the server how far lane 2 lags lane 1 and set the lane offsets it answers. */
export async function autoAlign() {
  const status = $("align-status");
  status.textContent = "aligning…";
  try {
    const r = await api("POST", `/api/v1/tracks/${trackId}/align`, { lane_a: 0, lane_b: 1, edl: state.doc.edl });
    edit((d) => {
      for (const [n, l] of Object.entries(r.lanes)) d.edl.lanes[n] = l;
    });
    status.textContent = `lane 2 was ${Math.round(r.shift_s * 1000)} ms behind lane 1: lined up`;
  } catch (err) {
    status.textContent = `not aligned: ${err.message}`;
  }
}
