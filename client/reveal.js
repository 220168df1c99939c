// A finished room: the whole canvas, a PNG download, the share link, and a timelapse that
// replays the tiles in the order they were painted, with each author and prompt. On the room
// page the host may present it: every open page of the room follows the host's frame
// (docs/protocol.md, "Presenting the reveal"), and anyone may leave and follow again.
import { announce, h, playerColour, toast } from "./dom.js";
import { memberName } from "./roomstate.js";
import { copyText } from "./invite.js";

const FRAME_MS = 1100;

export class Reveal {
  /**
   * `live` (the room page, with its socket): `{ userId, send(body) }`, where send() gives a frame
   * to the room's socket and says whether it could; without it, a reveal of one's own.
   */
  constructor(room, board, live = null) {
    this.room = room;
    this.board = board;
    this.tiles = [...room.tiles].sort((a, b) => a.position - b.position);
    this.index = this.tiles.length; // how many tiles the board shows
    board.setFrame(this.tiles.map((tile) => [tile.x, tile.y])); // the timelapse keeps the final framing
    this.caption = h("p.timelapse-caption", { "aria-live": "polite" });
    this.playButton = h("button.primary", { type: "button", onclick: () => this.toggle() }, "▶ Play timelapse");
    this.scrubber = h("input", {
      type: "range", id: "timelapse-scrubber", min: "0", max: String(this.tiles.length),
      value: String(this.tiles.length), "aria-label": "Timelapse position (tiles shown)",
    });
    this.scrubber.addEventListener("input", () => {
      this.pause();
      this.show(Number(this.scrubber.value), false);
    });
    const shareUrl = `${location.origin}/share/${room.id}`;
    // It scrolls when the story is long: focusable, so that the keyboard can scroll it too.
    this.story = h("ol.story", this.tiles.length ? { tabindex: "0", "aria-labelledby": "story-title" } : {}, this.tiles.map((tile, i) => h("li", { dataset: { index: i } },
      h("span.avatar.small", { style: { background: playerColour(tile.author_id) }, "aria-hidden": "true" }),
      h("span", {}, h("strong", {}, memberName(room, tile.author_id)), " ", h("q", {}, tile.prompt)))));
    this.el = h("section.reveal", { "aria-labelledby": "reveal-title" },
      h("h2", { id: "reveal-title" }, "The reveal"),
      h("p.reveal-lede", {}, this.tiles.length
        ? `${count(this.tiles.length, "tile")} by ${count(new Set(this.tiles.map((t) => t.author_id)).size, "player")}.`
        : "No tiles were painted in this room."),
      h("div.reveal-actions", {},
        this.tiles.length ? this.playButton : null,
        this.tiles.length ? h("a.button", {
          href: `/api/rooms/${room.id}/canvas.png?max=full`, download: `${slug(room.name)}.png`,
        }, "⬇ Download PNG") : null,
        this.tiles.length ? h("a.button", {
          href: `/api/rooms/${room.id}/timelapse.webp`, download: `${slug(room.name)}-timelapse.webp`,
        }, "⬇ Download the timelapse") : null,
        shareButton(room, shareUrl)),
      this.tiles.length ? h("div.timelapse", {}, h("label", { for: "timelapse-scrubber" }, "Timelapse"),
        this.scrubber, this.caption) : null,
      this.tiles.length ? h("h3", { id: "story-title" }, "The story, tile by tile") : null,
      this.story);
    this.presenter = live && this.tiles.length ? new Presenter(this, room, live) : null;
    if (this.presenter) this.el.insertBefore(this.presenter.el, this.el.querySelector(".timelapse"));
  }

  /** A `present` frame from the room's socket. */
  present(frame) {
    this.presenter?.take(frame);
  }

  destroy() {
    this.pause();
  }

  toggle() {
    if (this.timer) this.pause();
    else this.play();
  }

  play() {
    if (this.index >= this.tiles.length) this.show(0, false);
    this.el.classList.add("playing");
    this.playButton.textContent = "❚❚ Pause";
    this.timer = setInterval(() => {
      if (this.index >= this.tiles.length) {
        this.pause();
        this.caption.textContent = "The end. Play it again?";
        return;
      }
      this.show(this.index + 1, true);
    }, FRAME_MS);
    this.show(Math.min(this.index + 1, this.tiles.length), true);
  }

  pause() {
    clearInterval(this.timer);
    this.timer = null;
    this.el.classList.remove("playing");
    this.playButton.textContent = "▶ Play timelapse";
  }

  /** Shows the first `count` tiles; the last of them is captioned. */
  show(count, animate) {
    this.index = count;
    this.scrubber.value = String(count);
    const shown = this.tiles.slice(0, count);
    this.board.setTiles(shown.slice(0, -1));
    if (shown.length) this.board.addTile(shown[shown.length - 1], animate);
    this.board.follow = true;
    this.board.fit();
    const tile = shown[shown.length - 1];
    this.caption.textContent = tile
      ? `Tile ${count} of ${this.tiles.length}: ${memberName(this.room, tile.author_id)} wrote “${tile.prompt}”`
      : "A blank canvas…";
    this.story.querySelectorAll("li").forEach((li) =>
      li.classList.toggle("current", Number(li.dataset.index) === count - 1));
  }
}

