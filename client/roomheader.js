// The room's title bar: name, mode, status and host, the connection state, the invite link, the
// host's start, skip, finish and play-again buttons, every member's Leave, and the rematch link.
import { api, ApiError } from "./api.js";
import { h, toast } from "./dom.js";
import { inviteBox } from "./invite.js";
import { navigate } from "./router.js";
import { isHost, isMember, memberName } from "./roomstate.js";
import { FINISHED_BY_HOST, refusalMessage, STARTED, STATUS_LABELS } from "./words.js";

const CONNECTION_LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

export class RoomHeader {
  /**
   * `onRoom(room)` receives the snapshot a host action answers with; `confirm` is the page's
   * ConfirmDialog; `resync()` reloads the snapshot after a refusal that says the page is stale.
   */
  constructor(room, { onRoom, confirm, resync }) {
    this.onRoom = onRoom;
    this.confirm = confirm;
    this.resync = resync;
    this.title = h("h1.room-title", { tabindex: "-1" }, room.name);
    this.mode = h("span.chip.mode");
    this.status = h("span.chip.status");
    this.count = h("span.chip.count");
    this.hostChip = h("span.chip.host-chip", { id: "room-host" });
    this.connection = h("span.connection", { role: "status", id: "connection", hidden: true });
    this.startButton = h("button.primary", { type: "button", id: "start-game", hidden: true,
      onclick: () => this.host("start", STARTED) }, "▶ Start the game");
    this.skipButton = h("button", { type: "button", id: "skip-turn", hidden: true,
      onclick: () => this.host("skip") }, "Skip turn");
    this.finishButton = h("button.danger", { type: "button", id: "finish-game", hidden: true,
      onclick: () => this.confirmFinish() }, "Finish the game");
    this.rematchButton = h("button.primary", { type: "button", id: "play-again", hidden: true,
      onclick: () => this.rematch() }, "↻ Play again");
    this.leaveButton = h("button.quiet", { type: "button", id: "leave-room", hidden: true,
      onclick: () => this.confirmLeave() }, "Leave room");
    // Once the game runs, the invite link folds away into the toolbar: the turn needs the room.
    this.inviteMore = h("details.invite-more", { hidden: true }, h("summary", {}, "Invite friends"));
    this.actions = h("div.host-actions.room-actions", {},
      this.startButton, this.skipButton, this.finishButton, this.rematchButton, this.leaveButton, this.inviteMore);
    this.rematchLink = h("a.button.primary", { id: "rematch-link", "data-link": true }, "Rematch ready: join them");
    this.rematchSlot = h("div.rematch", { role: "status" });
    this.warning = h("div.room-warning", { role: "status", hidden: true });
    this.gone = h("p.gone-notice", { role: "status", hidden: true });
    this.inviteSlot = h("div.invite-slot");
    this.watching = h("p.watching", { hidden: true }, "You are watching this room as a spectator.");
    this.el = h("header.room-header", {},
      h("div.room-heading", {}, h("a.back", { href: "/", "data-link": true }, "← Lobby"), this.title,
        h("div.chips", {}, this.mode, this.status, this.count, this.hostChip, this.connection)),
      this.actions, this.rematchSlot, this.gone, this.warning, this.watching, this.inviteSlot);
  }

