// The albums page: start an album, or have the machine make one with no curation at all.
import { api } from "/static/js/api.js";
import { pageData, toast } from "/static/js/keys.js";
import { followJob, progressView } from "./jobs.js";

const data = pageData();

document.getElementById("new-album")?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const status = form.querySelector("[data-status]");
  try {
    const album = await api("POST", `/api/v1/projects/${data.project_id}/albums`, {
      title: form.title.value, artist: form.artist.value, tracks: [],
    });
    location.href = `/albums/${album.id}`;
  } catch (err) {
    status.textContent = err.message;
  }
});

const auto = document.getElementById("auto-album");
auto?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = { mode: auto.mode.value, tracks: Number(auto.tracks.value) };
  if (auto.seconds.value) body.seconds = Number(auto.seconds.value);
  if (auto.seed.value) body.seed = Number(auto.seed.value);
  if (auto.include_flagged.checked) body.include_flagged = true;
  if (body.mode !== "epochs") {
    const epoch = auto.epoch.value;
    if (!(body.mode === "generate" && epoch === "all")) body.epoch = /^\d+$/.test(epoch) ? Number(epoch) : epoch;
  }
  const button = auto.querySelector("button");
  button.disabled = true;
  try {
    const job = await api("POST", `/api/v1/projects/${data.project_id}/albums/auto`, body);
    const show = progressView(document.getElementById("auto-progress"));
    const done = await followJob(job.id, show);
    const result = document.getElementById("auto-result");
    result.hidden = false;
    if (done.status === "succeeded") {
      const r = done.result;
      result.innerHTML = "";
      const link = Object.assign(document.createElement("a"), { href: `/albums/${r.album_id}`, textContent: `“${r.title}”` });
      const dl = Object.assign(document.createElement("a"), { href: r.download_url, textContent: "download the zip" });
      dl.setAttribute("download", "");
      result.append("Made ", link, ` (seed ${r.seed}) · `, dl);
    } else {
      result.textContent = `Not made: ${done.error || done.status}`;
    }
  } catch (err) {
    toast(err.message);
  } finally {
    button.disabled = false;
  }
});
