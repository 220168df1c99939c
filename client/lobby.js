// The lobby: my rooms (status, whose turn, unread activity), open rooms to watch (paged), a new
// room, the daily allowance and the credit history.
import { api, ApiError } from "./api.js";
import { ago, announce, h } from "./dom.js";
import { clearErrors, showFieldError } from "./forms.js";
import { navigate } from "./router.js";
import { lastSeen, leaveNote, onUserChange, refreshUser } from "./session.js";
import { LEDGER_KINDS, refusalMessage, STATUS_LABELS } from "./words.js";

const REFRESH_MS = 8000;

export function lobbyView(root, user) {
  // Not a live region: redrawn every few seconds, it would be read out again and again. A room
  // that becomes the viewer's turn is announced once instead.
  const mine = h("ul.room-list", { id: "my-rooms" });
  const watchable = h("ul.room-list", { id: "open-rooms" });
  const moreRooms = h("button.quiet.more", { type: "button", id: "more-open-rooms", hidden: true }, "More rooms to watch");
  const form = createForm();
  const credits = new CreditHistory(user);
  root.append(h("div.lobby", {},
    h("section.lobby-hero", {},
      h("h1", {}, `Hi ${user.display_name}!`),
      h("p", {}, "Start a canvas with friends, or jump into a room you are playing."),
      user.daily_credits > 0
        ? h("p.allowance", { id: "daily-allowance" }, h("span.coin", { "aria-hidden": "true" }),
          `Up to ${user.daily_credits} free credits a day: each day you start with at least ${user.daily_credits}.`)
        : null),
    h("div.lobby-grid", {},
      h("div.lobby-lists", {},
        h("section", { "aria-labelledby": "mine-title" }, h("h2", { id: "mine-title" }, "Your rooms"), mine),
        h("section", { "aria-labelledby": "watch-title" },
          h("h2", { id: "watch-title" }, "Open rooms to watch"), watchable, moreRooms)),
      h("div.lobby-side", {},
        h("section.card", { "aria-labelledby": "create-title" }, h("h2", { id: "create-title" }, "New room"), form),
        credits.el))));

  let stopped = false;
  let timer = null;
  // Rooms to watch: the first page comes with every refresh; "More" adds the pages after it.
  let firstPage = [];
  let extra = [];
  let cursor = null; // where the next page of rooms to watch starts, or null on the last
  let paged = false; // "More" was pressed: the cursor is the last page's, not the first's
  const showWatchable = () => {
    const seen = new Set();
    const rooms = [...firstPage, ...extra].filter((room) => !seen.has(room.id) && seen.add(room.id));
    fill(watchable, rooms, user, "Nobody is playing an open room right now.");
    moreRooms.hidden = !cursor;
  };
  let myTurns = null; // ids of my rooms where it is my turn, as last shown
  async function refresh() {
    clearTimeout(timer);
    try {
      const { rooms, next_cursor: next } = await api("GET", "/api/rooms");
      if (stopped) return;
      const members = rooms.filter((r) => r.member);
      fill(mine, members, user, "No rooms yet. Create one, or open an invite link from a friend.");
      const turns = new Set(members.filter((r) => r.status === "playing" && r.turn?.player_id === user.id).map((r) => r.id));
      if (myTurns) members.filter((r) => turns.has(r.id) && !myTurns.has(r.id)).forEach((r) => announce(`It is your turn in “${r.name}”.`));
      myTurns = turns;
      firstPage = rooms.filter((r) => !r.member);
      if (!paged) cursor = next ?? null;
      showWatchable();
      mine.dataset.polls = String(Number(mine.dataset.polls ?? 0) + 1); // how many answers were shown
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
    if (!stopped) timer = setTimeout(poll, REFRESH_MS);
  }
  // No socket here: the balance (a grant, the daily allowance, a purchase) is asked with the rooms.
  const poll = () => { refresh(); refreshUser(); };
  moreRooms.addEventListener("click", async () => {
    moreRooms.disabled = true;
    try {
      const { rooms, next_cursor: next } = await api("GET", `/api/rooms?cursor=${encodeURIComponent(cursor)}`);
      if (stopped) return;
      const shown = watchable.querySelectorAll("a.room-item").length;
      extra = [...extra, ...rooms.filter((r) => !r.member)];
      cursor = next ?? null;
      paged = true;
      showWatchable();
      // The focus goes to the first room that was added (or stays put if none was).
      const added = watchable.querySelectorAll("a.room-item")[shown];
      if (added) added.focus();
      else if (moreRooms.hidden) watchable.querySelector("a.room-item")?.focus();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    } finally {
      moreRooms.disabled = false;
    }
  });
  const onVisible = () => document.visibilityState === "visible" && poll();
  document.addEventListener("visibilitychange", onVisible);
  refresh();
  credits.load();
  let balance = user.credits;
  const unlisten = onUserChange((now) => {
    if (!now || now.id !== user.id || now.credits === balance) return;
    balance = now.credits;
    credits.reload(); // the entry that changed it is news
  });
  return () => {
    stopped = true;
    credits.stopped = true;
    clearTimeout(timer);
    unlisten();
    document.removeEventListener("visibilitychange", onVisible);
  };
}

function fill(list, rooms, user, emptyText) {
  const items = rooms.length ? rooms.map((room) => roomItem(room, user)) : [h("li.empty", {}, emptyText)];
  // Nothing changed: nothing is redrawn (a redraw loses the focus and the reader's place).
  const drawn = items.map((item) => item.outerHTML).join("");
  if (list.dataset.drawn === drawn) return;
  list.dataset.drawn = drawn;
  // Redrawing drops the focus; put it back on the same room if it was on one.
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.roomId : null;
  list.replaceChildren(...items);
  if (focused) list.querySelector(`a[data-room-id="${focused}"]`)?.focus();
}

/** The signed-in user's ledger, newest first, a page at a time. */
class CreditHistory {
  constructor(user) {
    this.user = user;
    this.cursor = null;
    // It scrolls: focusable, so that the keyboard can scroll it too.
    this.list = h("ol.ledger", { id: "ledger", tabindex: "0", "aria-labelledby": "ledger-title" });
    this.more = h("button.quiet.more", { type: "button", id: "more-ledger", hidden: true, onclick: () => this.load(true) }, "More");
    this.status = h("p.hint", { role: "status" }, "Loading…");
    this.el = h("section.card.credit-history", { "aria-labelledby": "ledger-title" },
      h("h2", { id: "ledger-title" }, "Credit history"),
      h("p.hint", {}, "Each tile you paint costs a credit; a tile that fails is refunded."),
      this.list, this.status, this.more);
  }

  /** Loads the first page again, in place of what is shown. */
  async reload() {
    if (this.loading) return;
    this.cursor = null;
    await this.load(false, true);
  }

  async load(more = false, replace = false) {
    this.loading = true;
    this.more.disabled = true;
    try {
      const query = more && this.cursor ? `?cursor=${encodeURIComponent(this.cursor)}` : "";
      const { entries, next_cursor: next } = await api("GET", `/api/me/ledger${query}`);
      if (this.stopped) return;
      const shown = this.list.children.length;
      if (replace) this.list.replaceChildren();
      this.list.append(...entries.map((entry) => ledgerItem(entry)));
      this.cursor = next ?? null;
      this.more.hidden = !this.cursor;
      this.status.textContent = this.list.children.length ? "" : "Nothing yet.";
      if (more) (this.list.children[shown] ?? this.list.lastElementChild)?.focus();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (!this.stopped) this.status.textContent = `The credit history could not be loaded: ${refusalMessage(error)}`;
    } finally {
      this.more.disabled = false;
      this.loading = false;
    }
  }
}

function ledgerItem(entry) {
  const amount = entry.amount > 0 ? `+${entry.amount}` : `−${Math.abs(entry.amount)}`;
  const what = LEDGER_KINDS[entry.kind] ?? entry.kind.replace(/_/g, " ");
  return h("li", { tabindex: "-1", dataset: { kind: entry.kind } },
    h(`span.ledger-amount${entry.amount > 0 ? ".plus" : ".minus"}`, {},
      amount, h("span.visually-hidden", {}, Math.abs(entry.amount) === 1 ? " credit" : " credits")),
    h("span.ledger-what", {}, what,
      entry.room_id ? [" · ", h("a", { href: `/rooms/${entry.room_id}`, "data-link": true }, "the room")] : null),
    h("time.ledger-when", { datetime: entry.at, title: new Date(entry.at).toLocaleString() }, ago(entry.at)));
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
      const { room, warning } = await api("POST", "/api/rooms", body);
      if (warning) leaveNote(room.id, warning); // the room page shows it
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
