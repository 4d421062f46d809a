// Where every EDL item lands, in samples: a line-by-line port of app/audio/timeline.py `plan`,
// so the Web Audio preview schedules exactly what the server renders.
export const S = (seconds, sr) => Math.floor(seconds * sr + 0.5);

const DEFAULTS = { crossfade_s: 0.01, repeat_crossfade_s: 0, micro_fade_s: 0.005 };

export function laneOf(edl, n) {
  const l = (edl.lanes || {})[String(n)] || {};
  return { pan: l.pan ?? 0, offset_s: l.offset_s ?? 0, gain_db: l.gain_db ?? 0 };
}

/** {length, placements: [...], problems: [{index, field, message}]} at `sr` Hz. */
export function plan(edl, sr) {
  const items = edl.items || [];
  const t = { ...DEFAULTS, ...edl };
  const micro = S(t.micro_fade_s, sr);
  const problems = [];
  const placements = [];
  const laneNumbers = [...new Set(items.map((i) => i.lane ?? 0))].sort((a, b) => a - b);
  for (const laneNumber of laneNumbers) {
    const lane = laneOf(edl, laneNumber);
    const indices = items.map((it, i) => [it, i]).filter(([it]) => (it.lane ?? 0) === laneNumber).map(([, i]) => i);
    const units = [], overlaps = [], blocks = [];
    for (const i of indices) {
      const item = items[i];
      const repeat = item.repeat ?? 1;
      let unit = S(item.end_s, sr) - S(item.start_s, sr);
      if (unit < 1) { problems.push({ index: i, field: "end_s", message: "section shorter than one sample" }); unit = 1; }
      const overlap = repeat > 1 ? Math.min(S(t.repeat_crossfade_s, sr), Math.floor(unit / 2)) : 0;
      units.push(unit); overlaps.push(overlap); blocks.push(repeat * unit - (repeat - 1) * overlap);
    }
    const joins = [0];
    for (let k = 1; k < indices.length; k++) {
      const item = items[indices[k]];
      const xf = item.crossfade_s ?? t.crossfade_s;
      joins.push(Math.min(S(xf, sr), Math.floor(blocks[k - 1] / 2), Math.floor(blocks[k] / 2)));
    }
    joins.push(0);
    let position = S(lane.offset_s, sr);
    indices.forEach((i, k) => {
      const item = items[i];
      if (k > 0) position += blocks[k - 1] - joins[k];
      position += S(item.offset_s ?? 0, sr);
      if (position < 0) problems.push({ index: i, field: "offset_s", message: "places the item before the start of the track" });
      let fadeIn = S(item.fade_in_s ?? 0, sr);
      let fadeOut = S(item.fade_out_s ?? 0, sr);
      if (joins[k] === 0) fadeIn = Math.max(fadeIn, micro);
      if (joins[k + 1] === 0) fadeOut = Math.max(fadeOut, micro);
      placements.push({
        index: i, lane: laneNumber, start: position, length: blocks[k], unit: units[k],
        repeat: item.repeat ?? 1, repeatOverlap: overlaps[k], srcStart: S(item.start_s, sr),
        headJoin: joins[k], tailJoin: joins[k + 1],
        fadeIn: Math.min(fadeIn, blocks[k]), fadeOut: Math.min(fadeOut, blocks[k]),
        gain: 10 ** (((item.gain_db ?? 0) + lane.gain_db) / 20),
        pan: item.pan ?? lane.pan,
      });
    });
  }
  placements.sort((a, b) => a.index - b.index);
  const length = placements.reduce((m, p) => Math.max(m, p.start + p.length), 0);
  return { sampleRate: sr, length, placements, problems };
}

/** The gain envelope of a placement at sample i of its block (render.py `_envelope`). */
export function envelopeAt(p, i) {
  let g = p.gain;
  const X = p.headJoin, Y = p.tailJoin;
  if (X && i < X) g *= Math.sin(0.5 * Math.PI * (i + 0.5) / X);
  const j = p.length - 1 - i; // samples before the end
  if (Y && j < Y) g *= Math.sin(0.5 * Math.PI * (j + 0.5) / Y);
  if (p.fadeIn && i < p.fadeIn) g *= i / p.fadeIn;
  if (p.fadeOut && j < p.fadeOut) g *= j / p.fadeOut;
  return g;
}
