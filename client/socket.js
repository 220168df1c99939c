// The reconnecting websocket both live feeds share (docs/protocol.md): one socket at a
// time, a heartbeat that pings and notices silence, and a retry with backoff after every drop.

/**
 * Keeps a websocket to this host open from start() to stop(), starting over whenever it drops.
 *
 * options:
 * - url(): the path and query, asked again before every attempt;
 * - backoff: the delays (ms) before the 1st, 2nd, … retry, the last one repeating;
 * - heartbeat: how often (ms) to check the socket; silence: how long (ms) without a frame makes
 *   it dead; pingEvery: how often (ms) to ping, 0 for every heartbeat;
 * - onFrame(frame, first, socket): every parsed frame of the current socket (`first`: its first);
 * - onDrop(heardAny): after a socket is given up, before the retry (`heardAny`: it sent a frame);
 * - onStatus("connecting" | "reconnecting" | "live"): "live" only through live(socket), when the
 *   owner has applied what it needed to;
 * - onSignedOut(): the server closed the socket with 4001 (its session was revoked, its user
 *   disabled): no retry, since the next handshake would be refused.
 */
const SIGNED_OUT = 4001;

export class ReconnectingSocket {
  constructor({ url, backoff, heartbeat, silence, pingEvery = 0, onFrame, onDrop, onStatus, onSignedOut = () => {} }) {
    Object.assign(this, { url, backoff, heartbeat, silence, pingEvery, onFrame, onDrop, onStatus, onSignedOut });
    this.failures = 0;
    this.socket = null;
    this.stopped = true;
    this.pinged = 0;
    this.onOnline = () => this.reconnectNow();
    // The browser knows before the socket does: drop it at once rather than wait for a timeout.
    this.onOffline = () => this.socket && this.drop(this.socket);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "leaving");
  }

  connect() {
    if (this.stopped) return;
    this.onStatus(this.failures ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${this.url()}`);
    this.socket = socket;
    socket.heardAny = false;
    socket.addEventListener("open", () => {
      this.heard = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.keepAlive(socket), this.heartbeat);
    });
    socket.addEventListener("message", (message) => {
      if (socket !== this.socket) return;
      this.heard = Date.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      // An error frame is no sign of a working feed: a socket opened while the server cannot
      // serve is told `unavailable` and closed, and must not reset the backoff or say "live".
      const first = !socket.heardAny && frame.type !== "error";
      if (first) {
        socket.heardAny = true;
        this.failures = 0;
      }
      this.onFrame(frame, first, socket);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === SIGNED_OUT && socket === this.socket) {
        this.stop();
        this.onSignedOut();
      } else {
        this.drop(socket);
      }
    });
  }

  /** Says "live" if `socket` is still the current one. */
  live(socket) {
    if (socket === this.socket) this.onStatus("live");
  }

  /** Forgets `socket` (closed, or known to be dead) and schedules the next attempt. */
  drop(socket) {
    if (socket !== this.socket || this.stopped) return;
    this.socket = null;
    clearInterval(this.pingTimer);
    if (socket.readyState <= WebSocket.OPEN) socket.close(4000, "dropped");
    this.failures += 1;
    this.onStatus("reconnecting");
    this.onDrop(socket.heardAny);
    const delay = this.backoff[Math.min(this.failures - 1, this.backoff.length - 1)];
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay * (0.8 + Math.random() * 0.4));
  }

  reconnectNow() {
    this.failures = 0; // the network is back: the next attempt should not wait long
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  keepAlive(socket) {
    if (Date.now() - this.heard > this.silence) {
      this.drop(socket); // a half-open connection: start over
      return;
    }
    if (socket.readyState === WebSocket.OPEN && Date.now() - this.pinged > this.pingEvery) {
      this.pinged = Date.now();
      socket.send(JSON.stringify({ type: "ping" }));
    }
  }
}
