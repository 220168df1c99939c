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

/**
 * A transient message in the corner; `kind` is "info", "good" or "bad". `quiet`: seen but not
 * read out, for news that a live region on the page already says.
 */
export function toast(message, kind = "info", { quiet = false } = {}) {
  const box = $("#toasts");
  // The same news can arrive twice (an HTTP answer and its event): say it once.
  if ([...box.children].some((item) => item.textContent === message)) return;
  const item = quiet
    ? h(`div.toast.toast-${kind}`, { "aria-hidden": "true" }, message)
    : h(`div.toast.toast-${kind}`, { role: kind === "bad" ? "alert" : "status" }, message);
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => item.classList.add("leaving"), 4000);
  setTimeout(() => item.remove(), 4600);
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
  return `hsl(${hues[Math.abs(Number(userId)) % hues.length]} 75% 55%)`;
}

export function initials(name) {
  return (name || "?").trim().split(/\s+/).slice(0, 2).map((word) => word[0]).join("").toUpperCase();
}
