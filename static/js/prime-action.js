// "Continue from here" (issue 10 item 4), shared by the source and clip editors: the selected
// region becomes the prime of a generation. The engine reads at most 30 s of it
// (app/schemas/priming.py), so a longer selection keeps its last 30 s: its end is the moment the
// clips continue from.
import { openGenerate } from "./generate-more.js";

export const PRIME_MAX_S = 30;

/** The prime for `region` ({start, end}) of `what` ({source_id | clip_id, label, audio_url}). */
export function primeOf(region, what) {
  const end = Math.round(region.end * 1e4) / 1e4;
  const start = Math.max(0, Math.round(Math.max(region.start, end - PRIME_MAX_S) * 1e4) / 1e4);
  return { ...what, start_s: start, seconds: Math.round((end - start) * 1e4) / 1e4 };
}

/** Wire `button` to open the generate dialog primed with the current selection. */
export function wireContinue(button, { selection, what, target, defaults = {} }) {
  button.addEventListener("click", () => {
    const region = selection();
    if (!region || document.getElementById("generate-more")?.open) return; // (C in the dialog)
    openGenerate(target(), defaults, primeOf(region, what));
  });
}
