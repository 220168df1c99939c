// A finished room: the whole canvas, a PNG download, the share link, and a timelapse that
// replays the tiles in the order they were painted, with each author and prompt.
import { h, playerColour, toast } from "./dom.js";
import { memberName } from "./roomstate.js";
import { copyText } from "./invite.js";

const FRAME_MS = 1100;

export class Reveal {
  constructor(room, board) {
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
          href: `/api/rooms/${room.id}/canvas.png`, download: `${slug(room.name)}.png`,
        }, "⬇ Download PNG") : null,
        h("button", { type: "button", onclick: async () => {
          toast(await copyText(shareUrl) ? "Share link copied." : `Share link: ${shareUrl}`, "good");
        } }, "Copy share link")),
      this.tiles.length ? h("div.timelapse", {}, h("label", { for: "timelapse-scrubber" }, "Timelapse"),
        this.scrubber, this.caption) : null,
      this.tiles.length ? h("h3", { id: "story-title" }, "The story, tile by tile") : null,
      this.story);
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

const count = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "exquisite";
}
