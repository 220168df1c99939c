// The room's title bar: name, mode and status, the connection state, the invite link and the
// host's start and finish buttons.
import { api, ApiError } from "./api.js";
import { h, toast } from "./dom.js";
import { inviteBox } from "./invite.js";
import { isMember } from "./roomstate.js";
import { FINISHED_BY_HOST, refusalMessage, STARTED, STATUS_LABELS } from "./words.js";

const CONNECTION_LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

export class RoomHeader {
  /** `onRoom(room)` receives the snapshot a host action answers with. */
  constructor(room, onRoom) {
    this.onRoom = onRoom;
    this.title = h("h1.room-title", {}, room.name);
    this.mode = h("span.chip.mode");
    this.status = h("span.chip.status");
    this.count = h("span.chip.count");
    this.connection = h("span.connection", { role: "status", id: "connection", hidden: true });
    this.startButton = h("button.primary", { type: "button", id: "start-game", hidden: true,
      onclick: () => this.host("start", STARTED) }, "▶ Start the game");
    this.finishButton = h("button.danger", { type: "button", id: "finish-game", hidden: true,
      onclick: () => this.confirmFinish() }, "Finish the game");
    this.inviteSlot = h("div.invite-slot");
    this.watching = h("p.watching", { hidden: true }, "You are watching this room as a spectator.");
    this.el = h("header.room-header", {},
      h("div.room-heading", {}, h("a.back", { href: "/", "data-link": true }, "← Lobby"), this.title,
        h("div.chips", {}, this.mode, this.status, this.count, this.connection)),
      h("div.host-actions", {}, this.startButton, this.finishButton),
      this.watching, this.inviteSlot);
  }

  update(room, me) {
    this.room = room;
    const member = isMember(room, me);
    const host = me && room.host_id === me.id;
    this.mode.textContent = room.mode === "folded" ? "🂠 Folded" : "◧ Open";
    this.mode.title = room.mode === "folded"
      ? "Folded: each player sees only the edge they continue, until the reveal"
      : "Open: everyone sees the whole canvas";
    this.status.textContent = STATUS_LABELS[room.status];
    this.status.dataset.status = room.status;
    this.count.textContent = `${room.tile_count} / ${room.max_steps} tiles`;
    this.startButton.hidden = !(host && room.status === "lobby");
    this.finishButton.hidden = !(host && room.status === "playing");
    this.watching.hidden = member || !me || room.status === "finished";
    const inviting = member && room.invite_code && room.status !== "finished";
    if (inviting && !this.inviteSlot.firstChild) this.inviteSlot.append(inviteBox(room));
    if (!inviting) this.inviteSlot.replaceChildren();
    this.inviteSlot.classList.toggle("prominent", room.status === "lobby");
  }

  setConnection(state) {
    this.connection.hidden = false;
    this.connection.textContent = CONNECTION_LABELS[state];
    this.connection.dataset.state = state;
  }

  confirmFinish() {
    // Two presses, not a dialog: keyboard-friendly and impossible to trigger by accident.
    if (this.finishButton.dataset.armed) {
      delete this.finishButton.dataset.armed;
      this.host("finish", FINISHED_BY_HOST);
      return;
    }
    this.finishButton.dataset.armed = "yes";
    this.finishButton.textContent = "Really finish? Press again";
    setTimeout(() => {
      delete this.finishButton.dataset.armed;
      this.finishButton.textContent = "Finish the game";
    }, 4000);
  }

  async host(action, done) {
    const button = action === "start" ? this.startButton : this.finishButton;
    button.disabled = true;
    try {
      const { room } = await api("POST", `/api/rooms/${this.room.id}/${action}`);
      toast(done, "good");
      this.onRoom(room);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      toast(refusalMessage(error), "bad");
    } finally {
      button.disabled = false;
    }
  }
}
