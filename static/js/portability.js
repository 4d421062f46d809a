// Import forms of the project pages: upload with progress, then the imported checkpoint's
// config (or the project it became), or the reason it was refused.
import { csrfToken } from "./api.js";

function describe(kind, body) {
  if (kind === "checkpoint") {
    const m = body.file.model;
    const tiers = m.frame_sizes.length + 1;
    return `imported as run ${body.run.id}: epoch ${body.file.epoch}, ${tiers}-tier ${m.cell} ` +
      `dim ${m.dim} × ${m.n_rnn} layers, ${m.q_levels} levels at ${m.sample_rate} Hz ` +
      `(format v${body.file.format_version}, ${body.file.parameters.toLocaleString()} weights)`;
  }
  const clips = body.counts.clips || 0;
  return `imported as project ${body.project.id}: ${clips} clips, ${body.files} files`;
}

function importForm(form) {
  const status = form.querySelector("[data-status]");
  const kind = form.dataset.import;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    status.classList.remove("error");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) status.textContent = `uploading ${Math.round((100 * ev.loaded) / ev.total)}%`;
    };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status < 300) {
        status.textContent = describe(kind, body);
        const link = document.createElement("a");
        link.href = kind === "checkpoint" ? `/runs/${body.run.id}` : `/projects/${body.project.id}`;
        link.textContent = kind === "checkpoint" ? " open the run" : " open it";
        link.dataset.imported = "";
        status.append(link);
        return;
      }
      status.textContent = `refused: ${body.detail || xhr.statusText}`;
      status.classList.add("error");
    };
    xhr.onerror = () => { status.textContent = "upload failed: connection lost"; status.classList.add("error"); };
    xhr.send(new FormData(form));
    status.textContent = "uploading…";
  });
}

document.querySelectorAll("form[data-import]").forEach(importForm);
