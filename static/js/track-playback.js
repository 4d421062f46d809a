// Playing the song: the browser preview of the current (unsaved) document through preview.js with
// its playhead over the arrangement, and the server's render of the saved revision in the
// <audio id="render-audio"> element (saving first). Owns the one Preview; nothing here edits.
import { toast } from "./keys.js";
import { Preview } from "./preview.js";
import { VIEW_SR, clips, save, state } from "./track-state.js";
import { plan } from "./timeline.js";

const $ = (id) => document.getElementById(id);
export const preview = new Preview(); // one per page (window.studio.preview for tests)

/** Space / the Preview button: start the preview, or stop it while it plays. */
export async function togglePreview() {
  if (preview.playing) { stopPreview(); return; }
  try {
    $("preview").textContent = "… loading";
    await preview.play(state.doc.edl, clips, stopPreview);
    $("preview").textContent = "■ Stop";
    followCursor();
  } catch (err) {
    $("preview").textContent = "▶ Preview";
    toast(`cannot preview: ${err.message}`);
  }
}

function stopPreview() {
  preview.stop();
  $("preview").textContent = "▶ Preview";
  $("cursor").style.display = "none";
}

/** Move the playhead (#cursor) with the preview, at the scale of the arrangement when it started. */
function followCursor() {
  const cursor = $("cursor");
  const layout = plan(state.doc.edl, VIEW_SR);
  const seconds = Math.max(layout.length / VIEW_SR, 8);
  const body = document.querySelector("[data-lane-body='0']");
  const pps = body.clientWidth / (seconds * 1.05);
  const tick = () => {
    if (!preview.playing) return;
    cursor.style.display = "block";
    cursor.style.left = `${body.offsetLeft + Math.max(0, preview.position) * pps}px`;
    requestAnimationFrame(tick);
  };
  tick();
}

/** The Render button: save, then play the server's render of that revision. */
export async function playRender() {
  if (state.dirty || state.saving) await save();
  const audio = $("render-audio");
  audio.hidden = false;
  audio.src = state.track.audio_url;
  try {
    await audio.play();
  } catch (err) {
    const res = await fetch(state.track.audio_url, { method: "HEAD" });
    toast(res.status === 409 ? "Nothing to render yet: add an item" : `cannot play the render: ${err.message}`);
  }
}

/** The preview's schedule rendered offline (tests compare it with the server's render). */
export const renderOffline = (sampleRate) => preview.renderOffline(state.doc.edl, clips, sampleRate);