  update(room, me) {
    this.room = room;
    this.me = me;
    const member = isMember(room, me);
    const host = isHost(room, me);
    this.mode.textContent = room.mode === "folded" ? "🂠 Folded" : "◧ Open";
    this.mode.title = room.mode === "folded"
      ? "Folded: each player sees only the edge they continue, until the reveal"
      : "Open: everyone sees the whole canvas";
    this.status.textContent = STATUS_LABELS[room.status];
    this.status.dataset.status = room.status;
    this.count.textContent = `${room.tile_count} / ${room.max_steps} tiles`;
    this.hostChip.textContent = `Host: ${host ? "you" : memberName(room, room.host_id)}`;
    this.startButton.hidden = !(host && room.status === "lobby");
    const turnPlayer = room.turn?.player_id;
    this.skipButton.hidden = !(host && room.status === "playing" && !room.step && turnPlayer);
    this.skipButton.textContent = turnPlayer === me?.id ? "Skip my turn" : `Skip ${memberName(room, turnPlayer)}'s turn`;
    this.finishButton.hidden = !(host && room.status === "playing");
    this.rematchButton.hidden = !(host && room.status === "finished" && !room.rematch_id);
    this.leaveButton.hidden = !(member && room.status !== "finished");
    this.watching.hidden = member || !me || room.status === "finished" || !this.gone.hidden;
    const inviting = member && room.invite_code && room.status !== "finished";
    if (inviting && !this.invite) this.invite = inviteBox(room);
    if (!inviting) this.invite = null;
    const prominent = inviting && room.status === "lobby";
    // One box, moved: in the lobby it is the first thing to do; during play, one click away.
    if (prominent && this.invite.parentNode !== this.inviteSlot) this.inviteSlot.replaceChildren(this.invite);
    if (!prominent) this.inviteSlot.replaceChildren();
    if (inviting && !prominent && this.invite.parentNode !== this.inviteMore) this.inviteMore.append(this.invite);
    if (!inviting) this.inviteMore.querySelector(".invite")?.remove();
    this.inviteMore.hidden = !inviting || prominent;
    this.inviteSlot.classList.toggle("prominent", prominent);
    if (room.status !== "lobby") this.warning.hidden = true; // it was about the room's settings
    if (room.rematch_id) {
      this.rematchLink.href = `/rooms/${room.rematch_id}`;
      if (!this.rematchSlot.firstChild) this.rematchSlot.append(this.rematchLink);
    } else {
      this.rematchSlot.replaceChildren();
    }
  }

  setConnection(state) {
    this.connection.hidden = false;
    this.connection.textContent = CONNECTION_LABELS[state];
    this.connection.dataset.state = state;
  }

  /** Says why this viewer is no longer a player (null: they are, or never were). */
  setGone(text) {
    this.gone.hidden = !text;
    this.gone.textContent = text ?? "";
  }

  /** The warning the server gave when the room was made (e.g. not enough credits for max_steps). */
  showWarning(text) {
    const dismiss = h("button.quiet", { type: "button", onclick: () => {
      this.warning.hidden = true;
      this.title.focus();
    } }, "Got it");
    this.warning.replaceChildren(h("p", {}, h("strong", {}, "Heads up: "), text), dismiss);
    this.warning.hidden = false;
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

  confirmLeave() {
    const room = this.room;
    const me = this.me;
    const said = [room.status === "lobby"
      ? "You leave before the game starts; the invite link brings you back."
      : "You are skipped from now on; your tiles stay on the canvas."];
    if (room.status === "playing" && room.turn?.player_id === me?.id && !room.step) said.push("Your turn passes to the next player.");
    if (room.members.length === 1) said.push("You are the last player, so the game ends.");
    else if (room.host_id === me?.id) said.push("The next player becomes the host.");
    this.confirm.ask({
      title: `Leave “${room.name}”?`,
      text: said.join(" "),
      yes: "Leave room",
      no: "Stay",
      opener: this.leaveButton,
      action: async () => {
        await api("POST", `/api/rooms/${room.id}/leave`);
        toast(`You left “${room.name}”.`, "good");
        navigate("/");
      },
    });
  }

  async rematch() {
    const button = this.rematchButton;
    button.disabled = true;
    try {
      const { room } = await api("POST", `/api/rooms/${this.room.id}/rematch`);
      toast("A new game with the same players is ready.", "good");
      navigate(`/rooms/${room.id}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      toast(refusalMessage(error), "bad");
      if (error.code === "already_rematched") this.resync();
    } finally {
      button.disabled = false;
    }
  }

  /** A host action answered by the room's snapshot; `done` is said when it worked (if given). */
  async host(action, done) {
    const button = { start: this.startButton, finish: this.finishButton, skip: this.skipButton }[action];
    button.disabled = true;
    try {
      const { room } = await api("POST", `/api/rooms/${this.room.id}/${action}`);
      if (done) toast(done, "good", { quiet: true }); // the event it causes is read out in the news
      await this.onRoom(room);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      toast(refusalMessage(error), "bad");
      if (["step_in_flight", "room_not_playing", "already_started"].includes(error.code)) this.resync();
    } finally {
      button.disabled = false;
    }
    // The button may have gone with the state it belonged to: keep the focus in the toolbar.
    if (button.hidden && [document.body, button].includes(document.activeElement)) this.focusNext();
  }

  focusNext() {
    const next = [...this.actions.children].find((child) => !child.hidden);
    (next ?? this.title).focus();
  }
}
