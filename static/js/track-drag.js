// The song editor's drag gestures, turned into commands on the drop: a block dragged along its
// lane changes the item's offset_s in 1 ms steps (UX row 26; not before the track's start), and an
// item dragged in the list is reordered. Only the gesture in progress is kept here.
import { move, shiftItem } from "./track-commands.js";
import { drawnPps, render } from "./track-draw.js";
import { VIEW_SR, state } from "./track-state.js";
import { plan } from "./timeline.js";

/** Pointer drags of the blocks in `arrangement` (#arrangement). */
export function wireTimeDrag(arrangement) {
  let drag = null;
  arrangement.addEventListener("pointerdown", (e) => {
    const block = e.target.closest(".block");
    if (!block || e.button !== 0) return;
    const index = Number(block.dataset.index);
    const p = plan(state.doc.edl, VIEW_SR).placements.find((q) => q.index === index);
    drag = { block, index, x0: e.clientX, left0: block.offsetLeft, minS: -(p ? p.start / VIEW_SR : 0), moved: false };
    block.setPointerCapture(e.pointerId);
  });
  arrangement.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x0;
    if (!drag.moved && Math.abs(dx) < 3) return;
    drag.moved = true;
    drag.block.classList.add("dragging");
    const pps = drawnPps();
    const s = Math.max(drag.minS, dx / pps);
    drag.block.style.left = `${drag.left0 + s * pps}px`;
    drag.block.title = `${s >= 0 ? "+" : ""}${Math.round(s * 1000)} ms`;
  });
  arrangement.addEventListener("pointerup", (e) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (!d.moved) return;
    const shift = Math.round(Math.max(d.minS, (e.clientX - d.x0) / drawnPps()) * 1000) / 1000;
    state.selected = d.index;
    if (!shift) { render(); return; }
    shiftItem(d.index, shift);
  });
  arrangement.addEventListener("pointercancel", () => { drag = null; render(); });
}

/** HTML drag and drop of the rows of `items` (#items) to reorder them. */
export function wireReorder(items) {
  let dragFrom = null;
  const clearMarks = () => items.querySelectorAll(".drop-before").forEach((el) => el.classList.remove("drop-before"));
  items.addEventListener("dragstart", (e) => {
    dragFrom = Number(e.target.closest("li").dataset.index);
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", String(dragFrom));
  });
  items.addEventListener("dragover", (e) => {
    e.preventDefault();
    clearMarks();
    e.target.closest("li")?.classList.add("drop-before");
  });
  items.addEventListener("drop", (e) => {
    e.preventDefault();
    const li = e.target.closest("li");
    const to = li ? Number(li.dataset.index) : state.doc.edl.items.length;
    move(dragFrom ?? Number(e.dataTransfer.getData("text/plain")), to);
    dragFrom = null;
  });
  items.addEventListener("dragend", clearMarks);
}
