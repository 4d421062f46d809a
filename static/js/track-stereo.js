// The stereo of the saved render, as the server measures it: the mono-compatibility warning
// (#mono-warning, when both lanes are used) and the split-channel view (UX row 29: server peaks
// per channel, drawn as SVG). Both ask the server about the saved revision, so `afterSave()` is
// what refreshes them; they never change the document.
import { api } from "./api.js";
import { fmtTime } from "./keys.js";
import { save, state, trackId } from "./track-state.js";

const $ = (id) => document.getElementById(id);
let monoTimer = null;

export function monoCheck() {
  const lanes = new Set(state.doc.edl.items.map((i) => i.lane ?? 0));
  const box = $("mono-warning");
  if (lanes.size < 2) { box.hidden = true; return; }
  clearTimeout(monoTimer);
  monoTimer = setTimeout(async () => {
    try {
      const r = await api("GET", `/api/v1/tracks/${trackId}/mono-check`);
      box.hidden = !r.warning;
      box.textContent = r.message || "";
    } catch { box.hidden = true; }
  }, 400);
}

/** A new revision is stored: check it again, and redraw the stereo view if it is open. */
export function afterSave() {
  monoCheck();
  if (!$("stereo-view").hidden) drawStereo();
}

export function toggleStereo(force) {
  const view = $("stereo-view");
  const show = force ?? view.hidden;
  view.hidden = !show;
  $("stereo-toggle").setAttribute("aria-pressed", String(show));
  if (show) drawStereo();
}

async function drawStereo() {
  const status = $("stereo-status");
  if (state.dirty || state.saving) await save();
  if (!state.doc.edl.items.length) { status.textContent = "nothing rendered yet: add an item"; return; }
  status.textContent = "rendering…";
  const rev = state.revision;
  try {
    const r = await api("GET", `/api/v1/tracks/${trackId}/peaks?revision=${rev}&pixels=1200`);
    if (rev !== state.revision) return; // a newer save redraws
    document.querySelectorAll("#stereo-view svg").forEach((svg) => {
      const values = r.peaks[Number(svg.dataset.channel)] || [];
      svg.setAttribute("viewBox", `0 -1 ${Math.max(1, values.length)} 2`);
      svg.querySelector("line").setAttribute("x2", String(Math.max(1, values.length)));
      svg.querySelector("path").setAttribute("d", values.map((v, i) => {
        const a = Math.max(Math.abs(v), 0.002).toFixed(4);
        return `M${i + 0.5} -${a}V${a}`;
      }).join(""));
    });
    window.studio.stereoPeaks = r;
    status.textContent = `r${r.revision} · ${fmtTime(r.duration)} · ${r.channels} channels`;
  } catch (err) {
    status.textContent = `no render: ${err.message}`;
  }
}
