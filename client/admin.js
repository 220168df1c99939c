// The operators' dashboard (DESIGN.md section 7): live figures from /ws/admin, repairs through
// /api/admin/, each one with a reason that lands in the audit log.
import { api, ApiError } from "./api.js";
import { $, h, toast, formatCountdown, ago } from "./dom.js";
import { abortReason, sentence, STATUS_LABELS } from "./words.js";
import { ReconnectingSocket } from "./socket.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const PING_EVERY_MS = 20000;
const HEARTBEAT_MS = 2000;
// The server sends an overview every second: this much silence means the socket is dead.
const SILENCE_LIMIT_MS = 6000;
const CONNECTION_LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

// Abort reasons only operators cause; the players' ones are explained in words.js.
const OPERATOR_REASONS = {
  admin_abort: "an operator aborted it",
  lease_released: "an operator released its room's lease",
};

const ACTION_LABELS = {
  abort_step: "Aborted a step",
  release_lease: "Released a lease",
  finish_room: "Finished a room",
  admin_grant: "Granted credits",
  admin_revoke: "Revoked credits",
  disable_user: "Disabled a user",
};

let operator = null;
let lastRoomCounts = "";
let lastRunning = "";

const short = (id) => String(id).slice(0, 8);

// ---------------------------------------------------------------------------------------------
// Who may see this page

