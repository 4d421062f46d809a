// Release metadata in the album editor: the album's fields (the "Release" panel) and each
// track's composer, ISRC and credits (a details row under the track). The server checks and
// normalises them (ISRC CC-XXX-YY-NNNNN, YYYY or YYYY-MM-DD, UPC/EAN check digit) on save.
const ALBUM_FIELDS = ["album_artist", "release_date", "genre", "label", "upc", "disc_number", "disc_total", "comment"];
export const CREDIT_ROLES = ["producer", "engineer", "mixer", "arranger", "lyricist", "remixer", "conductor", "writer"];

/** The album's release fields from its JSON, as the form edits them (numbers as strings). */
export function releaseState(album) {
  return Object.fromEntries(ALBUM_FIELDS.map((f) => [f, album[f] == null ? "" : String(album[f])]));
}

/** Fill the Release panel's inputs (id `release-<field>`) and keep `release` in step. */
export function wireRelease(release, onChange) {
  for (const f of ALBUM_FIELDS) {
    const input = document.getElementById(`release-${f}`);
    input.value = release[f];
    input.addEventListener("input", () => { release[f] = input.value; onChange(); });
  }
}

/** The album's release fields as the API takes them. */
export function releaseBody(release) {
  const disc = (v) => (String(v).trim() === "" ? null : Number(v));
  return {
    album_artist: release.album_artist, release_date: release.release_date.trim(),
    genre: release.genre, label: release.label, upc: release.upc.trim(), comment: release.comment,
    disc_number: disc(release.disc_number), disc_total: disc(release.disc_total),
  };
}

/** A track slot's recording metadata from the album JSON (or empty for a new slot). */
export function trackMeta(t = {}) {
  return { composer: t.composer || "", isrc: t.isrc || "", credits: (t.credits || []).map((c) => ({ ...c })) };
}

export const trackBody = (t) => ({
  composer: t.composer, isrc: t.isrc.trim(), credits: t.credits.filter((c) => c.name.trim()),
});

/** The details row of track `i`: composer, ISRC and credits (role + name, add/remove). */
export function detailsRow(t, i, onChange) {
  const row = Object.assign(document.createElement("li"), { className: "track-meta" });
  row.dataset.meta = i;
  const field = (label, key, attrs) => {
    const input = Object.assign(document.createElement("input"), { value: t[key], ...attrs });
    input.dataset.field = key;
    input.setAttribute("aria-label", `${label} of track ${i + 1}`);
    input.addEventListener("input", () => { t[key] = input.value; onChange(); });
    const wrap = Object.assign(document.createElement("label"), { className: "inline" });
    wrap.append(`${label} `, input);
    return wrap;
  };
  const credits = Object.assign(document.createElement("div"), { className: "credits" });
  const drawCredits = () => {
    credits.innerHTML = "";
    t.credits.forEach((c, k) => {
      const role = document.createElement("select");
      role.setAttribute("aria-label", `Credit ${k + 1} role of track ${i + 1}`);
      for (const r of CREDIT_ROLES) role.append(new Option(r, r, false, c.role === r));
      role.addEventListener("change", () => { c.role = role.value; onChange(); });
      const name = Object.assign(document.createElement("input"), { value: c.name, maxLength: 300, placeholder: "name" });
      name.setAttribute("aria-label", `Credit ${k + 1} name of track ${i + 1}`);
      name.addEventListener("input", () => { c.name = name.value; onChange(); });
      const remove = Object.assign(document.createElement("button"), { type: "button", className: "icon", textContent: "✕" });
      remove.setAttribute("aria-label", `Remove credit ${k + 1} of track ${i + 1}`);
      remove.addEventListener("click", () => { t.credits.splice(k, 1); drawCredits(); onChange(); });
      const line = Object.assign(document.createElement("span"), { className: "credit" });
      line.append(role, name, remove);
      credits.append(line);
    });
    const add = Object.assign(document.createElement("button"), { type: "button", textContent: "+ credit" });
    add.dataset.addCredit = i;
    add.addEventListener("click", () => { t.credits.push({ role: "producer", name: "" }); drawCredits(); onChange(); });
    credits.append(add);
  };
  drawCredits();
  row.append(
    field("Composer", "composer", { maxLength: 300, placeholder: "songwriters" }),
    field("ISRC", "isrc", { maxLength: 20, placeholder: "CC-XXX-YY-NNNNN", size: 17 }),
    credits,
  );
  return row;
}

/** The check's answer in `ul`: problems first, then warnings (which do not stop a release). */
export function showCheck(ul, check) {
  ul.innerHTML = "";
  const item = (text, cls) => ul.append(Object.assign(document.createElement("li"), { className: cls, textContent: text }));
  if (check.ok) item("Ready: nothing a distributor would refuse.", "ok");
  for (const p of check.problems) item(p, "");
  for (const w of check.warnings || []) item(w, "warning");
}
