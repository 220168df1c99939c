// /share/{room}: a read-only page for a finished room, readable without an account.
import { api, ApiError } from "./api.js";
import { Board } from "./board.js";
import { h } from "./dom.js";
import { Reveal } from "./reveal.js";
import { memberName } from "./roomstate.js";

export function shareView(root, user, [, roomId]) {
  let reveal = null;
  let board = null;
  let stopped = false;
  (async () => {
    let room;
    try {
      room = await api("GET", `/api/rooms/${roomId}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      room = null;
    }
    if (stopped) return;
    if (!room || room.status !== "finished") {
      root.append(h("section.card.narrow", {}, h("h1", {}, "Not ready to share"),
        h("p", {}, "This canvas is still being painted, or it does not exist. Come back when the game is over."),
        h("p", {}, h("a", { href: "/", "data-link": true }, user ? "Back to the lobby" : "Play EXQUISITE"))));
      return;
    }
    board = new Board(room.tile_size, (tile) => `Tile by ${memberName(room, tile.author_id)}: ${tile.prompt}`);
    reveal = new Reveal(room, board);
    // Everyone who played, and those who left after painting: their tiles are on the canvas too.
    const authors = new Set(room.tiles.map((tile) => tile.author_id));
    const former = (room.former_members ?? []).filter((m) => authors.has(m.user_id));
    const players = [...room.members, ...former].map((m) => m.display_name).join(", ");
    root.append(h("div.share-page", {},
      h("header.share-header", {}, h("p.kicker", {}, "An exquisite corpse"), h("h1.room-title", {}, room.name),
        h("p", {}, `Painted by ${players}.`)),
      h("div.room-grid", {}, h("section.stage", { "aria-label": "Canvas" }, board.el),
        h("aside.sidebar", {}, reveal.el,
          h("p.share-cta", {}, h("a.button.primary", { href: "/", "data-link": true }, "Start your own canvas"))))));
    board.setTiles(reveal.tiles);
    document.title = `${room.name} · EXQUISITE`;
  })();
  return () => {
    stopped = true;
    reveal?.destroy();
    board?.destroy();
  };
}
