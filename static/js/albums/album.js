// The album editor: order tracks by drag (SortableJS), titles dragged from the pool, joins
// (gap or crossfade), cover, release metadata (release.js), whole-album timeline, check, play
// transition, export over SSE.
import Sortable from "/static/vendor/sortablejs/sortable.esm.js";
import { api } from "/static/js/api.js";
import { fmtTime, onKeys, pageData, toast } from "/static/js/keys.js";
import { followJob, progressView } from "./jobs.js";
import { detailsRow, releaseBody, releaseState, showCheck, trackBody, trackMeta, wireRelease } from "./release.js";

const data = pageData();
const albumId = data.album.id;
const songs = new Map(data.tracks.map((t) => [t.id, t]));
const state = {
  title: data.album.title,
  artist: data.album.artist,
  cover_id: data.album.cover_id,
  release: releaseState(data.album),
  // One entry per slot; `join` is {kind: "gap"|"crossfade", ms}; composer, isrc, credits.
  tracks: data.album.tracks.map((t) => ({
    track_id: t.track_id, title: t.title, ...trackMeta(t), open: false,
    join: t.crossfade_ms != null ? { kind: "crossfade", ms: t.crossfade_ms } : { kind: "gap", ms: t.gap_ms ?? 2000 },
  })),
  dirty: false,
};
window.album = state;  // for tests and the console

const list = document.getElementById("album-tracks");
const saveStatus = document.getElementById("save-status");
const player = document.getElementById("transition-player");

function markDirty() {
  state.dirty = true;
  saveStatus.textContent = "unsaved changes";
  renderTimeline();
}

function slot(t, i, last) {
  const song = songs.get(t.track_id) || { name: `Track ${t.track_id}`, duration_s: 0 };
  const li = document.createElement("li");
  li.className = "album-track";
  li.dataset.index = i;
  const handle = Object.assign(document.createElement("span"), { className: "handle", textContent: "⋮⋮", title: "Drag to reorder" });
  const number = Object.assign(document.createElement("span"), { className: "num", textContent: String(i + 1).padStart(2, "0") });
  const title = Object.assign(document.createElement("input"), { className: "title", value: t.title, maxLength: 500, placeholder: "Title (drop one here)" });
  title.setAttribute("aria-label", `Title of track ${i + 1}`);
  title.classList.toggle("missing", !t.title.trim());
  title.addEventListener("input", () => { t.title = title.value; title.classList.toggle("missing", !t.title.trim()); markDirty(); });
  title.addEventListener("dragover", (e) => { e.preventDefault(); title.classList.add("drop"); });
  title.addEventListener("dragleave", () => title.classList.remove("drop"));
  title.addEventListener("drop", (e) => {
    e.preventDefault();
    title.classList.remove("drop");
    const text = e.dataTransfer.getData("text/plain");
    if (text) { t.title = text; title.value = text; title.classList.remove("missing"); markDirty(); }
  });
  const name = Object.assign(document.createElement("a"), { href: `/tracks/${t.track_id}`, className: "small muted", textContent: song.name });
  const length = Object.assign(document.createElement("span"), { className: "time small", textContent: fmtTime(song.duration_s) });
  const remove = Object.assign(document.createElement("button"), { type: "button", className: "icon danger", textContent: "✕" });
  remove.setAttribute("aria-label", `Remove track ${i + 1}`);
  remove.addEventListener("click", () => { state.tracks.splice(i, 1); render(); markDirty(); });
  const details = Object.assign(document.createElement("button"), { type: "button", className: "icon", textContent: "✎" });
  details.dataset.details = i;
  details.setAttribute("aria-expanded", String(t.open));
  details.setAttribute("aria-label", `Composer, ISRC and credits of track ${i + 1}`);
  details.title = [t.composer && `composer: ${t.composer}`, t.isrc && `ISRC ${t.isrc}`].filter(Boolean).join(" · ") || "composer, ISRC, credits";
  details.addEventListener("click", () => { t.open = !t.open; render(); });
  li.append(handle, number, title, name, length, details, remove);
  const items = [li];
  if (t.open) items.push(detailsRow(t, i, markDirty));
  if (!last) items.push(joinRow(t, i));
  return items;
}

