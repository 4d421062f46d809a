// The radio pages: start a radio (radio_start.html); play one, follow its realtime factor and
// buffer, stop it, and "keep that" (K) the last seconds as a clip (radio.html).
import { api } from "./api.js";
import { fmtTime, onKeys, pageData, toast } from "./keys.js";

const data = pageData();

document.getElementById("radio-start")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.currentTarget);
  const body = { epoch: Number(form.get("epoch")), temperature: Number(form.get("temperature")) };
  if (form.get("seed")) body.seed = Number(form.get("seed"));
  try {
    const radio = await api("POST", `/api/v1/runs/${data.run_id}/radio`, body);
    location.href = radio.page_url;
  } catch (err) { toast(err.message, 5000); }
});

const audio = document.getElementById("radio-audio");
const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };

async function refresh() {
  const r = await api("GET", data.radio_url);
  set("radio-status", r.status);
  set("radio-elapsed", fmtTime(r.elapsed_s));
  set("radio-buffered", `${r.buffered_s.toFixed(1)} s`);
  set("radio-rtf", r.realtime_factor == null ? "measuring…" : `${r.realtime_factor.toFixed(2)}×`);
  set("radio-message", r.message);
  document.getElementById("radio-warning").hidden = r.keeps_up !== false;
  document.getElementById("radio-stop").hidden = !["queued", "running"].includes(r.status);
  return r;
}

async function keep() {
  const seconds = Number(document.getElementById("radio-keep-seconds").value) || 30;
  try {
    const clip = await api("POST", `${data.radio_url}/keep`, { seconds });
    const kept = document.getElementById("radio-kept");
    kept.textContent = "";
    const link = document.createElement("a");
    link.href = `/clips/${clip.id}`;
    link.textContent = `Kept ${clip.duration_s.toFixed(1)} s as clip ${clip.id}`;
    kept.append(link, ` (from ${fmtTime(clip.provenance.offset_s)} of the stream)`);
    toast(`Kept as clip ${clip.id}`);
  } catch (err) { toast(err.message, 5000); }
}

if (audio) {
  // preload="none": a page left open holds no connection until play is pressed.
  const play = () => audio.play().catch((err) => toast(err.message));
  // A dropped stream (the web app restarted, a worker handed the radio over) reconnects to
  // what is on air now, as long as the radio runs.
  const reconnect = () => setTimeout(async () => {
    const r = await refresh().catch(() => null);
    if (!r || !["queued", "running"].includes(r.status)) return;
    audio.src = `${audio.dataset.src}?t=${Date.now()}`;
    play();
  }, 1000);
  audio.addEventListener("error", reconnect);
  audio.addEventListener("ended", reconnect);
  document.getElementById("radio-keep").addEventListener("click", keep);
  document.getElementById("radio-stop").addEventListener("click", async () => {
    await api("DELETE", data.radio_url);
    audio.pause();
    toast("Radio stopped");
    refresh();
  });
  onKeys((e) => {
    if (e.key === "k" || e.key === "K") { keep(); return true; }
    if (e.key === " ") { audio.paused ? play() : audio.pause(); return true; }
    return false;
  });
  setInterval(() => refresh().catch(() => {}), 2000);
}
