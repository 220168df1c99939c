// The room page: one snapshot, then the live feed; composes the board, the turn card, the
// players, the host's controls and, once finished, the reveal.
import { api, ApiError, submitStep } from "./api.js";
import { Attention } from "./attention.js";
import { Board } from "./board.js";
import { ConfirmDialog } from "./confirm.js";
import { announce, h, toast } from "./dom.js";
import { RoomFeed } from "./feed.js";
import { Players } from "./players.js";
import { Reveal } from "./reveal.js";
import { RoomHeader } from "./roomheader.js";
import { applyEvent, isMember, isMyTurn, memberName, showsCanvas, targetCell } from "./roomstate.js";
import { currentUser, markSeen, refreshUser, setCredits, takeNote } from "./session.js";
import { TurnCard } from "./turn.js";
import {
  abortMessage, finishMessage, hostChangedMessage, memberLeftMessage, OUTAGE, refusalMessage, skipMessage, STARTED,
  turnSentence,
} from "./words.js";

const NEWS_KEPT = 8;
// One column (the sidebar under the canvas): the turn card docks at the bottom of the screen.
const NARROW = "(max-width: 959px)";

export class RoomPage {
  constructor(room) {
    this.room = room;
    this.live = false;
    this.pending = null; // the id of a step we sent whose start we have not seen yet
    this.seenSteps = new Set();
    this.board = new Board(room.tile_size, (tile) => `Tile by ${memberName(this.room, tile.author_id)}: ${tile.prompt}`);
    this.confirm = new ConfirmDialog();
    this.removed = new Set(); // members the host removed (a skip that follows says so)
    this.header = new RoomHeader(room, {
      onRoom: (snapshot) => this.feed.follow(snapshot),
      confirm: this.confirm,
      resync: () => this.feed.resync(),
    });
    this.turn = new TurnCard({
      onSubmit: (prompt, direction) => this.submit(prompt, direction),
      onDirection: (direction) => this.preview(direction),
      announce,
    });
    this.players = new Players({ onRemove: (member, button) => this.confirmRemove(member, button) });
    this.attention = new Attention(); // "your turn" while this tab is in the background
    this.sideSlot = h("div.side-slot");
    // What happened to the room, in words, newest first; read out as it grows.
    this.news = h("ol.news");
    this.newsCard = h("section.news-card", { "aria-labelledby": "news-title", hidden: true },
      h("h2", { id: "news-title" }, "What happened"),
      h("div", { id: "room-news", role: "log", "aria-live": "polite", "aria-relevant": "additions" }, this.news));
    this.el = h("div.room-page", {}, this.header.el,
      h("div.room-grid", {},
        this.stage = h("section.stage", { "aria-label": "Canvas" }, this.board.el),
        h("aside.sidebar", {}, this.turn.el, this.sideSlot, this.players.el, this.attention.el, this.newsCard)));
    this.feed = new RoomFeed(room.id, room.seq, {
      snapshot: (snapshot) => this.replace(snapshot),
      event: (event) => this.onEvent(event),
      presence: (frame) => { this.players.setPresence(frame); this.players.update(this.room, currentUser()); },
      progress: (frame) => this.onProgress(frame),
      error: (frame) => toast(frame.message || refusalMessage(frame), "bad"),
      account: (frame) => setCredits(frame.credits),
      // The host's shared reveal: kept for a reveal built later (a folded room's tiles arrive after).
      present: (frame) => { this.presented = frame.frame === null ? null : frame; this.reveal?.present(frame); },
      status: (state) => this.onStatus(state),
    });
    this.narrow = window.matchMedia(NARROW);
    this.onNarrow = () => this.render();
    this.narrow.addEventListener("change", this.onNarrow);
    // The docked card's height: the page keeps that much room under its content, to scroll it clear.
    this.dockObserver = new ResizeObserver(() => {
      const height = this.turn.el.classList.contains("docked") ? this.turn.el.offsetHeight : 0;
      this.el.style.setProperty("--dock-h", `${height}px`);
      document.documentElement.style.scrollPaddingBottom = height ? `${height + 16}px` : "";
    });
    this.dockObserver.observe(this.turn.el);
    const warning = takeNote(room.id);
    if (warning) this.header.showWarning(warning);
    this.replace(room);
    // A finished room changes once more at most, when its host plays again, but its host may
    // present the reveal to every page: signed in, everyone listens (signed out, no socket is allowed).
    if (room.status === "finished" && !currentUser()) this.live = true;
    else this.feed.start();
  }

