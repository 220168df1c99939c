// The operators' dashboard (README: Operators): live figures from /ws/admin, repairs through
// /api/admin/, each one with a reason that lands in the audit log. Its sections live in admin/;
// this module wires them together (each gets what it needs from another as a callback) and starts.
import { ApiError } from "./api.js";
import { $ } from "./dom.js";
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
const feed = createFeed({
  onFrame: overviewRenderer({ renderSteps: stepsTable(actions), onRoomsChanged: loadRooms }),
  onRefused: recheck,
});

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