function joinRow(t, i) {
  const row = document.createElement("li");
  row.className = "join";
  row.dataset.join = i;
  const kind = document.createElement("select");
  kind.setAttribute("aria-label", `Join after track ${i + 1}`);
  for (const [value, label] of [["gap", "gap"], ["crossfade", "crossfade"]]) kind.append(new Option(label, value, false, t.join.kind === value));
  const ms = Object.assign(document.createElement("input"), { type: "number", min: 0, max: t.join.kind === "gap" ? 10000 : 20000, step: 100, value: t.join.ms });
  ms.setAttribute("aria-label", `Milliseconds after track ${i + 1}`);
  kind.addEventListener("change", () => { t.join.kind = kind.value; if (kind.value === "crossfade" && !t.join.ms) t.join.ms = 3000; ms.value = t.join.ms; markDirty(); });
  ms.addEventListener("change", () => { t.join.ms = Math.max(0, Number(ms.value) || 0); markDirty(); });
  const play = Object.assign(document.createElement("button"), { type: "button", textContent: "▶ transition" });
  play.dataset.transition = i + 1;
  play.addEventListener("click", () => playTransition(i + 1));
  row.append("↓", kind, ms, "ms", play);
  return row;
}

function render() {
  list.innerHTML = "";
  state.tracks.forEach((t, i) => list.append(...slot(t, i, i === state.tracks.length - 1)));
  document.getElementById("no-tracks").hidden = state.tracks.length > 0;
  document.getElementById("track-count").textContent = `${state.tracks.length} tracks`;
  renderTimeline();
}

// Reordering moves a track with its join (the join belongs to the track before it).
Sortable.create(list, {
  handle: ".handle", draggable: ".album-track", filter: ".join, .track-meta", animation: 120, forceFallback: true,
  onEnd: (e) => {
    const order = [...list.querySelectorAll(".album-track")].map((li) => state.tracks[Number(li.dataset.index)]);
    state.tracks = order;
    render();
    if (e.oldIndex !== e.newIndex) markDirty();
  },
});

function durations() {
  return state.tracks.map((t) => songs.get(t.track_id)?.duration_s || 0);
}

function renderTimeline() {
  const d = durations();
  const joins = state.tracks.map((t, i) => (i < d.length - 1 ? t.join : null));
  // A crossfade's overlap is shared by the two tracks it joins; a gap stands between them.
  const overlap = joins.map((j, i) => (j?.kind === "crossfade" ? Math.min(j.ms / 1000, d[i], d[i + 1]) : 0));
  const el = document.getElementById("timeline");
  el.innerHTML = "";
  let total = 0;
  d.forEach((s, i) => {
    const label = `${i + 1}. ${state.tracks[i].title || "untitled"} · ${fmtTime(s).replace(/\.\d+$/, "")}`;
    const seg = Object.assign(document.createElement("div"), { className: "seg", textContent: label, title: `${label} · ${fmtTime(s)}` });
    seg.style.flex = `${Math.max(s - (overlap[i - 1] || 0) / 2 - overlap[i] / 2, 0.01)} 0 0`;
    el.append(seg);
    const gap = joins[i]?.kind === "gap" ? joins[i].ms / 1000 : 0;
    if (gap > 0) {
      const g = Object.assign(document.createElement("div"), { className: "gap", title: `${gap} s gap` });
      g.style.flex = `${gap} 0 0`;
      el.append(g);
    }
    total += s + gap - overlap[i];
  });
  document.getElementById("total-time").textContent = fmtTime(total);
}

// -- title pool --------------------------------------------------------------------------------
const pool = document.getElementById("title-pool");
function renderPool(filter = "") {
  pool.innerHTML = "";
  const f = filter.toLowerCase();
  for (const t of data.titles.filter((x) => x.text.toLowerCase().includes(f))) {
    const li = Object.assign(document.createElement("li"), { textContent: t.text, draggable: true });
    li.classList.toggle("pinned", t.pinned);
    li.dataset.title = t.id;
    li.addEventListener("dragstart", (e) => { e.dataTransfer.setData("text/plain", t.text); e.dataTransfer.effectAllowed = "copy"; });
    pool.append(li);
  }
}
document.getElementById("pool-search").addEventListener("input", (e) => renderPool(e.target.value));

// -- cover -------------------------------------------------------------------------------------
function renderCovers() {
  const box = document.getElementById("cover-pick");
  box.innerHTML = "";
  if (!data.covers.length) box.textContent = "No covers yet.";
  for (const c of data.covers) {
    const b = Object.assign(document.createElement("button"), { type: "button" });
    b.dataset.cover = c.id;
    b.setAttribute("aria-pressed", String(c.id === state.cover_id));
    b.setAttribute("aria-label", `Use cover ${c.id}`);
    b.append(Object.assign(document.createElement("img"), { src: c.image_url, alt: "", loading: "lazy" }));
    b.addEventListener("click", () => {
      state.cover_id = c.id === state.cover_id ? null : c.id;
      const img = document.getElementById("album-cover");
      img.hidden = state.cover_id == null;
      if (state.cover_id != null) img.src = c.image_url;
      renderCovers();
      markDirty();
    });
    box.append(b);
  }
}

