// The clip browser: run › epoch groups, one shared player, endless list, audition keys.
import { Curation } from "./curation.js";
import { Player, matchGain } from "./audition.js";
import { fmtTime, onKeys, pageData, toast } from "./keys.js";
import { Selection } from "./clip-selection.js";
import { confirmDelete, deleteByUrl } from "./deletion.js";
import { openGenerate } from "./generate-more.js";
import { LiveClips } from "./live-clips.js";

const list = document.getElementById("cliplist");
const inspector = document.getElementById("inspector");
const clips = new Map(); // id -> clip JSON
const player = new Player();
const curation = new Curation(inspector.querySelector("[data-curation]"), { onSaved: afterSave });
let current = null; // selected clip id
let other = null; // the A/B partner
let pinned = null;

function readClips(root) {
  root.querySelectorAll("script[data-clips]").forEach((s) => {
    for (const c of JSON.parse(s.textContent)) clips.set(c.id, c);
    s.remove();
  });
}
readClips(document);

// Clips still being generated, above the list; built before the keys below are registered so
// that K on a live clip means "keep that".
const liveRoot = document.getElementById("live-clips");
const live = liveRoot && new LiveClips(liveRoot, {
  url: liveRoot.dataset.liveUrl,
  onPlay: () => player.pause(),
  onLanded: (id) => landRow(id),
});

/** A new clip (a live one finished, or kept from one) joins the list as an ordinary row. */
async function landRow(id) {
  if (rowOf(id)) return;
  const res = await fetch(`/clips/${id}/row?sort=${encodeURIComponent(liveRoot.dataset.sort || "")}`);
  if (!res.ok) return;
  const tpl = document.createElement("template");
  tpl.innerHTML = await res.text();
  readClips(tpl.content);
  const row = tpl.content.querySelector(".clip");
  if (!row || rowOf(id)) return;
  list.querySelector(":scope > p.loadmore")?.remove();
  const sameGroup = list.querySelector(`.clip[data-group="${CSS.escape(row.dataset.group)}"]`);
  if (sameGroup) sameGroup.before(row); else list.prepend(row);
  const total = document.querySelector("[data-total]");
  if (total) total.textContent = String(Number(total.textContent) + 1);
}

const rowOf = (id) => document.getElementById(`clip-${id}`);
const rows = () => [...list.querySelectorAll(".clip")];

function select(id, { play = false, keepOther = false } = {}) {
  if (id == null || !clips.has(id)) return;
  if (current !== id) {
    if (!keepOther && current != null) other = pinned ?? current;
    rowOf(current)?.classList.remove("selected", "playing");
    rowOf(current)?.setAttribute("aria-selected", "false");
    current = id;
  }
  live?.release();
  const row = rowOf(id);
  row.classList.add("selected");
  row.setAttribute("aria-selected", "true");
  row.scrollIntoView({ block: "nearest" });
  const clip = clips.get(id);
  player.load(clip);
  curation.show(clip);
  inspector.querySelector("[data-i-title]").textContent = `Clip ${clip.label}`;
  inspector.querySelector("[data-i-duration]").textContent = fmtTime(clip.duration_s);
  const editor = inspector.querySelector("[data-i-editor]");
  editor.href = clip.editor_url;
  editor.hidden = false;
  showGain();
  showAB();
  showFlags(clip);
  if (play) player.play();
}

/** The selected clip's quality and the reasons of its flags. */
function showFlags(clip) {
  inspector.querySelector("[data-i-quality]").textContent = (clip.quality == null
    ? "not analysed yet" : `quality ${Math.round(clip.quality * 100)} of 100`)
    + (clip.primed_from ? ` · ${clip.primed_from}` : ""); // a primed clip's moment
  inspector.querySelector("[data-i-flags]").replaceChildren(...clip.badges.map((b) => {
    const li = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = b.name;
    name.className = b.hard ? "error" : "";
    li.append(name, `: ${b.reason}`);
    li.dataset.flag = b.name;
    return li;
  }));
}

function showGain() {
  const clip = clips.get(current);
  const el = inspector.querySelector("[data-i-gain]");
  if (!clip) return;
  el.textContent = clip.loudness_lufs == null ? "loudness unknown: plays as is"
    : `${clip.loudness_lufs.toFixed(1)} LUFS → ${player.matched ? (20 * Math.log10(matchGain(clip.loudness_lufs))).toFixed(1) : "0.0"} dB to −18 LUFS`;
}

