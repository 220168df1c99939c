// The live feed: /ws/admin sends an overview every second, over one reconnecting socket.
import { $ } from "../dom.js";
import { ReconnectingSocket } from "../socket.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const PING_EVERY_MS = 20000;
const HEARTBEAT_MS = 2000;
// The server sends an overview every second: this much silence means the socket is dead.
const SILENCE_LIMIT_MS = 6000;
const CONNECTION_LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

/**
 * The feed's socket, not started yet: `onFrame(frame)` for every frame, `onRefused()` when a
 * socket is given up before a single frame (perhaps the session ended or the account lost its rights).
 */
export function createFeed({ onFrame, onRefused }) {
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
    onDrop: (heardAny) => {
      if (!heardAny) onRefused();
    },
    onStatus: setConnection,
    onSignedOut: onRefused,
  });
  return feed;
}

/** Shows the feed's state ("connecting", "live", "reconnecting" or "offline") in the top bar. */
export function setConnection(state) {
  const node = $("#connection");
  node.dataset.state = state;
  node.textContent = state === "offline" ? "Not connected" : CONNECTION_LABELS[state];
  document.body.classList.toggle("stale", state === "reconnecting");
}