async function whoAmI() {
  try {
    return await api("GET", "/api/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

function showGate(user) {
  $("#loading").hidden = true;
  $("#dashboard").hidden = true;
  $("#gate").hidden = false;
  $("#gate-message").textContent = user
    ? `You are signed in as ${user.display_name}, who is not an operator. This page is for operators only; ` +
      "sign in with an operator account on the main page."
    : "You are signed out. This page is for operators only: sign in with an operator account on the main page, then come back to /admin.";
  $("#gate-link").textContent = user ? "Back to the game" : "Sign in on the main page";
  $("#admin-status").hidden = true;
  feed.stop();
  setConnection("offline");
}

// ---------------------------------------------------------------------------------------------
// The live feed

const feed = new ReconnectingSocket({
  url: () => "/ws/admin",
  backoff: BACKOFF_MS,
  heartbeat: HEARTBEAT_MS,
  silence: SILENCE_LIMIT_MS,
  pingEvery: PING_EVERY_MS,
  onFrame: (frame, first, socket) => {
    if (first) feed.live(socket);
    onFrame(frame);
  },
  // Refused before a single frame: perhaps the session ended or the account lost its rights.
  onDrop: (heardAny) => {
    if (!heardAny) recheckAccess();
  },
  onStatus: setConnection,
});

function setConnection(state) {
  const node = $("#connection");
  node.dataset.state = state;
  node.textContent = state === "offline" ? "Not connected" : CONNECTION_LABELS[state];
  document.body.classList.toggle("stale", state === "reconnecting");
}

async function recheckAccess() {
  try {
    const user = await whoAmI();
    if (!user || !user.is_admin) showGate(user);
  } catch {
    // The network is down: the feed keeps retrying.
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering the overview

function onFrame(frame) {
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

  // Rooms come over HTTP: fetch again when their counts or their running steps change.
  const counts = JSON.stringify(frame.rooms_by_status);
  const running = (frame.steps_in_flight || []).map((step) => step.id).sort().join();
  if (counts !== lastRoomCounts || running !== lastRunning) {
    lastRoomCounts = counts;
    lastRunning = running;
    loadRooms();
  }
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

/**
 * Keyed update of `parent`'s children: rows that stay keep their nodes (and the keyboard focus
 * inside them), new ones are built, missing ones removed, and the order follows `items`.
 */
function syncList(parent, items, keyOf, build, update) {
  const existing = new Map([...parent.children].map((node) => [node.dataset.key, node]));
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (node) {
      existing.delete(key);
      update?.(node, item);
    } else {
      node = build(item);
      node.dataset.key = key;
    }
    const wanted = previous ? previous.nextSibling : parent.firstChild;
    if (node !== wanted) parent.insertBefore(node, wanted);
    previous = node;
  }
  for (const node of existing.values()) {
    if (node.contains(document.activeElement)) focusAfterRemoval(parent);
    node.remove();
  }
}

function focusAfterRemoval(parent) {
  const heading = parent.closest("section")?.querySelector("h2");
  if (heading) {
    heading.tabIndex = -1;
    setTimeout(() => heading.focus(), 0);
  }
}

function cell(label, ...children) {
  return h("td", { "data-label": label }, ...children);
}

function renderSteps(steps) {
  $("#steps-count").textContent = steps.length;
  $("#steps-empty").hidden = steps.length > 0;
  $("#steps-table").hidden = steps.length === 0;
  syncList($("#steps-table tbody"), steps, (step) => step.id, buildStepRow, updateStepRow);
}

function buildStepRow(step) {
  const row = h("tr", { dataset: { id: step.id } },
    cell("Step", h("code", { title: step.id }, short(step.id)), " ", h("span.badge.stuck-badge", {}, "Stuck")),
    cell("Room", h("code", { title: step.room_id }, short(step.room_id))),
    cell("Painter", `#${step.user_id}`),
    cell("Age", h("span.age")),
    cell("Lease", h("span.lease")),
    cell("Actions", h("div.row-actions", {},
      h("button.danger.small", {
        type: "button", "aria-label": `Abort step ${short(step.id)} and refund its painter`,
        onclick: (event) => askAbort(step, event.currentTarget),
      }, "Abort & refund"),
      h("button.small", {
        type: "button", "aria-label": `Release the lease of room ${short(step.room_id)}`,
        onclick: (event) => askRelease(step.room_id, event.currentTarget),
      }, "Release lease"))));
  updateStepRow(row, step);
  return row;
}

function updateStepRow(row, step) {
  row.classList.toggle("stuck", step.stuck);
  row.querySelector(".age").textContent = formatCountdown(step.age_seconds * 1000);
  const lease = row.querySelector(".lease");
  if (step.lease_expires_in === null || step.lease_expires_in === undefined) lease.textContent = "no lease";
  else if (step.lease_expires_in <= 0) lease.textContent = `expired ${formatCountdown(-step.lease_expires_in * 1000)} ago`;
  else lease.textContent = formatCountdown(step.lease_expires_in * 1000);
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
      h("span.score", {}, score.toFixed(2)));
  });
}

function auditDetail(entry) {
  const detail = entry.detail || {};
  if (entry.action === "admin_grant" || entry.action === "admin_revoke") {
    const delta = detail.delta > 0 ? `+${detail.delta}` : String(detail.delta);
    return `${delta} credits, balance ${detail.balance}`;
  }
  if (entry.action === "abort_step" && detail.refund !== undefined) return `refunded ${detail.refund}`;
  if (entry.action === "disable_user" && detail.sessions_revoked !== undefined) {
    return `${detail.sessions_revoked} session${detail.sessions_revoked === 1 ? "" : "s"} revoked`;
  }
  return "";
}

function renderAudit(entries) {
  $("#audit-empty").hidden = entries.length > 0;
  const list = $("#audit");
  const firstRender = !list.dataset.ready;
  list.dataset.ready = "1";
  syncList(list, entries, (entry) => entry.id, (entry) => {
    const target = entry.target_type === "user" ? `user #${entry.target_id}` : `${entry.target_type} ${short(entry.target_id)}`;
    const detail = auditDetail(entry);
    const item = h("li", { dataset: { action: entry.action, id: entry.id } },
      h("div.audit-head", {},
        h("strong", {}, ACTION_LABELS[entry.action] || entry.action),
        h("code.action-code", {}, entry.action),
        h("time", { datetime: entry.at, title: new Date(entry.at).toLocaleString() }, ago(entry.at))),
      h("div.audit-target", {}, h("span", { title: entry.target_id }, target), detail ? ` · ${detail}` : "",
        ` · by #${entry.admin_id}`),
      h("q.audit-reason", {}, entry.reason));
    if (!firstRender) item.classList.add("fresh");
    item.entry = entry;
    return item;
  }, (item, entry) => {
    item.entry = entry;
    const time = item.querySelector("time");
    const text = ago(entry.at);
    if (time.textContent !== text) time.textContent = text;
  });
}

// ---------------------------------------------------------------------------------------------
// Rooms (over HTTP, with a status filter)

let roomsRequest = 0;

async function loadRooms() {
  const status = $("#rooms-status").value;
  const ticket = ++roomsRequest;
  try {
    const { rooms } = await api("GET", `/api/admin/rooms${status ? `?status=${status}` : ""}`);
    if (ticket !== roomsRequest) return;
    $("#rooms-error").textContent = "";
    renderRooms(rooms);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (ticket !== roomsRequest) return;
    if (error.status === 401 || error.code === "not_admin") return recheckAccess();
    $("#rooms-error").textContent = error.message;
  }
}

function renderRooms(rooms) {
  $("#rooms-empty").hidden = rooms.length > 0;
  $("#rooms-table").hidden = rooms.length === 0;
  // A room's actions depend on its state: rebuild a row when that changes.
  const keyOf = (room) => `${room.id}:${room.status}:${room.running_step || ""}`;
  syncList($("#rooms-table tbody"), rooms, keyOf, buildRoomRow, updateRoomRow);
}

function buildRoomRow(room) {
  const actions = h("div.row-actions");
  if (room.running_step) {
    actions.append(h("button.small", {
      type: "button", "aria-label": `Release the lease of room ${room.name}`,
      onclick: (event) => askRelease(room.id, event.currentTarget, room.name),
    }, "Release lease"));
  }
  if (room.status === "playing") {
    actions.append(h("button.danger.small", {
      type: "button", "aria-label": `Finish room ${room.name}`,
      onclick: (event) => askFinish(room, event.currentTarget),
    }, "Finish"));
  }
  const row = h("tr", { dataset: { id: room.id } },
    cell("Room", h("div.room-cell", {}, h("span.room-name", {}, room.name), h("br"),
      h("code", { title: room.id }, short(room.id)), h("span.hint", {}, ` · ${room.mode} · host #${room.host_id}`))),
    cell("Status", h("span.chip.status", { "data-status": room.status }, STATUS_LABELS[room.status] || room.status)),
    cell("Players", h("span.members")),
    cell("Tiles", h("span.tiles")),
    cell("Created", h("time", { datetime: room.created_at, title: new Date(room.created_at).toLocaleString() })),
    cell("Actions", actions));
  updateRoomRow(row, room);
  return row;
}

function updateRoomRow(row, room) {
  row.querySelector(".members").textContent = room.member_count;
  row.querySelector(".tiles").textContent = `${room.tile_count} / ${room.max_steps}`;
  row.querySelector("time").textContent = ago(room.created_at);
}

// ---------------------------------------------------------------------------------------------
// Actions: one dialog asks for the reason and shows the server's refusal

const dialog = $("#action-dialog");
const actionForm = $("#action-form");
let pending = null; // { run(reason), done(answer), opener }

function ask({ title, summary, confirm, danger = false, opener, run, done }) {
  pending = { run, done, opener };
  $("#action-title").textContent = title;
  $("#action-summary").textContent = summary;
  const button = $("#action-confirm");
  button.textContent = confirm;
  button.className = danger ? "danger" : "primary";
  button.disabled = false;
  clearErrors(actionForm);
  actionForm.reset();
  dialog.showModal();
  $("#action-reason").focus();
}

function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((node) => (node.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

function showError(form, error) {
  const field = error.field && form.querySelector(`.field-error[data-for="${error.field}"]`);
  if (field) {
    field.textContent = sentence(error.message);
    const input = form.elements[error.field];
    input?.setAttribute("aria-invalid", "true");
    input?.focus();
  } else {
    form.querySelector(".form-error").textContent = error.message;
  }
}

actionForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!pending) return;
  clearErrors(actionForm);
  const reason = actionForm.elements.reason.value.trim();
  if (!reason) {
    showError(actionForm, { field: "reason", message: "Say why: the reason goes in the audit log." });
    return;
  }
  const button = $("#action-confirm");
  button.disabled = true;
  const current = pending;
  try {
    const answer = await current.run(reason);
    if (answer?.audit) mergeAudit(answer.audit);
    dialog.close();
    current.done?.(answer);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // delta and user_id live outside the dialog: say it here, where the eyes are.
    showError(actionForm, error.field === "reason" ? error : { message: error.message });
    if (error.status === 401 || error.code === "not_admin") recheckAccess();
  } finally {
    button.disabled = false;
  }
});

$("#action-cancel").addEventListener("click", () => dialog.close());
// Enter writes a new line in the reason; Ctrl+Enter (or Cmd+Enter) confirms.
$("#action-reason").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    actionForm.requestSubmit();
  }
});
dialog.addEventListener("close", () => {
  const opener = pending?.opener;
  pending = null;
  if (opener && opener.isConnected) opener.focus();
  else document.querySelector("main").focus();
});