function showAB() {
  const a = inspector.ownerDocument.querySelector('[data-ab="a"]');
  const b = inspector.ownerDocument.querySelector('[data-ab="b"]');
  a.textContent = current ? `A #${current}` : "A –";
  b.textContent = other ? `B #${other}${pinned === other ? " 📌" : ""}` : "B –";
  a.classList.add("active");
}

function step(delta, opts) {
  const all = rows();
  const i = all.findIndex((r) => Number(r.dataset.clipId) === current);
  const next = all[i < 0 ? 0 : i + delta];
  if (next) select(Number(next.dataset.clipId), opts);
  if (i + delta >= all.length - 3) loadMore();
}

/** A/B: the other clip, at the same relative time, playing if this one was. */
function swapAB() {
  if (other == null || !clips.has(other)) { toast("Select another clip first (or pin one as B)"); return; }
  const rel = player.duration ? player.currentTime / player.duration : 0;
  const wasPlaying = player.playing;
  const from = current;
  player.pause();
  select(other, { keepOther: true });
  other = from;
  player.seek(rel * player.duration);
  if (wasPlaying) player.play();
  showAB();
}

function afterSave(clip, changes) {
  paintRow(clip);
  if ("kept" in changes && curation.autoAdvance && clip.id === current) {
    step(1, { play: true }); // keep listening: the next clip starts at once
  }
}

/** Redraw a row's verdict, stars and tags from its clip JSON. */
function paintRow(clip) {
  const row = rowOf(clip.id);
  if (row) {
    row.classList.toggle("kept", clip.kept === true);
    row.classList.toggle("rejected", clip.kept === false);
    const v = row.querySelector("[data-verdict]");
    v.textContent = clip.kept ? "✓" : clip.kept === false ? "✕" : "·";
    v.title = clip.kept ? "kept" : clip.kept === false ? "rejected" : "undecided";
    row.querySelectorAll("[data-stars] span").forEach((s, i) => s.classList.toggle("off", !(clip.rating && i < clip.rating)));
    row.querySelector("[data-stars]").setAttribute("aria-label", `Rating ${clip.rating || 0} of 5`);
    row.querySelector("[data-tags]").replaceChildren(...clip.tags.map((t) => {
      const s = document.createElement("span");
      s.className = "tag";
      s.textContent = t;
      return s;
    }));
  }
}

// -- player <-> rows -----------------------------------------------------------------------------
player.addEventListener("time", (e) => {
  const row = rowOf(current);
  const t = e.detail;
  inspector.querySelector("[data-i-time]").textContent = fmtTime(t);
  if (row && player.duration) row.querySelector(".playhead").style.left = `${(100 * t) / player.duration}%`;
});
player.addEventListener("state", (e) => {
  const row = rowOf(current);
  row?.classList.toggle("playing", e.detail.playing);
  if (row) row.querySelector("[data-play]").textContent = e.detail.playing ? "❚❚" : "▶";
  inspector.querySelector("[data-i-play]").textContent = e.detail.playing ? "❚❚ Pause" : "▶ Play";
  inspector.querySelector("[data-i-loop]").setAttribute("aria-pressed", String(e.detail.looping));
});
player.addEventListener("error", (e) => toast(`cannot play: ${e.detail?.message || e.detail}`));

list.addEventListener("click", (e) => {
  const row = e.target.closest(".clip");
  if (!row) return;
  const id = Number(row.dataset.clipId);
  if (e.ctrlKey || e.metaKey || e.shiftKey) {
    // Many clips at once: Ctrl/⌘ adds or removes one, Shift a range from the last one.
    e.preventDefault();
    if (e.shiftKey) selection.range(id, current); else selection.toggle(id, current);
    return;
  }
  selection.clear();
  if (e.target.closest("[data-play]")) {
    if (id === current) player.toggle(); else select(id, { play: true });
    return;
  }
  const wave = e.target.closest("[data-seek]");
  select(id);
  if (wave) {
    const box = wave.getBoundingClientRect();
    player.seek(((e.clientX - box.left) / box.width) * player.duration);
  }
});
list.addEventListener("dblclick", (e) => {
  const row = e.target.closest(".clip");
  if (row && !e.target.closest("button")) location.href = clips.get(Number(row.dataset.clipId)).editor_url;
});

inspector.querySelector("[data-i-play]").addEventListener("click", () => current != null && player.toggle());
inspector.querySelector("[data-i-loop]").addEventListener("click", () => toggleLoop());
inspector.querySelector("[data-i-match]").addEventListener("change", (e) => { player.setMatched(e.target.checked); showGain(); });
inspector.querySelector("[data-pin-b]").addEventListener("click", () => {
  if (current == null) return;
  pinned = current;
  toast(`Clip #${pinned} pinned as B`);
  showAB();
});