  destroy() {
    this.feed.stop();
    this.narrow.removeEventListener("change", this.onNarrow);
    this.dockObserver.disconnect();
    document.documentElement.style.scrollPaddingBottom = "";
    this.confirm.destroy();
    this.turn.destroy();
    this.reveal?.destroy();
    this.attention.destroy();
    this.board.destroy();
  }

  replace(room) {
    room.progress = this.room.step && room.step?.id === this.room.step.id ? this.room.progress : null;
    room.former_members ??= [];
    this.room = room;
    const me = currentUser();
    if (me && !isMember(room, me) && room.former_members.some((m) => m.user_id === me.id) && this.header.gone.hidden) {
      this.noLongerPlaying(null);
    }
    if (this.reveal && this.reveal.tiles.length !== room.tiles.length) {
      this.reveal.destroy();
      this.reveal = null;
    }
    if (showsCanvas(room) && !this.reveal) this.board.setTiles(room.tiles);
    this.render();
  }

  onStatus(state) {
    const wasLive = this.live;
    this.live = state === "live";
    this.header.setConnection(state);
    // Without a connection nobody is known to be here: no green dot that may be a lie.
    this.players.setConnected(this.live);
    if (this.live && this.everLive && !wasLive) {
      this.turn.clearErrors(); // "the server cannot be reached" and the like are about the past
      refreshUser(); // a balance pushed while the socket was down was missed
    }
    if (this.live) this.everLive = true;
    this.render();
  }

  onProgress(frame) {
    if (!this.room.step || frame.step_id !== this.room.step.id) return;
    this.room.progress = { fraction: frame.fraction, preview: frame.preview };
    this.render();
  }

  onEvent(event) {
    const me = currentUser();
    const meId = me?.id ?? null;
    const turnBefore = this.room.turn?.player_id;
    const { kind, data } = applyEvent(this.room, event);
    const name = (userId) => memberName(this.room, userId);
    const mine = data.player_id === meId;
    switch (kind) {
      case "member.joined":
        if (data.user_id !== meId) this.announce(`${data.display_name} joined the room.`);
        break;
      case "member.left":
        if (data.reason === "removed") this.removed.add(data.user_id);
        this.announce(memberLeftMessage(data, name, meId), data.user_id === meId ? "bad" : "info");
        if (data.user_id === meId) this.noLongerPlaying(data.reason);
        if (turnBefore === data.user_id && this.room.turn?.player_id === data.user_id) {
          this.turn.say(memberLeftMessage(data, name, meId)); // the turn moves on with the next event
        }
        break;
      case "room.host_changed":
        this.announce(hostChangedMessage(data, name, meId), data.host_id === meId ? "good" : "info");
        break;
      case "room.started":
        this.announce(STARTED, "good");
        break;
      case "turn.changed":
      case "turn.skipped": {
        const whose = turnSentence(this.room, me);
        if (kind === "turn.skipped") {
          const removed = this.removed.has(data.skipped_player_id);
          const said = skipMessage(data, name, meId, removed);
          this.turn.say(said);
          // Some reasons name who is up; the others are followed by whose turn it is.
          announce(!removed && ["deadline", "no_credits"].includes(data.reason) && whose ? `${said} ${whose}` : said);
        } else if (whose) {
          announce(whose);
        }
        if (isMyTurn(this.room, me)) {
          // On a phone the turn docks on screen and says so itself.
          if (!this.narrow.matches) toast("It is your turn!", "good", { quiet: true });
          this.feed.resync(); // which directions are free now is the server's call
          this.turnBegins = true;
        }
        break;
      }
      case "turn.extended":
        this.turn.say(OUTAGE, "good");
        announce(OUTAGE);
        break;
      case "step.started":
        this.seenSteps.add(data.step_id);
        if (this.pending === data.step_id) this.pending = null;
        this.turn.say("");
        announce(mine ? "Your tile is being painted." : `${name(data.player_id)} is painting a tile.`);
        if (mine) refreshUser();
        break;
      case "step.committed": {
        if (data.tile && showsCanvas(this.room) && !this.reveal) this.board.addTile(data.tile, true);
        if (mine) this.turn.clearPrompt(); // spent; until now it stayed for a retry
        const landed = mine ? "Your tile landed on the canvas." : `${name(data.player_id)} painted a tile.`;
        this.turn.say(landed, "good");
        announce(landed);
        break;
      }
      case "step.aborted": {
        const why = abortMessage(data, mine, name(data.player_id));
        this.turn.say(why, "bad");
        announce(why);
        if (mine) {
          if (!this.narrow.matches) toast("Your tile was not painted. See why under the turn.", "bad", { quiet: true });
          refreshUser();
        }
        break;
      }
      case "room.finished":
        this.announce(finishMessage(data.reason), "good");
        this.feed.resync(); // folded rooms reveal their tiles now
        break;
      case "room.rematch":
        this.announce("Rematch ready: a new game with the same players is waiting.", "good");
        break;
      default:
        break;
    }
    this.render();
  }