/** Shows an action's own audit row at once; the next overview frame confirms it. */
function mergeAudit(entry) {
  const list = $("#audit");
  if (list.querySelector(`[data-key="${entry.id}"]`)) return;
  const current = [...list.children].map((node) => node.entry);
  renderAudit([entry, ...current].slice(0, 20));
}

function post(path, body) {
  return api("POST", path, body);
}

function askAbort(step, opener) {
  ask({
    title: `Abort step ${short(step.id)}?`,
    summary: `The step stops, its painter (user #${step.user_id}) gets the credit back, and it stays their turn in room ${short(step.room_id)}.`,
    confirm: "Abort & refund",
    danger: true,
    opener,
    run: (reason) => post(`/api/admin/steps/${step.id}/abort`, { reason }),
    done: () => toast(`Step ${short(step.id)} aborted and refunded.`, "good"),
  });
}

function askRelease(roomId, opener, name) {
  ask({
    title: `Release the lease of ${name ? `“${name}”` : `room ${short(roomId)}`}?`,
    summary: "The step holding the room's lease is aborted and refunded, so the room can move on.",
    confirm: "Release lease",
    danger: true,
    opener,
    run: (reason) => post(`/api/admin/rooms/${roomId}/release-lease`, { reason }),
    done: () => {
      toast(`Lease of room ${short(roomId)} released.`, "good");
      loadRooms();
    },
  });
}

