// Following a job: Server-Sent Events from /api/v1/jobs/{id}/events until it ends.
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** Call `onUpdate(job)` on every change; resolve with the final job. */
export function followJob(jobId, onUpdate = () => {}) {
  return new Promise((resolve) => {
    const source = new EventSource(`/api/v1/jobs/${jobId}/events`);
    source.addEventListener("job", (e) => {
      const job = JSON.parse(e.data);
      onUpdate(job);
      if (TERMINAL.has(job.status)) { source.close(); resolve(job); }
    });
    source.addEventListener("gone", () => { source.close(); resolve({ id: jobId, status: "failed", error: "job deleted" }); });
  });
}

/** A progress bar element and a status line, updated from job events. */
export function progressView(container) {
  container.innerHTML = '<div class="progress"><div style="width:0%"></div></div><div class="small muted" data-msg></div>';
  const bar = container.querySelector(".progress > div");
  const msg = container.querySelector("[data-msg]");
  container.hidden = false;
  return (job) => {
    bar.style.width = `${Math.round(100 * (job.progress || 0))}%`;
    msg.textContent = job.status === "failed" ? `failed: ${job.error}` : `${job.status}${job.message ? ` · ${job.message}` : ""}`;
    msg.classList.toggle("error", job.status === "failed");
  };
}
