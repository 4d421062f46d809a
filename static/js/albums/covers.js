// The covers gallery: make covers (a job followed over SSE), pick one, crop it square.
import { api } from "/static/js/api.js";
import { pageData, toast } from "/static/js/keys.js";
import { followJob, progressView } from "./jobs.js";

const data = pageData();
const gallery = document.getElementById("gallery");
let covers = data.covers;

function render() {
  gallery.innerHTML = "";
  document.getElementById("no-covers").hidden = covers.length > 0;
  for (const c of covers) {
    const fig = document.createElement("figure");
    fig.dataset.cover = c.id;
    fig.classList.toggle("picked", c.picked);
    const img = Object.assign(document.createElement("img"), { src: c.image_url, alt: `Cover ${c.id}`, loading: "lazy" });
    const caption = document.createElement("figcaption");
    caption.className = "stack small";
    const info = Object.assign(document.createElement("div"), {
      className: "muted",
      textContent: `${c.method} · ${c.backend} · seed ${c.seed} · ${c.size}px${c.crop ? " · cropped" : ""}`,
    });
    const buttons = document.createElement("div");
    buttons.className = "row";
    const pick = Object.assign(document.createElement("button"), { type: "button", className: "toggle", textContent: c.picked ? "Picked" : "Pick" });
    pick.setAttribute("aria-pressed", String(c.picked));
    pick.dataset.pick = c.id;
    pick.addEventListener("click", () => update(c, { picked: !c.picked }));
    const crop = Object.assign(document.createElement("button"), { type: "button", textContent: "Crop" });
    crop.dataset.crop = c.id;
    crop.addEventListener("click", () => openCrop(c));
    buttons.append(pick, crop);
    caption.append(info, buttons);
    fig.append(img, caption);
    gallery.append(fig);
  }
}

async function update(cover, changes) {
  try {
    const saved = await api("PATCH", `/api/v1/covers/${cover.id}`, changes);
    covers = covers.map((c) => (c.id === saved.id ? saved : saved.picked ? { ...c, picked: false } : c));
    render();
    return saved;
  } catch (err) { toast(err.message); return null; }
}

// -- crop: drag a square on the original image; sent in the original's pixels -----------------
const dialog = document.getElementById("crop-dialog");
const cropper = document.getElementById("cropper");
const cropImg = cropper.querySelector("img");
const box = cropper.querySelector(".box");
let cropping = null;
let square = null;

function openCrop(cover) {
  cropping = cover;
  square = null;
  box.hidden = true;
  // The image shown is the current crop; the server crops the generated original again, so
  // the square is mapped back to original pixels on save.
  cropImg.src = cover.image_url;
  dialog.hidden = false;
  dialog.classList.add("open");
}

function closeCrop() { dialog.hidden = true; dialog.classList.remove("open"); cropping = null; }

cropImg.draggable = false;  // a native image drag would cancel the pointer events
cropper.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  const rect = cropImg.getBoundingClientRect();
  const x0 = e.clientX - rect.left, y0 = e.clientY - rect.top;
  cropper.setPointerCapture(e.pointerId);
  const move = (ev) => {
    const side = Math.min(Math.max(Math.abs(ev.clientX - rect.left - x0), Math.abs(ev.clientY - rect.top - y0)),
      rect.width - x0, rect.height - y0);
    square = { x: x0, y: y0, side: Math.max(0, side), scale: cropping.size / rect.width };
    Object.assign(box.style, { left: `${x0}px`, top: `${y0}px`, width: `${square.side}px`, height: `${square.side}px` });
    box.hidden = false;
  };
  const up = () => { cropper.removeEventListener("pointermove", move); cropper.removeEventListener("pointerup", up); };
  cropper.addEventListener("pointermove", move);
  cropper.addEventListener("pointerup", up);
});

dialog.querySelector("[data-crop-save]").addEventListener("click", async () => {
  if (!cropping || !square || square.side < 8) { toast("drag a square first"); return; }
  const base = cropping.crop || { x: 0, y: 0, size: cropping.size };  // what the shown image is
  const k = base.size / cropping.size * square.scale;
  const side = Math.round(square.side * k);
  const saved = await update(cropping, {
    crop: { x: Math.round(base.x + square.x * k), y: Math.round(base.y + square.y * k), width: side, height: side },
  });
  if (saved) closeCrop();
});
dialog.querySelector("[data-crop-reset]").addEventListener("click", async () => {
  if (cropping && (await update(cropping, { crop: null }))) closeCrop();
});
dialog.querySelector("[data-crop-close]").addEventListener("click", closeCrop);

const form = document.getElementById("generate-covers");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = { method: form.method.value, size: Number(form.size.value), backend: form.backend.value, n: Number(form.n.value) };
  if (form.seed.value) body.seed = Number(form.seed.value);
  try {
    const job = await api("POST", `/api/v1/projects/${data.project_id}/covers/generate`, body);
    const done = await followJob(job.id, progressView(document.getElementById("covers-progress")));
    if (done.status === "succeeded") {
      covers = (await api("GET", `/api/v1/projects/${data.project_id}/covers`)).data;
      render();
    }
  } catch (err) { toast(err.message); }
});

render();
