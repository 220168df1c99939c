// Rendering the overview: each frame from the feed redraws the figures and the panels.
import { $, h } from "../dom.js";
import { abortReason } from "../words.js";
import { renderAudit } from "./audit.js";
import { short, syncList } from "./lists.js";
import { renderPurchases } from "./purchases.js";

// Abort reasons only operators cause; the players' ones are explained in words.js.
const OPERATOR_REASONS = {
  admin_abort: "an operator aborted it",
  lease_released: "an operator released its room's lease",
};

/**
 * The feed's onFrame(frame): draws the steps with `renderSteps(steps)`, and calls
 * `onRoomsChanged()` when the room counts or the running steps change (rooms come over HTTP).
 */
export function overviewRenderer({ renderSteps, onRoomsChanged }) {
  let lastRoomCounts = "";
  let lastRunning = "";
  return function onFrame(frame) {
    if (frame.type === "error") {
      showFeedError(frame.message || "The overview could not be built.");
      return;
    }
    if (frame.type !== "overview") return;
    showFeedError("");
    const instance = $("#instance");
    if (instance.title !== frame.instance) {
      instance.title = frame.instance;
      instance.textContent = frame.instance.length > 12 ? `${frame.instance.slice(0, 12)}…` : frame.instance;
    }
    $("#connections").textContent = frame.connections;
    $("#spectators").textContent = frame.spectators;
    for (const status of ["lobby", "playing", "finished"]) {
      $(`#rooms-${status}`).textContent = frame.rooms_by_status?.[status] ?? 0;
    }
    renderGenerator(frame.generator || {});
    renderSteps(frame.steps_in_flight || []);
    renderSeams(frame.seam_scores || []);
    renderAudit(frame.audit || []);
    renderPurchases(frame.purchases || [], frame.shortfalls || []);

    const counts = JSON.stringify(frame.rooms_by_status);
    const running = (frame.steps_in_flight || []).map((step) => step.id).sort().join();
    if (counts !== lastRoomCounts || running !== lastRunning) {
      lastRoomCounts = counts;
      lastRunning = running;
      onRoomsChanged();
    }
  };
}

function showFeedError(message) {
  const node = $("#feed-error");
  if (node.textContent !== message) node.textContent = message;
  node.hidden = !message;
}

const ms = (value) => (value === null || value === undefined ? "no data" : `${Math.round(value).toLocaleString()} ms`);

function renderGenerator(generator) {
  $("#p50").textContent = ms(generator.p50_ms);
  $("#p95").textContent = ms(generator.p95_ms);
  $("#generated").textContent = generator.count ?? 0;
  const failures = Object.entries(generator.failures || {}).sort((a, b) => b[1] - a[1]);
  syncList($("#failures"), failures.length ? failures : [["", 0]], ([reason]) => reason || "none",
    ([reason, count]) => reason
      ? h("li", { title: OPERATOR_REASONS[reason] || abortReason(reason) }, h("code", {}, reason), h("span.count", {}, String(count)))
      : h("li.none", {}, "No failures in the last hour"));
}

function seamBand(score) {
  if (score < 1) return "good";
  if (score < 2) return "fair";
  return "poor";
}

function renderSeams(scores) {
  $("#seams-empty").hidden = scores.length > 0;
  syncList($("#seams"), scores, (item) => item.step_id, (item) => {
    const score = Number(item.seam_score) || 0;
    const bar = h("span.bar-fill");
    // 3 or more fills the bar: seams that visible are all equally bad.
    bar.style.width = `${Math.max(2, Math.min(100, (score / 3) * 100))}%`;
    return h(`li.seam-${seamBand(score)}`, { title: `Step ${item.step_id} in room ${item.room_id}` },
      h("code", {}, short(item.step_id)),
      h("span.bar", { "aria-hidden": "true" }, bar),
      h("span.score", {}, score.toFixed(2)),
      item.context_drift === null || item.context_drift === undefined
        ? null
        : h("span.drift", { title: "Context drift, grey levels" }, `drift ${Number(item.context_drift).toFixed(1)}`));
  });
}
