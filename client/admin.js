// The operators' dashboard (README: Operators): live figures from /ws/admin, repairs through
// /api/admin/, each one with a reason that lands in the audit log. Its sections live in admin/;
// this module wires them together (each gets what it needs from another as a callback) and starts.
import { ApiError } from "./api.js";
import { $, h } from "./dom.js";
import { actionDialog } from "./admin/actions.js";
import { createFeed, setConnection } from "./admin/feed.js";
import { recheckAccess, showGate, whoAmI } from "./admin/gate.js";
import { overviewRenderer } from "./admin/overview.js";
import { roomsPanel } from "./admin/rooms.js";
import { stepsTable } from "./admin/steps.js";
import { bindUserForm } from "./admin/users.js";

const recheck = () => recheckAccess(shut);
const actions = actionDialog({ onRefused: recheck, onRoomChanged: () => loadRooms() });
const loadRooms = roomsPanel({ askRelease: actions.askRelease, askFinish: actions.askFinish, onRefused: recheck });
bindUserForm(actions.ask);
const renderOverview = overviewRenderer({ renderSteps: stepsTable(actions), onRoomsChanged: loadRooms });
const feed = createFeed({
  onFrame: (frame) => {
    renderOverview(frame);
    generatorAlarm(frame.generator || {});
  },
  onRefused: recheck,
});

/**
 * The alarm: steps aborted `generator_unavailable` in the last hour mean the image service cannot
 * paint until an operator acts (the API key, OPENAI_MODEL, the account's quota); players retrying
 * cannot help. The same alarm is `exquisite_generator_unavailable` in /metrics.
 */
function generatorAlarm(generator) {
  const count = (generator.failures || {}).generator_unavailable || 0;
  let node = $("#generator-alarm");
  if (!node) {
    node = h("p.banner-bad", { id: "generator-alarm", role: "alert", hidden: true });
    $("#feed-error").after(node);
  }
  const message = count
    ? `Generator unavailable: ${count} step${count === 1 ? "" : "s"} in the last hour could not be painted`
      + " (API key, model or quota). Check the server log for what to set."
    : "";
  if (node.textContent !== message) node.textContent = message;
  node.hidden = !count;
}

/** Closes the page to `user` (null when signed out), who is not, or no longer, an operator. */
function shut(user) {
  showGate(user);
  feed.stop();
  setConnection("offline");
}

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
    shut(user);
    return;
  }
  $("#operator").textContent = user.display_name;
  $("#admin-status").hidden = false;
  $("#loading").hidden = true;
  $("#dashboard").hidden = false;
  feed.start();
  loadRooms();
}

start();