/**
 * The shared reveal on one page: the host's controls, or for everyone else a banner saying who
 * presents, with "Leave the presentation" / "Follow again". The server's frames decide what is
 * shown, the host's too, so that every page shows the same; each change is announced once.
 */
class Presenter {
  constructor(reveal, room, { userId, send }) {
    this.reveal = reveal;
    this.send = send;
    this.host = room.host_id === userId;
    this.name = memberName(room, room.host_id);
    this.shown = null; // the frame presented now ({frame, of}), or null
    this.following = true;
    this.wanted = null; // the frame the host asked for last, until it comes back
    const button = (text, onclick, attrs = {}) => h("button", { type: "button", onclick, ...attrs }, text);
    if (this.host) {
      this.startButton = button("📽 Present to everyone", () => this.ask(0), { class: "primary" });
      this.back = button("◀ Back", () => this.step(-1), { "aria-label": "Back one tile" });
      this.next = button("Next ▶", () => this.step(1), { "aria-label": "Next tile" });
      this.status = h("p.presenter-status");
      this.bar = h("div.presenter-bar", { role: "group", "aria-label": "Presenting to everyone", hidden: true },
        this.status, this.back, this.next, button("Stop presenting", () => this.ask(null)));
      this.el = h("div.presenter", {}, this.startButton, this.bar);
    } else {
      this.words = h("p.presenter-status");
      this.toggle = button("Leave the presentation", () => this.follow(!this.following));
      this.el = h("div.presenter.presenting-banner", { hidden: true }, this.words, this.toggle);
    }
  }

  ask(frame) {
    this.wanted = frame;
    if (!this.send({ type: "present", frame })) {
      this.wanted = null;
      toast("Not connected to the room: try again in a moment.", "bad");
    }
  }

  step(delta) {
    const from = this.wanted ?? this.shown?.frame ?? 0;
    const frame = Math.max(0, Math.min(this.reveal.tiles.length, from + delta));
    if (frame !== from) this.ask(frame);
  }

  follow(following) {
    this.following = following;
    if (following && this.shown) this.apply(this.shown.frame, "");
    else this.render();
  }

  take({ frame, of }) {
    const focused = this.el.contains(document.activeElement);
    if (frame === this.wanted) this.wanted = null;
    if (frame === null) {
      if (!this.shown) return;
      this.shown = null;
      this.following = true;
      this.wanted = null;
      this.render();
      announce(this.host ? "You stopped presenting." : `${this.name} stopped presenting.`);
    } else {
      const starting = !this.shown;
      this.shown = { frame, of };
      if (this.host || this.following) {
        this.apply(frame, starting ? (this.host ? "You are presenting. " : `${this.name} is presenting. `) : "");
      } else {
        this.render();
      }
    }
    if (focused) this.keepFocus();
  }

  /** The host's button just pressed may be hidden or disabled now: the focus moves to one that is not. */
  keepFocus() {
    const usable = (node) => node && this.el.contains(node) && !node.disabled && !node.closest("[hidden]");
    if (usable(document.activeElement)) return;
    [this.next, this.back, this.startButton, ...this.el.querySelectorAll("button")].find(usable)?.focus();
  }

  /** Shows `frame` and says it, once (the caption stops speaking while it follows the host). */
  apply(frame, lead) {
    const reveal = this.reveal;
    const count = Math.min(frame, reveal.tiles.length);
    reveal.pause();
    this.render(); // first: the caption falls silent before it changes
    const moved = count !== reveal.index;
    if (moved) reveal.show(count, count === reveal.index + 1);
    if (moved || lead) announce(`${lead}${reveal.caption.textContent}`);
  }

  render() {
    const reveal = this.reveal;
    const presenting = Boolean(this.shown);
    const driven = presenting && (this.host || this.following);
    reveal.el.classList.toggle("presented", driven);
    reveal.caption.setAttribute("aria-live", driven ? "off" : "polite");
    reveal.playButton.disabled = driven;
    reveal.scrubber.disabled = driven;
    const where = presenting ? `tile ${this.shown.frame} of ${this.shown.of}` : "";
    if (this.host) {
      this.startButton.hidden = presenting;
      this.bar.hidden = !presenting;
      this.status.textContent = presenting ? `Everyone sees ${where}.` : "";
      this.back.disabled = !presenting || this.shown.frame <= 0;
      this.next.disabled = !presenting || this.shown.frame >= reveal.tiles.length;
      return;
    }
    this.el.hidden = !presenting;
    this.words.textContent = !presenting ? "" : this.following
      ? `${this.name} is presenting (${where}).`
      : `${this.name} is presenting (${where}). You left the presentation.`;
    this.toggle.textContent = this.following ? "Leave the presentation" : "Follow again";
  }
}

/** Phones share through the system's own sheet; elsewhere the link is copied. */
function shareButton(room, url) {
  const native = typeof navigator.share === "function";
  return h("button", { type: "button", onclick: async () => {
    if (native) {
      try {
        await navigator.share({ title: `${room.name} · EXQUISITE`, text: "An exquisite corpse we painted together.", url });
        return;
      } catch (error) {
        if (error.name === "AbortError") return; // the sheet was closed
      }
    }
    toast(await copyText(url) ? "Share link copied." : `Share link: ${url}`, "good");
  } }, native ? "Share…" : "Copy share link");
}

const count = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "exquisite";
}
