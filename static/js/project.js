// The project page: uploads through the API with progress, and forms that show problems inline.
import { csrfToken } from "./api.js";
import { toast } from "./keys.js";

function upload(form) {
  const status = form.querySelector("[data-status]");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.upload.onprogress = (ev) => {
      if (ev.lengthComputable) status.textContent = `uploading ${Math.round((100 * ev.loaded) / ev.total)}%`;
    };
    xhr.onload = () => {
      if (xhr.status < 300) { status.textContent = "done"; location.reload(); return; }
      let detail = xhr.statusText;
      try { detail = JSON.parse(xhr.responseText).detail || detail; } catch { /* not JSON */ }
      status.textContent = `refused: ${detail}`;
      status.classList.add("error");
    };
    xhr.onerror = () => { status.textContent = "upload failed: connection lost"; };
    xhr.send(new FormData(form));
    status.textContent = "uploading…";
  });
}

/** Post the form; follow the redirect, or show the problem's detail next to it. */
function enhance(form) {
  const status = form.querySelector("[data-status]");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const res = await fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) });
    if (res.redirected || res.ok) { location.href = res.url; return; }
    const body = await res.json().catch(() => ({}));
    status.textContent = body.detail || res.statusText;
    toast(body.detail || "refused");
  });
}

document.querySelectorAll("#upload-sources, #upload-image").forEach(upload);
document.querySelectorAll("form[data-enhance]").forEach(enhance);

// The run form's model shape follows the preset (a curator then changes what they want).
const runForm = document.getElementById("start-run");
const shapes = JSON.parse(document.getElementById("page-data")?.textContent || "{}").shapes || {};
function fillShape() {
  const shape = shapes[runForm.elements.preset.value];
  if (!shape) return;
  for (const name of ["frame_sizes", "cell", "dim", "n_rnn"]) runForm.elements[name].value = shape[name];
  showTiers();
}
function showTiers() {
  const sizes = runForm.elements.frame_sizes.value.split(",").filter((s) => s.trim());
  runForm.querySelector("[data-tiers]").textContent = `${sizes.length + 1} tiers`;
}
runForm?.elements.preset.addEventListener("change", fillShape);
runForm?.elements.frame_sizes.addEventListener("input", showTiers);
if (runForm) fillShape(); // blank fields (no script) mean "the preset's"; with it, its values show
