// "Generate more" (templates/_generate_more.html): POST /checkpoints/{id}/generate, follow the job
// over Server-Sent Events, then list the new clips with players as soon as they exist.
// Opened with a `prime` ("Continue from here" in the source and clip editors), every clip first
// reads that excerpt and continues from its end; the dialog shows and plays the excerpt.
import { api } from "./api.js";
import { fmtTime } from "./keys.js";

const dialog = document.getElementById("generate-more");
const form = dialog?.querySelector("[data-gm-form]");
const $ = (sel) => dialog.querySelector(sel);
let target = null; // {checkpointId, epoch, runId, projectId} or {checkpoints: [...], projectId}
let prime = null; // {source_id | clip_id, start_s, seconds, label, audio_url}
let source = null; // the EventSource of the job being followed

/** Open the dialog for one checkpoint; `defaults` may carry seconds and temperature (a clip's).
 *  `t.checkpoints` ([{checkpoint_id, run_id, epoch}], newest first) offers an epoch picker
 *  instead of one fixed checkpoint; `withPrime` primes every clip with an excerpt. */
export function openGenerate(t, defaults = {}, withPrime = null) {
  if (!dialog) return;
  target = t;
  prime = withPrime;
  showEpochs(t);
  showPrime();
  if (defaults.seconds) form.elements.seconds.value = Math.round(defaults.seconds * 10) / 10;
  if (defaults.temperature != null) form.elements.temperature.value = defaults.temperature;
  form.elements.seed.value = "";
  reset();
  dialog.showModal();
  form.elements.n.focus();
}

function showEpochs(t) {
  const row = $("[data-gm-epoch-row]");
  const select = $("[data-gm-epoch]");
  row.hidden = !t.checkpoints;
  if (!t.checkpoints) return;
  select.replaceChildren(...t.checkpoints.map((c) =>
    new Option(`run ${c.run_id} › epoch ${c.epoch}`, c.checkpoint_id)));
}

/** The chosen checkpoint: the picker's, or the one the dialog was opened for. */
function chosen() {
  if (!target.checkpoints) return target;
  const c = target.checkpoints.find((x) => String(x.checkpoint_id) === $("[data-gm-epoch]").value);
  return { checkpointId: c.checkpoint_id, epoch: c.epoch, runId: c.run_id, projectId: target.projectId };
}

function showPrime() {
  const box = $("[data-gm-prime]");
  box.hidden = !prime;
  const audio = $("[data-gm-prime-audio]");
  if (!prime) {
    $("[data-gm-title]").textContent = `Generate more · run ${target.runId} › epoch ${target.epoch}`;
    audio.removeAttribute("src");
    return;
  }
  const end = prime.start_s + prime.seconds;
  $("[data-gm-title]").textContent = `Continue from ${prime.label} at ${fmtTime(prime.start_s)}`
    + (target.checkpoints ? "" : ` · run ${target.runId} › epoch ${target.epoch}`);
  $("[data-gm-prime-text]").textContent = `Each clip first reads ${prime.seconds.toFixed(2)} s of ${prime.label} `
    + `(${fmtTime(prime.start_s)} – ${fmtTime(end)}), then continues from its end.`;
  audio.src = `${prime.audio_url}#t=${prime.start_s.toFixed(3)},${end.toFixed(3)}`; // a media fragment
}

function reset() {
  source?.close();
  $("[data-gm-status]").textContent = "";
  $("[data-gm-warnings]").hidden = true;
  $("[data-gm-warnings]").replaceChildren();
  $("[data-gm-progress]").hidden = true;
  $("[data-gm-clips]").replaceChildren();
  $("[data-gm-browse]").hidden = true;
  $("[data-gm-submit]").disabled = false;
}

async function submit(e) {
  e.preventDefault();
  reset();
  const at = chosen();
  const body = {
    n: Number(form.elements.n.value),
    seconds: Number(form.elements.seconds.value),
    temperature: Number(form.elements.temperature.value),
  };
  if (form.elements.seed.value.trim() !== "") body.seed = Number(form.elements.seed.value);
  if (prime) {
    const { source_id, clip_id, start_s, seconds } = prime;
    body.prime = source_id != null ? { source_id, start_s, seconds } : { clip_id, start_s, seconds };
  }
  $("[data-gm-submit]").disabled = true;
  $("[data-gm-status]").textContent = "queueing…";
  let job;
  try {
    job = await api("POST", `/api/v1/checkpoints/${at.checkpointId}/generate`, body);
  } catch (err) {
    $("[data-gm-status]").textContent = `refused: ${err.message}`;
    $("[data-gm-submit]").disabled = false;
    return;
  }
  $("[data-gm-status]").textContent = `job ${job.id} queued · seed ${job.seed}`;
  $("[data-gm-status]").dataset.seed = job.seed;
  if (job.warnings.length) {
    $("[data-gm-warnings]").replaceChildren(...job.warnings.map((w) => {
      const li = document.createElement("li");
      li.textContent = w;
      return li;
    }));
    $("[data-gm-warnings]").hidden = false;
  }
  follow(job, at);
}

function follow(job, at) {
  const bar = $("[data-gm-progress]");
  bar.hidden = false;
  source = new EventSource(`/api/v1/jobs/${job.id}/events`);
  source.addEventListener("job", async (e) => {
    const j = JSON.parse(e.data);
    bar.firstElementChild.style.width = `${(j.progress * 100).toFixed(1)}%`;
    $("[data-gm-status]").textContent = `job ${j.id} ${j.status}${j.message ? ` · ${j.message}` : ""} · seed ${job.seed}`;
    if (!["succeeded", "failed", "cancelled"].includes(j.status)) return;
    source.close();
    $("[data-gm-submit]").disabled = false;
    if (j.status !== "succeeded") {
      $("[data-gm-status]").textContent = `job ${j.id} ${j.status}: ${j.error || ""}`;
      return;
    }
    await showClips(j.result?.clip_ids || [], at);
  });
  source.addEventListener("gone", () => source.close());
}

async function showClips(ids, at) {
  const list = $("[data-gm-clips]");
  for (const id of ids) {
    const clip = await api("GET", `/api/v1/clips/${id}`);
    const li = document.createElement("li");
    li.className = "row gm-clip";
    li.dataset.clipId = clip.id;
    const label = document.createElement("a");
    label.href = `/clips/${clip.id}`;
    label.textContent = `#${clip.id} · ${fmtTime(clip.duration_s)} · seed ${clip.seed}`
      + (clip.primed_from ? ` · ${clip.primed_from}` : "");
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "metadata";
    audio.src = clip.audio_url;
    audio.setAttribute("aria-label", `Play new clip ${clip.id}`);
    li.append(label, audio);
    list.append(li);
  }
  const browse = $("[data-gm-browse]");
  browse.href = `/projects/${at.projectId}/clips?run=${at.runId}&epoch=${at.epoch}&sort=-created`;
  browse.hidden = false;
  $("[data-gm-status]").textContent += ` · ${ids.length} new clips`;
}

form?.addEventListener("submit", submit);
$("[data-gm-close]")?.addEventListener("click", () => { source?.close(); dialog.close(); });
dialog?.addEventListener("close", () => { source?.close(); $("[data-gm-prime-audio]")?.pause(); });
