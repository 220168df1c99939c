// One websocket per room tab (DESIGN.md section 6): ordered events, gap filling, reconnects.
import { api } from "./api.js";

const BACKOFF_MS = [300, 1000, 2000, 4000, 8000, 12000];
const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 45000;

/**
 * Delivers a room's events to `handlers` exactly once and in seq order, whatever the socket does.
 *
 * handlers: snapshot(room), event(event), presence(frame), progress(frame), error(frame),
 * status("connecting" | "live" | "reconnecting").
 * Every frame goes through one promise chain, so a gap fetch finishes before anything newer applies.
 */
export class RoomFeed {
  constructor(roomId, seq, handlers) {
    this.roomId = roomId;
    this.seq = seq;
    this.handlers = handlers;
    this.queue = Promise.resolve();
    this.failures = 0;
    this.stopped = false;
    this.socket = null;
    this.onOnline = () => this.reconnectNow();
    // The browser knows before the socket does: drop it at once rather than wait for a timeout.
    this.onOffline = () => this.socket && this.drop(this.socket);
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
  }

  start() {
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.socket?.close(1000, "leaving");
  }

  connect() {
    if (this.stopped) return;
    this.status(this.failures ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/rooms/${this.roomId}?after=${this.seq}`);
    this.socket = socket;
    let first = true;
    socket.addEventListener("message", (message) => {
      if (socket !== this.socket) return;
      this.heard = Date.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      this.enqueue(() => this.handle(frame));
      if (first) {
        first = false;
        this.failures = 0;
        // Live only after the first frame (the snapshot or the first missed event) is applied.
        this.enqueue(async () => socket === this.socket && this.status("live"));
      }
    });
    socket.addEventListener("open", () => {
      this.heard = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.keepAlive(socket), PING_EVERY_MS);
    });
    socket.addEventListener("close", () => this.drop(socket));
  }

  /** Forgets `socket` (closed, or known to be dead) and schedules the next attempt. */
  drop(socket) {
    if (socket !== this.socket || this.stopped) return;
    this.socket = null;
    clearInterval(this.pingTimer);
    if (socket.readyState <= WebSocket.OPEN) socket.close(4000, "dropped");
    this.failures += 1;
    this.status("reconnecting");
    // While the socket is down, catch up over HTTP so the page is not frozen in the past.
    this.enqueue(() => this.catchUp().catch(() => {}));
    const delay = BACKOFF_MS[Math.min(this.failures - 1, BACKOFF_MS.length - 1)];
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
    if (Date.now() - this.heard > SILENCE_LIMIT_MS) {
      this.drop(socket); // a half-open connection: start over
      return;
    }
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
  }

  status(state) {
    this.state = state;
    this.handlers.status(state);
  }

  enqueue(task) {
    this.queue = this.queue.then(task).catch((error) => console.warn("room feed:", error));
    return this.queue;
  }

  async handle(frame) {
    switch (frame.type) {
      case "snapshot":
        this.seq = frame.room.seq; // the server's word wins, even over a newer-looking seq
        this.handlers.snapshot(frame.room);
        break;
      case "event":
        if (frame.seq <= this.seq) return;
        if (frame.seq > this.seq + 1) await this.catchUp();
        if (frame.seq === this.seq + 1) this.apply(frame);
        else if (frame.seq > this.seq) await this.loadSnapshot();
        break;
      case "presence":
        this.handlers.presence(frame);
        break;
      case "progress":
        this.handlers.progress(frame);
        break;
      case "error":
        this.handlers.error(frame);
        break;
      default:
        break;
    }
  }

  apply(event) {
    this.seq = event.seq;
    this.handlers.event(event);
  }

  /** Fetches and applies the events after the last one applied. */
  async catchUp() {
    const { events } = await api("GET", `/api/rooms/${this.roomId}/events?after=${this.seq}`);
    for (const event of events) {
      if (event.seq === this.seq + 1) this.apply(event);
    }
  }

  async loadSnapshot() {
    this.take(await api("GET", `/api/rooms/${this.roomId}`));
  }

  take(room) {
    if (room.seq < this.seq) return; // older than what is shown already
    this.seq = room.seq;
    this.handlers.snapshot(room);
  }

  /** Applies a snapshot from elsewhere (an HTTP answer), in order with the events. */
  offer(room) {
    return this.enqueue(() => this.take(room));
  }

  /** Replaces the state with a fresh snapshot, in order with the events. */
  resync() {
    return this.enqueue(() => this.loadSnapshot());
  }
}
