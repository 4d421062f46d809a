// The run page: follow the run's job over Server-Sent Events; refresh the chart and epoch table
// (server-rendered, /runs/{id}/live) whenever the job reports news.
import { api } from "./api.js";
import { confirmDelete, deleteByUrl } from "./deletion.js";
import { openGenerate } from "./generate-more.js";
import { pageData, toast } from "./keys.js";

const data = pageData();
const live = () => document.getElementById("run-live");
let refreshing = null;

async function refresh() {
  if (refreshing) return refreshing;
  refreshing = fetch(data.live_url).then((r) => r.text()).then((html) => {
    const tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    live().replaceWith(tpl.content.firstElementChild);
  }).finally(() => { refreshing = null; });
  return refreshing;
}

function follow() {
  if (!data.events_url) return;
  const source = new EventSource(data.events_url);
  let last = 0;
  let pending = null;
  // Redraw the chart and table on news, at most every 2 s (a training step can report often).
  const soon = () => {
    if (pending) return;
    pending = setTimeout(() => { pending = null; last = Date.now(); refresh(); }, Math.max(0, 2000 - (Date.now() - last)));
  };
  source.addEventListener("job", (e) => {
    const job = JSON.parse(e.data);
    const bar = live().querySelector("[data-progress]");
    if (bar) bar.style.width = `${(job.progress * 100).toFixed(1)}%`;
    const msg = live().querySelector("[data-job-message]");
    if (msg) msg.textContent = job.message || "";
    const status = live().querySelector("[data-run-status]");
    if (status && status.textContent !== job.status && job.status !== "succeeded") status.textContent = job.status;
    soon();
    if (job.status === "running" && job.cancel_requested_at) offerForceStop(job.cancel_requested_at);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) {
      source.close();
      document.getElementById("cancel-run").hidden = true;
      document.getElementById("resume-run").hidden = job.status === "succeeded";
      document.getElementById("force-stop-run").hidden = true;
    }
  });
  source.addEventListener("gone", () => source.close());
}

document.getElementById("cancel-run")?.addEventListener("click", async () => {
  const run = await api("POST", `/api/v1/runs/${data.run_id}/cancel`);
  toast("Cancelling after the current step");
  if (run.status === "running") offerForceStop(new Date().toISOString());
});

// A cancel not honoured within force_stop_after_s (a job wedged inside a step never reads it):
// offer to cancel now and have the worker process killed (POST /jobs/{id}/force-stop).
let forceStopTimer = null;
function offerForceStop(askedAt) {
  const button = document.getElementById("force-stop-run");
  if (!button || !data.job_id || forceStopTimer) return;
  const wait = Math.max(0, Date.parse(askedAt) + data.force_stop_after_s * 1000 - Date.now());
  forceStopTimer = setTimeout(() => {
    if (!["succeeded", "failed", "cancelled"].includes(live().dataset.status)) button.hidden = false;
  }, wait);
}
if (data.cancel_requested_at) offerForceStop(data.cancel_requested_at);
document.getElementById("force-stop-run")?.addEventListener("click", async (e) => {
  if (!confirm(`Force stop run ${data.run_id}? Its job is cancelled now and the worker process `
    + "running it is killed; the epochs it finished stay.")) return;
  const job = await api("POST", `/api/v1/jobs/${data.job_id}/force-stop`);
  e.target.hidden = true;
  document.getElementById("cancel-run").hidden = true;
  document.getElementById("resume-run").hidden = false;
  toast(`Run ${data.run_id} ${job.status}: force-stopped`);
  refresh();
});
document.getElementById("resume-run")?.addEventListener("click", async () => {
  const run = await api("POST", `/api/v1/runs/${data.run_id}/resume`);
  location.href = `/runs/${run.id}`;
});

// Analyse the clips the current analysis has not seen (a backfill on the cpu queue), then redraw.
document.getElementById("analyse-clips")?.addEventListener("click", async (e) => {
  const button = e.currentTarget;
  button.disabled = true;
  try {
    let job = await api("POST", `/api/v1/projects/${data.project_id}/analysis`);
    toast(`Analysing clips (job ${job.id})`);
    while (!["succeeded", "failed", "cancelled"].includes(job.status)) {
      await new Promise((r) => setTimeout(r, 1000));
      job = await api("GET", `/api/v1/jobs/${job.id}`);
      button.textContent = job.message || "Analysing…";
    }
    toast(job.status === "succeeded" ? `Analysed ${job.result.analysed} clips` : `Analysis ${job.status}: ${job.error || ""}`);
    await refresh();
  } catch (err) {
    toast(`cannot analyse: ${err.message}`);
  } finally {
    button.disabled = false;
    button.textContent = "Analyse clips";
  }
});

follow();

// Generate more from an epoch; delete a checkpoint or the whole run (the server says what goes).
document.addEventListener("click", async (e) => {
  const gen = e.target.closest("[data-generate]");
  if (gen) {
    openGenerate({ checkpointId: Number(gen.dataset.generate), epoch: Number(gen.dataset.epoch), runId: data.run_id, projectId: data.project_id });
    return;
  }
  const del = e.target.closest("[data-delete-checkpoint]");
  if (del) {
    const removed = await confirmDelete(`epoch ${del.dataset.epoch}'s checkpoint`, deleteByUrl(`/api/v1/checkpoints/${del.dataset.deleteCheckpoint}`));
    if (removed) { toast(`Deleted ${removed.clips.length} clips and the checkpoint`); refresh(); }
  }
});
document.getElementById("delete-run")?.addEventListener("click", async () => {
  const removed = await confirmDelete(`run ${data.run_id}`, deleteByUrl(`/api/v1/runs/${data.run_id}`));
  if (removed) location.href = `/projects/${data.project_id}`;
});
