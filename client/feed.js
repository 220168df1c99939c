// One websocket per room tab (docs/protocol.md): ordered events, gap filling, reconnects.
import { api } from "./api.js";
import { refreshUser } from "./session.js";
import { ReconnectingSocket } from "./socket.js";

const BACKOFF_MS = [300, 1000, 2000, 4000, 8000, 12000];
const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 45000;

/**
 * Delivers a room's events to `handlers` exactly once and in seq order, whatever the socket does.
 *
 * handlers: snapshot(room), event(event), presence(frame), progress(frame), error(frame),
 * account(frame), present(frame), status("connecting" | "live" | "reconnecting").
 * Every frame goes through one promise chain, so a gap fetch finishes before anything newer applies.
 */
export class RoomFeed {
  constructor(roomId, seq, handlers) {
    this.roomId = roomId;
    this.seq = seq;
    this.handlers = handlers;
    this.queue = Promise.resolve();
    this.link = new ReconnectingSocket({
      // Every attempt resumes after the last event applied.
      url: () => `/ws/rooms/${this.roomId}?after=${this.seq}`,
      backoff: BACKOFF_MS,
      heartbeat: PING_EVERY_MS,
      silence: SILENCE_LIMIT_MS,
      onFrame: (frame, first, socket) => {
        this.enqueue(() => this.handle(frame));
        // Live only after the first frame (the snapshot or the first missed event) is applied.
        if (first) this.enqueue(async () => this.link.live(socket));
      },
      // While the socket is down, catch up over HTTP so the page is not frozen in the past.
      onDrop: () => this.enqueue(() => this.catchUp().catch(() => {})),
      onStatus: (state) => this.status(state),
      // Signed out elsewhere (or disabled): the page learns who is here now, and redraws for it.
      onSignedOut: () => refreshUser(),
    });
  }

  start() {
    this.link.start();
  }

  stop() {
    this.link.stop();
  }

  /** Gives `body` to the open socket (a `present` frame); false when there is none. */
  send(body) {
    const socket = this.link.socket;
    if (socket?.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(body));
    return true;
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
      case "account":
        this.handlers.account?.(frame);
        break;
      case "present":
        this.handlers.present?.(frame);
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

  /**
   * After an action of ours answered by `room`: first the events it caused (so the page says what
   * happened, even if the answer beat the socket), then the answer itself if it is still news.
   */
  follow(room) {
    return this.enqueue(async () => {
      try {
        await this.catchUp();
      } catch {
        // Offline: the snapshot below still shows where things stand.
      }
      this.take(room);
    });
  }

  /** Replaces the state with a fresh snapshot, in order with the events. */
  resync() {
    return this.enqueue(() => this.loadSnapshot());
  }
}
