// Generated titles: draw more (a job followed over SSE), search, pin, edit in place.
import { api } from "/static/js/api.js";
import { onKeys, pageData, toast } from "/static/js/keys.js";
import { followJob, progressView } from "./jobs.js";

const data = pageData();
const list = document.getElementById("title-list");
const more = document.getElementById("more-titles");
const search = document.getElementById("title-search");
const count = document.querySelector("[data-count]");
let cursor = data.next_cursor;

function row(t) {
  const li = document.createElement("li");
  li.dataset.id = t.id;
  li.classList.toggle("pinned", t.pinned);
  const input = Object.assign(document.createElement("input"), { value: t.text, maxLength: 500 });
  input.setAttribute("aria-label", "Title");
  input.addEventListener("change", async () => {
    try {
      const saved = await api("PATCH", `/api/v1/titles/${t.id}`, { text: input.value });
      input.value = saved.text;
      toast("title saved");
    } catch (err) { toast(err.message); input.value = t.text; }
  });
  const pin = Object.assign(document.createElement("button"), { type: "button", className: "icon pin toggle", textContent: "📌" });
  pin.setAttribute("aria-label", "Pin");
  pin.setAttribute("aria-pressed", String(t.pinned));
  pin.addEventListener("click", () => togglePin(li, t));
  const seed = Object.assign(document.createElement("span"), { className: "seed", textContent: t.seed != null ? `seed ${t.seed}` : "" });
  li.append(pin, input, seed);
  return li;
}

async function togglePin(li, t) {
  try {
    const saved = await api("PATCH", `/api/v1/titles/${t.id}`, { pinned: !t.pinned });
    t.pinned = saved.pinned;
    li.classList.toggle("pinned", t.pinned);
    li.querySelector(".pin").setAttribute("aria-pressed", String(t.pinned));
  } catch (err) { toast(err.message); }
}

function show(titles, append) {
  if (!append) list.innerHTML = "";
  for (const t of titles) list.append(row(t));
  more.hidden = !cursor;
  count.textContent = `${list.children.length}${cursor ? "+" : ""} shown`;
}

async function load(append) {
  const params = new URLSearchParams({ limit: "200" });
  if (search.q.value) params.set("q", search.q.value);
  if (search.pinned.checked) params.set("pinned", "true");
  if (append && cursor) params.set("cursor", cursor);
  const page = await api("GET", `/api/v1/projects/${data.project_id}/titles/generated?${params}`);
  cursor = page.next_cursor;
  show(page.data, append);
}

let timer;
search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load(false), 200); });
search.addEventListener("submit", (e) => { e.preventDefault(); load(false); });
more.addEventListener("click", () => load(true));
show(data.titles, false);

onKeys((e) => {
  if (e.key !== "p" && e.key !== "P") return false;
  const li = document.activeElement?.closest?.("#title-list li");
  if (!li) return false;
  li.querySelector(".pin").click();
  return true;
});

const form = document.getElementById("generate-titles");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = { n: Number(form.n.value), replace: form.replace.checked };
  if (form.seed.value) body.seed = Number(form.seed.value);
  try {
    const job = await api("POST", `/api/v1/projects/${data.project_id}/titles/generate`, body);
    const done = await followJob(job.id, progressView(document.getElementById("titles-progress")));
    if (done.status === "succeeded") { cursor = null; await load(false); }
  } catch (err) { toast(err.message); }
});
