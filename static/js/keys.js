// The studio keymap (UX.md §3): one keydown listener, the `?` overlay, and no keys while typing.
const handlers = [];
const TEXT_TYPES = new Set(["text", "number", "search", "email", "url", "password", "tel", ""]);

/** True when `el` takes typed text, so studio keys must leave it alone. */
export function isTyping(el) {
  if (!el || el === document.body) return false;
  if (el.isContentEditable) return true;
  if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
  return el.tagName === "INPUT" && TEXT_TYPES.has((el.getAttribute("type") || "").toLowerCase());
}

/** Register `handler(event)`; return true from it when the key was used. */
export function onKeys(handler) {
  handlers.push(handler);
}

const help = document.getElementById("help");

export function toggleHelp(open) {
  if (!help) return;
  const show = open ?? help.hidden;
  help.hidden = !show;
  help.classList.toggle("open", show);
  if (show) help.querySelector("button")?.focus();
}

help?.addEventListener("click", (e) => {
  if (e.target === help || e.target.closest("[data-close-help]")) toggleHelp(false);
});
document.querySelector(".keyhint")?.addEventListener("click", () => toggleHelp(true));

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") {
    if (help && !help.hidden) { toggleHelp(false); e.preventDefault(); return; }
    if (isTyping(document.activeElement)) document.activeElement.blur();
    return;
  }
  if (isTyping(e.target)) {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
      // Ctrl+S saves from anywhere; let the field commit its value first.
      e.target.dispatchEvent(new Event("change", { bubbles: true }));
    } else {
      return;
    }
  }
  if (e.key === "?") { toggleHelp(); e.preventDefault(); return; }
  if (help && !help.hidden) return;
  for (const handler of handlers) {
    if (handler(e)) { e.preventDefault(); e.stopPropagation(); return; }
  }
});

/** A short message at the bottom of the page. */
export function toast(text, ms = 2500) {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = text;
  el.classList.add("show");
  clearTimeout(el._timer);
  el._timer = setTimeout(() => el.classList.remove("show"), ms);
}

/** The JSON the server put in <script id="page-data">. */
export function pageData() {
  const el = document.getElementById("page-data");
  return el ? JSON.parse(el.textContent) : {};
}

export function fmtTime(s) {
  if (s == null || !isFinite(s)) return "–";
  s = Math.max(0, s);
  const m = Math.floor(s / 60);
  return `${m}:${(s - 60 * m).toFixed(2).padStart(5, "0")}`;
}
