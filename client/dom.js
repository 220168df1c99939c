// Small DOM helpers shared by the views: element building, toasts, time formatting.

export const $ = (selector, root = document) => root.querySelector(selector);

/** h("button.primary", {type: "button", onclick}, "Text", child) builds an element. */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const node = document.createElement(tag || "div");
  if (classes.length) node.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    // Through the CSSOM: the Content-Security-Policy refuses style="..." attributes.
    else if (key === "style") Object.assign(node.style, value);
    else if (key === "text") node.textContent = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

const TOASTS_SHOWN = 2;
let toastsFollow = false;
// Where toasts may go, best first; each is a data-spot of #toasts in style.css.
const SPOTS = ["top", "bottom", "top-left", "top-right", "bottom-left", "bottom-right"];
const CONTROLS = "a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex='-1'])";

/** The boxes of the controls on screen, but for large areas that merely take the focus (the canvas). */
function controlsOnScreen() {
  const width = window.innerWidth;
  const height = window.innerHeight;
  return [...document.querySelectorAll(CONTROLS)]
    .filter((node) => !node.closest("#toasts") && (node.checkVisibility?.() ?? true)) // not in a closed <details>
    .map((node) => node.getBoundingClientRect())
    .filter((r) => r.width && r.height && r.bottom > 0 && r.top < height && r.right > 0 && r.left < width)
    .filter((r) => r.width * r.height < (width * height) / 4);
}

const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/** Puts the toasts where they cover no control on screen (the first such spot), else at the top. */
function placeToasts(box = $("#toasts")) {
  if (!box.children.length) return;
  const controls = controlsOnScreen();
  for (const spot of SPOTS) {
    box.dataset.spot = spot;
    const rect = box.getBoundingClientRect();
    if (!controls.some((control) => overlap(rect, control))) return;
  }
  box.dataset.spot = SPOTS[0];
}

/**
 * A transient message, placed where it covers no control (and clicks go through it); `kind` is
 * "info", "good" or "bad". `quiet`: seen but not read out, for news that a live region on the
 * page already says.
 */
export function toast(message, kind = "info", { quiet = false } = {}) {
  const box = $("#toasts");
  // The same news can arrive twice (an HTTP answer and its event): say it once.
  if ([...box.children].some((item) => item.textContent === message)) return;
  const item = quiet
    ? h(`div.toast.toast-${kind}`, { "aria-hidden": "true" }, message)
    : h(`div.toast.toast-${kind}`, { role: kind === "bad" ? "alert" : "status" }, message);
  box.append(item);
  while (box.children.length > TOASTS_SHOWN) box.firstElementChild.remove();
  placeToasts(box);
  if (!toastsFollow) {
    // The page moves under them (scrolled, or the turn docked): they move to stay clear.
    toastsFollow = true;
    let queued = false;
    const again = () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        placeToasts();
      });
    };
    window.addEventListener("scroll", again, { passive: true });
    window.addEventListener("resize", again);
  }
  setTimeout(() => item.classList.add("leaving"), 4000);
  setTimeout(() => item.remove(), 4400);
}

const ANNOUNCEMENTS_KEPT = 6;

/**
 * Says `text` to screen readers, once: a line added to the page's polite log (#announcer), so
 * that news arriving together (a tile landed, then whose turn it is) is read in order, none lost.
 */
export function announce(text) {
  const log = $("#announcer");
  if (!log || !text) return;
  log.append(h("p", {}, text));
  while (log.children.length > ANNOUNCEMENTS_KEPT) log.firstElementChild.remove();
}

/** "4:05", "1:02:03" or "0:00" for a number of milliseconds. */
export function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/** A short relative time such as "3 min ago". */
export function ago(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** A stable, friendly colour for a player, from their id. */
export function playerColour(userId) {
  const hues = [12, 38, 160, 200, 265, 320, 90, 235];
  return `hsl(${hues[Math.abs(Number(userId)) % hues.length]} 75% 70%)`; // light: ink initials on it
}

export function initials(name) {
  return (name || "?").trim().split(/\s+/).slice(0, 2).map((word) => word[0]).join("").toUpperCase();
}