  /** Says `text` in the room's news (read out) and as a toast (only seen, so it is said once). */
  announce(text, kind = "info") {
    this.newsCard.hidden = false;
    this.news.prepend(h("li", { dataset: { kind } }, text));
    while (this.news.children.length > NEWS_KEPT) this.news.lastElementChild.remove();
    toast(text, kind, { quiet: true });
  }

  /** This viewer left or was removed: no more turns; a folded room is no longer theirs to see. */
  noLongerPlaying(reason) {
    const why = { removed: "The host removed you from this room, so you can no longer play in it.", left: "You left this room." };
    this.header.setGone(why[reason] ?? "You are no longer a player in this room.");
    if (this.room.mode === "folded" && this.room.status !== "finished") {
      this.feed.stop(); // a folded room is shown to its players only
      this.header.connection.hidden = true;
    }
  }

  confirmRemove(member, button) {
    const roomId = this.room.id;
    this.confirm.ask({
      title: `Remove ${member.display_name}?`,
      text: `${member.display_name} leaves the turn order at once and cannot join this room again. Their tiles stay on the canvas.`,
      yes: `Remove ${member.display_name}`,
      opener: button,
      after: () => this.players.title,
      action: async () => {
        this.removed.add(member.user_id); // its events may come before this answer
        try {
          const { room } = await api("POST", `/api/rooms/${roomId}/members/${member.user_id}/remove`);
          await this.feed.follow(room);
        } catch (error) {
          this.removed.delete(member.user_id);
          if (error instanceof ApiError && error.code === "not_found") this.feed.resync();
          throw error;
        }
      },
    });
  }

  async submit(prompt, direction) {
    try {
      const step = await submitStep(this.room.id, { turn_nonce: this.room.turn?.nonce ?? "", prompt, direction });
      if (step.status === "running" && !this.seenSteps.has(step.id)) this.pending = step.id;
      this.render();
      refreshUser();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      error.plain = refusalMessage(error);
      if (["stale_nonce", "not_your_turn", "cell_unavailable", "step_in_flight"].includes(error.code)) this.feed.resync();
      throw error;
    }
  }

  /** The current player chose `direction`: mark its cell, or in a folded room show that edge. */
  preview(direction) {
    this.direction = direction;
    this.renderStage();
  }

  render() {
    const me = currentUser();
    const room = this.room;
    if (isMember(room, me) || room.status === "finished") markSeen(room);
    this.header.update(room, me);
    this.dock(room, me);
    this.turn.update(room, me, { live: this.live, pending: Boolean(this.pending) });
    this.players.update(room, me);
    this.renderStage();
    this.renderSide();
    const alert = isMyTurn(room, me) && !room.step ? "Your turn! · " : "";
    this.attention.update(room, me, `${alert}${room.name} · EXQUISITE`); // it sets the title
  }

