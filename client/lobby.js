// The lobby: my rooms (status, whose turn, unread activity), open rooms to watch, a new room.
import { api, ApiError } from "./api.js";
import { ago, h } from "./dom.js";
import { clearErrors, showFieldError } from "./forms.js";
import { navigate } from "./router.js";
import { lastSeen } from "./session.js";
import { STATUS_LABELS } from "./words.js";

const REFRESH_MS = 8000;

export function lobbyView(root, user) {
  const mine = h("ul.room-list", { id: "my-rooms", "aria-live": "polite" });
  const watchable = h("ul.room-list", { id: "open-rooms" });
  const form = createForm();
  root.append(h("div.lobby", {},
    h("section.lobby-hero", {},
      h("h1", {}, `Hi ${user.display_name}!`),
      h("p", {}, "Start a canvas with friends, or jump into a room you are playing.")),
    h("div.lobby-grid", {},
      h("div.lobby-lists", {},
        h("section", { "aria-labelledby": "mine-title" }, h("h2", { id: "mine-title" }, "Your rooms"), mine),
        h("section", { "aria-labelledby": "watch-title" },
          h("h2", { id: "watch-title" }, "Open rooms to watch"), watchable)),
      h("section.card", { "aria-labelledby": "create-title" }, h("h2", { id: "create-title" }, "New room"), form))));

  let stopped = false;
  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    try {
      const { rooms } = await api("GET", "/api/rooms");
      if (stopped) return;
      fill(mine, rooms.filter((r) => r.member), user, "No rooms yet. Create one, or open an invite link from a friend.");
      fill(watchable, rooms.filter((r) => !r.member), user, "Nobody is playing an open room right now.");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }
  const onVisible = () => document.visibilityState === "visible" && refresh();
  document.addEventListener("visibilitychange", onVisible);
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}

function fill(list, rooms, user, emptyText) {
  list.replaceChildren(...(rooms.length ? rooms.map((room) => roomItem(room, user)) : [h("li.empty", {}, emptyText)]));
}

function roomItem(room, user) {
  const unread = room.member && room.seq > lastSeen(room.id);
  const myTurn = room.turn?.player_id === user.id;
  let whose = "";
  if (room.status === "playing") whose = myTurn ? "Your turn!" : `${room.turn?.player_name ?? "Someone"}'s turn`;
  else if (room.status === "lobby") whose = "Waiting to start";
  else whose = "See the reveal";
  return h("li", {},
    h(`a.room-item${myTurn ? ".my-turn" : ""}`, { href: `/rooms/${room.id}`, "data-link": true, dataset: { roomId: room.id } },
      h("span.room-item-main", {},
        h("span.room-name", {}, room.name),
        h("span.room-meta", {},
          `${room.mode === "folded" ? "Folded" : "Open"} · ${room.member_count} ${room.member_count === 1 ? "player" : "players"} · ${room.tile_count}/${room.max_steps} tiles · ${ago(room.created_at)}`)),
      h("span.room-item-side", {},
        h("span.chip.status", { dataset: { status: room.status } }, STATUS_LABELS[room.status]),
        h("span.whose", {}, room.member ? whose : "Watch →"),
        unread ? h("span.unread", { title: "New activity since you last looked" }, "new") : null)));
}

function field(id, label, control, hint) {
  return h("div.field", {}, h("label", { for: id }, label), control,
    hint ? h("small.hint", {}, hint) : null,
    h("p.field-error", { dataset: { for: control.name } }));
}

function createForm() {
  const modes = ["open", "folded"].map((mode) => h("label.mode-option", {},
    h("input", { type: "radio", name: "mode", value: mode, checked: mode === "open" }),
    h("span", {}, h("strong", {}, mode === "open" ? "Open" : "Folded"),
      h("small", {}, mode === "open" ? "Everyone sees the whole canvas." : "Each player sees only their edge, until the reveal."))));
  const form = h("form.create-room", { id: "create-room", novalidate: true },
    field("room-name", "Room name", h("input", { id: "room-name", name: "name", required: true, maxlength: "80", placeholder: "Friday night doodles" })),
    h("fieldset.modes", {}, h("legend", {}, "Mode"), ...modes, h("p.field-error", { dataset: { for: "mode" } })),
    h("div.field-row", {},
      field("tile-size", "Tile size", h("select", { id: "tile-size", name: "tile_size" },
        ["256", "512", "1024"].map((size) => h("option", { value: size, selected: size === "512" }, `${size} px`)))),
      field("max-steps", "Tiles in all", h("input", { id: "max-steps", name: "max_steps", type: "number", min: "1", max: "64", value: "16", inputmode: "numeric" }))),
    field("turn-seconds", "Seconds per turn",
      h("input", { id: "turn-seconds", name: "turn_seconds", type: "number", min: "10", max: "86400", placeholder: "no limit", inputmode: "numeric" }),
      "Leave empty for no time limit (10 to 86400)."),
    h("p.form-error", { role: "alert" }),
    h("button.primary.big", { type: "submit" }, "Create room"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = new FormData(form);
    const number = (name) => (data.get(name) === "" ? null : Number(data.get(name)));
    const body = {
      name: data.get("name"), mode: data.get("mode"), tile_size: number("tile_size"),
      max_steps: number("max_steps") ?? 16, turn_seconds: number("turn_seconds"),
    };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { room } = await api("POST", "/api/rooms", body);
      navigate(`/rooms/${room.id}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showFieldError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