function toggleLoop(force) {
  const on = force ?? !player.looping;
  player.setLoop(on ? { start: 0, end: null } : null).catch((err) => toast(err.message));
}

// -- endless list --------------------------------------------------------------------------------
let loading = false;
async function loadMore() {
  const more = list.querySelector(".loadmore[data-next]");
  if (!more || loading) return;
  loading = true;
  try {
    const url = `${more.dataset.next}&after_group=${encodeURIComponent(more.dataset.lastGroup || "")}`;
    const html = await (await fetch(url)).text();
    const tpl = document.createElement("template");
    tpl.innerHTML = html;
    readClips(tpl.content);
    more.replaceWith(tpl.content);
    observe();
  } catch (err) {
    more.textContent = `Could not load more clips (${err.message}); scroll to retry.`;
  } finally {
    loading = false;
  }
}
const observer = new IntersectionObserver((entries) => {
  if (entries.some((e) => e.isIntersecting)) loadMore();
}, { rootMargin: "600px" });
function observe() {
  const more = list.querySelector(".loadmore[data-next]");
  if (more) observer.observe(more);
}
observe();

// -- keys ----------------------------------------------------------------------------------------
onKeys((e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return false;
  const key = e.key;
  if (key === "ArrowDown" || key === "ArrowUp") { step(key === "ArrowDown" ? 1 : -1, { play: player.playing }); return true; }
  if (current == null) {
    if ([" ", "ArrowRight", "Enter", "k", "K", "x", "X"].includes(key) || /^[1-5]$/.test(key)) { step(0); return true; }
    return false;
  }
  if (key === " ") {
    if (e.shiftKey) { toggleLoop(true); if (!player.playing) player.play(); } else player.toggle();
    return true;
  }
  if (key === "ArrowRight" || key === "ArrowLeft") { player.seek(player.currentTime + (key === "ArrowRight" ? 1 : -1)); return true; }
  if (/^[1-5]$/.test(key)) { curation.rate(Number(key)); return true; }
  if (key === "k" || key === "K") { curation.verdict(true); return true; }
  if (key === "x" || key === "X") { curation.verdict(false); return true; }
  if (key === "b" || key === "B") { swapAB(); return true; }
  if (key === "l" || key === "L") { toggleLoop(); return true; }
  if (key === "Enter") { location.href = clips.get(current).editor_url; return true; }
  return false;
});

// -- many clips at once ---------------------------------------------------------------------------
const data = pageData();
const selection = new Selection(list, document.getElementById("batchbar"), {
  projectId: data.project_id,
  onEdited: (edited) => {
    for (const out of edited) {
      const clip = clips.get(out.id);
      if (!clip) continue;
      Object.assign(clip, { rating: out.rating, kept: out.kept, tags: out.tags, notes: out.notes });
      paintRow(clip);
      if (clip.id === current) curation.show(clip);
    }
  },
  onDeleted: (ids) => removeRows(ids),
});

function removeRows(ids) {
  const gone = new Set(ids);
  let next = null;
  if (gone.has(current)) {
    const all = rows();
    const i = all.findIndex((r) => Number(r.dataset.clipId) === current);
    next = all.slice(i + 1).concat(all.slice(0, i).reverse()).find((r) => !gone.has(Number(r.dataset.clipId)));
    player.pause();
    current = null;
  }
  for (const id of gone) { rowOf(id)?.remove(); clips.delete(id); }
  const total = document.querySelector("[data-total]");
  if (total) total.textContent = String(Math.max(0, Number(total.textContent) - gone.size));
  if (next) select(Number(next.dataset.clipId));
}

inspector.querySelector("[data-i-generate]").addEventListener("click", () => {
  const clip = clips.get(current);
  if (!clip) return;
  openGenerate({ checkpointId: clip.checkpoint_id, epoch: clip.epoch, runId: clip.run_id, projectId: data.project_id },
    { seconds: clip.duration_s, temperature: clip.temperature });
});
inspector.querySelector("[data-i-delete]").addEventListener("click", async () => {
  const id = current;
  if (id == null) return;
  const removed = await confirmDelete(`clip #${id}`, deleteByUrl(`/api/v1/clips/${id}`));
  if (removed) { removeRows(removed.clips); toast(`Deleted clip #${id}`); }
});

// Open with the first clip selected, ready for Space.
const first = rows()[0];
if (first) select(Number(first.dataset.clipId));