function askFinish(room, opener) {
  ask({
    title: `Finish “${room.name}”?`,
    summary: "The game ends now and its players see the reveal. This cannot be undone.",
    confirm: "Finish room",
    danger: true,
    opener,
    run: (reason) => post(`/api/admin/rooms/${room.id}/finish`, { reason }),
    done: () => {
      toast(`“${room.name}” finished.`, "good");
      loadRooms();
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Users: grant or revoke credits, disable

const userForm = $("#user-form");

function readUserId() {
  const raw = userForm.elements.user_id.value.trim();
  if (!/^\d{1,18}$/.test(raw)) {
    showError(userForm, { field: "user_id", message: "Enter a user id (a number)." });
    return null;
  }
  return raw;
}

function readDelta() {
  const raw = userForm.elements.delta.value.trim();
  const amount = Number(raw);
  if (!/^\d+$/.test(raw) || amount < 1 || amount > 100000) {
    showError(userForm, { field: "delta", message: "Enter a whole number of credits from 1 to 100000." });
    return null;
  }
  return amount;
}

function userResult(text) {
  $("#user-result").textContent = text;
}

function askCredits(sign, opener) {
  clearErrors(userForm);
  userResult("");
  const userId = readUserId();
  if (userId === null) return;
  const amount = readDelta();
  if (amount === null) return;
  const grant = sign > 0;
  ask({
    title: `${grant ? "Grant" : "Revoke"} ${amount} credit${amount === 1 ? "" : "s"} ${grant ? "to" : "from"} user #${userId}?`,
    summary: grant
      ? "The credits are added to their balance with a ledger entry."
      : "The credits are taken from their balance with a ledger entry; the balance cannot go below zero.",
    confirm: grant ? "Grant credits" : "Revoke credits",
    danger: !grant,
    opener,
    run: (reason) => post(`/api/admin/users/${userId}/credits`, { delta: sign * amount, reason }),
    done: (answer) => userResult(`User #${userId} now has ${answer.credits} credits.`),
  });
}

function askDisable(opener) {
  clearErrors(userForm);
  userResult("");
  const userId = readUserId();
  if (userId === null) return;
  ask({
    title: `Disable user #${userId}?`,
    summary: "Their sessions are revoked at once and they cannot sign in again.",
    confirm: "Disable user",
    danger: true,
    opener,
    run: (reason) => post(`/api/admin/users/${userId}/disable`, { reason }),
    done: () => userResult(`User #${userId} is disabled.`),
  });
}

$("#grant-credits").addEventListener("click", (event) => askCredits(1, event.currentTarget));
$("#revoke-credits").addEventListener("click", (event) => askCredits(-1, event.currentTarget));
$("#disable-user").addEventListener("click", (event) => askDisable(event.currentTarget));
userForm.addEventListener("submit", (event) => {
  // Enter in a field grants: the least destructive of the three.
  event.preventDefault();
  askCredits(1, $("#grant-credits"));
});

$("#rooms-filter").addEventListener("submit", (event) => {
  event.preventDefault();
  loadRooms();
});
$("#rooms-status").addEventListener("change", () => loadRooms());

// ---------------------------------------------------------------------------------------------
// Start

async function start() {
  let user;
  try {
    user = await whoAmI();
  } catch (error) {
    $("#loading").textContent = error instanceof ApiError ? error.message : "The server cannot be reached.";
    setConnection("offline");
    return;
  }
  if (!user || !user.is_admin) {
    showGate(user);
    return;
  }
  operator = user;
  $("#operator").textContent = operator.display_name;
  $("#admin-status").hidden = false;
  $("#loading").hidden = true;
  $("#dashboard").hidden = false;
  feed.start();
  loadRooms();
}

start();