  /**
   * On one column (a phone), the viewer's own turn docks at the bottom of the screen, prompt,
   * directions and "Paint it" in view, with the canvas above it; it stays there while the tile paints.
   */
  dock(room, me) {
    const mine = room.status === "playing" && me && (room.step ? room.step.player_id === me.id : isMyTurn(room, me));
    const docked = Boolean(mine && this.narrow.matches);
    const was = this.turn.el.classList.contains("docked");
    this.turn.el.classList.toggle("docked", docked);
    this.el.classList.toggle("docked", docked);
    const begins = docked && (!was || this.turnBegins);
    this.turnBegins = false;
    // The turn begins: the canvas fills the screen above the card (scrolled, not jumped, if it can be).
    if (begins && !room.step) {
      requestAnimationFrame(() => {
        if (this.el.isConnected && this.turn.el.classList.contains("docked")) this.stage.scrollIntoView({ block: "start" });
      });
    }
  }

  renderSide() {
    const room = this.room;
    // A folded room's tiles arrive with the snapshot that follows room.finished.
    const revealed = room.status === "finished" && room.tiles.length === room.tile_count;
    this.turn.el.hidden = revealed;
    if (revealed && !this.reveal) {
      const live = { userId: currentUser()?.id, send: (body) => this.feed.send(body) };
      this.reveal = new Reveal(room, this.board, live);
      this.sideSlot.replaceChildren(this.reveal.el);
      this.board.setOverlay(null);
      // Unfolding live: the tiles land one after another, in the order they were painted.
      this.board.setTiles(this.reveal.tiles, this.wasPlaying && room.mode === "folded");
      if (this.presented) this.reveal.present(this.presented);
    }
    if (room.status !== "finished") this.wasPlaying = true;
  }

  renderStage() {
    const room = this.room;
    const me = currentUser();
    if (room.status === "finished") {
      this.board.setGhost(null);
      return;
    }
    const step = room.step;
    const composing = isMyTurn(room, me) && !step && room.status === "playing" && this.direction;
    if (showsCanvas(room)) {
      this.board.setOverlay(null);
      if (step?.cell) this.board.setGhost(step.cell, "painting", room.progress?.preview);
      else if (composing) this.board.setGhost(targetCell(room, this.direction), "preview");
      else this.board.setGhost(null);
      return;
    }
    this.board.setOverlay(composing ? this.edgeView(room) : this.foldedView(room));
  }

  /** A folded room, for the player whose turn it is: only the edge they continue. */
  edgeView(room) {
    if (room.tile_count === 0) {
      return h("div.folded", {}, h("p.folded-big", {}, "✦"),
        h("p", {}, "You paint the very first tile. Nobody has drawn anything yet: start the story."));
    }
    // Only a free way has an edge to show; asking for another would only be refused.
    if (!room.free_directions?.includes(this.direction)) {
      return h("div.folded", {}, h("p.folded-big", {}, "Your turn"), h("p", {}, "Finding the edge you continue…"));
    }
    const url = `/api/rooms/${room.id}/context.png?direction=${this.direction}&turn=${room.turn.number}&tiles=${room.tile_count}`;
    if (this.edge?.dataset.url !== url) {
      this.edge = h("figure.edge", { dataset: { url } },
        h("div.edge-frame", {},
          h("img", { src: url, alt: `The edge you continue, seen from the ${this.direction}` }),
          h("div.edge-target", { "aria-hidden": "true" }, "your tile")),
        h("figcaption", {}, "Your edge: this is all you get to see. Continue the picture into the dashed square."));
    }
    return this.edge;
  }

  /** A folded room for everyone else: the paper stays folded until the reveal. */
  foldedView(room) {
    const step = room.step;
    const painter = step ? memberName(room, step.player_id) : null;
    const fraction = room.progress?.fraction ?? 0;
    return h("div.folded", {},
      h("div.paper-stack", { "aria-hidden": "true" }, h("span"), h("span"), h("span")),
      h("p.folded-big", {}, room.status === "lobby" ? "Folded room" : `${room.tile_count} ${room.tile_count === 1 ? "tile" : "tiles"} painted`),
      h("p", {}, "The canvas stays folded: each player sees only the edge they continue. Everything is revealed when the game ends."),
      step ? h("p.folded-painting", {}, `${painter} is painting…${fraction ? ` ${Math.round(fraction * 100)}%` : ""}`) : null);
  }
}