// -- add, save, check, transitions --------------------------------------------------------------
const addSelect = document.getElementById("add-track-select");
for (const t of data.tracks) addSelect.append(new Option(`${t.name} (${fmtTime(t.duration_s)})`, t.id));
document.getElementById("add-track").addEventListener("click", () => {
  if (!addSelect.value) return;
  state.tracks.push({ track_id: Number(addSelect.value), title: "", ...trackMeta(), open: false, join: { kind: "gap", ms: 2000 } });
  render();
  markDirty();
});
document.getElementById("album-title").addEventListener("input", (e) => { state.title = e.target.value; markDirty(); });
document.getElementById("album-artist").addEventListener("input", (e) => { state.artist = e.target.value; markDirty(); });
wireRelease(state.release, markDirty);

async function save() {
  const body = {
    title: state.title, artist: state.artist, cover_id: state.cover_id, ...releaseBody(state.release),
    tracks: state.tracks.map((t) => ({
      track_id: t.track_id, title: t.title, ...trackBody(t),
      ...(t.join.kind === "crossfade" && t.join.ms > 0 ? { crossfade_ms: t.join.ms } : { gap_ms: t.join.ms }),
    })),
  };
  saveStatus.textContent = "saving…";
  try {
    const saved = await api("PUT", `/api/v1/albums/${albumId}`, body);
    for (const t of saved.tracks) songs.set(t.track_id, { ...(songs.get(t.track_id) || {}), name: t.track_name, duration_s: t.duration_s });
    saved.tracks.forEach((t, i) => { if (state.tracks[i]) state.tracks[i].isrc = t.isrc; }); // as stored (no hyphens)
    state.dirty = false;
    saveStatus.textContent = "saved";
    renderTimeline();
    return true;
  } catch (err) {
    saveStatus.textContent = `not saved: ${err.message}`;
    toast(err.message);
    return false;
  }
}
document.getElementById("save-album").addEventListener("click", save);
onKeys((e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") { save(); return true; }
  return false;
});

document.getElementById("check-album").addEventListener("click", async () => {
  if (state.dirty && !(await save())) return;
  const box = document.getElementById("check-result");
  const ul = document.getElementById("problems");
  ul.innerHTML = "<li class='muted'>rendering and checking…</li>";
  box.hidden = false;
  try {
    showCheck(ul, await api("GET", `/api/v1/albums/${albumId}/check`));
  } catch (err) { ul.innerHTML = ""; toast(err.message); }
});

async function playTransition(n) {
  if (state.dirty && !(await save())) return;
  player.hidden = false;
  player.src = `/api/v1/albums/${albumId}/transition/${n}/audio?t=${Date.now()}`;
  player.play().catch(() => {});
}

// -- export ------------------------------------------------------------------------------------
const exportsList = document.getElementById("exports");
function renderExports() {
  exportsList.innerHTML = "";
  for (const x of [...data.exports].reverse()) {
    const li = document.createElement("li");
    li.dataset.export = x.id;
    const badge = Object.assign(document.createElement("span"), { className: `badge ${x.status}`, textContent: x.status });
    li.append(badge, ` #${x.id} · ${x.formats.join(", ")} `);
    if (x.download_url) {
      const a = Object.assign(document.createElement("a"), { href: x.download_url, textContent: `download (${(x.size_bytes / 1e6).toFixed(1)} MB)` });
      a.setAttribute("download", x.filename);
      li.append(a);
    } else if (x.error) {
      li.append(Object.assign(document.createElement("span"), { className: "error small", textContent: x.error }));
    }
    exportsList.append(li);
  }
}
document.getElementById("export-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (state.dirty && !(await save())) return;
  const form = e.target;
  const formats = ["flac", ...["mp3", "wav", "continuous"].filter((f) => form[f].checked)];
  try {
    const x = await api("POST", `/api/v1/albums/${albumId}/exports`, { formats });
    data.exports.push(x);
    renderExports();
    await followJob(x.job_id, progressView(document.getElementById("export-progress")));
    const fresh = await api("GET", `/api/v1/exports/${x.id}`);
    data.exports = data.exports.map((y) => (y.id === fresh.id ? fresh : y));
    renderExports();
  } catch (err) { toast(err.message); }
});

window.addEventListener("beforeunload", (e) => { if (state.dirty) e.preventDefault(); });

render();
renderPool();
renderCovers();
renderExports();
state.dirty = false;
saveStatus.textContent = "saved";
