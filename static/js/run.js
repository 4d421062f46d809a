// The run page: follow the run's job over Server-Sent Events; refresh the chart and epoch table
// (server-rendered, /runs/{id}/live) whenever the job reports news.
import { api } from "./api.js";
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
  let epochSeen = null;
  source.addEventListener("job", (e) => {
    const job = JSON.parse(e.data);
    const bar = live().querySelector("[data-progress]");
    if (bar) bar.style.width = `${(job.progress * 100).toFixed(1)}%`;
    const msg = live().querySelector("[data-job-message]");
    if (msg) msg.textContent = job.message || "";
    const epoch = job.message?.match(/epoch (\d+)/)?.[1];
    if (epoch !== epochSeen || ["succeeded", "failed", "cancelled"].includes(job.status)) {
      epochSeen = epoch;
      refresh();
    }
    if (["succeeded", "failed", "cancelled"].includes(job.status)) {
      source.close();
      document.getElementById("cancel-run").hidden = true;
      document.getElementById("resume-run").hidden = job.status === "succeeded";
    }
  });
  source.addEventListener("gone", () => source.close());
}

document.getElementById("cancel-run")?.addEventListener("click", async () => {
  await api("POST", `/api/v1/runs/${data.run_id}/cancel`);
  toast("Cancelling after the current step");
});
document.getElementById("resume-run")?.addEventListener("click", async () => {
  const run = await api("POST", `/api/v1/runs/${data.run_id}/resume`);
  location.href = `/runs/${run.id}`;
});

follow();
