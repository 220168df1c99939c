// The members in turn order, with presence dots, the host's marker and the spectator count; the
// host's Remove buttons; who has left.
import { h, initials, playerColour } from "./dom.js";

export class Players {
  /** `onRemove(member, button)`: the host asked to remove `member`. */
  constructor({ onRemove } = {}) {
    this.onRemove = onRemove;
    this.title = h("h2", { id: "players-title", tabindex: "-1" }, "Players");
    this.list = h("ol.players");
    this.former = h("p.former", { hidden: true });
    this.spectators = h("p.spectators");
    this.el = h("section.players-card", { "aria-labelledby": "players-title" },
      this.title, this.list, this.former, this.spectators);
    this.online = new Set();
    this.spectatorCount = 0;
    this.connected = false;
  }

  setPresence({ players_online: online, spectators }) {
    this.online = new Set(online);
    this.spectatorCount = spectators;
  }

  /** While this page's own connection is down, nobody is shown online: it would be a guess. */
  setConnected(connected) {
    this.connected = connected;
    this.wasConnected ||= connected;
    if (!connected) this.online = new Set();
  }

  update(room, me) {
    const turnPlayer = room.status === "playing" ? room.turn?.player_id : null;
    const hosting = me && room.host_id === me.id && room.status !== "finished";
    // Redrawing drops the focus; put it back on the same player's button if it was on one.
    const focused = this.list.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    this.list.replaceChildren(...room.members.map((member) => {
      const here = this.connected && this.online.has(member.user_id);
      const host = member.user_id === room.host_id;
      const badges = [];
      if (host) badges.push(h("span.badge.host", { title: "Host" }, h("span", { "aria-hidden": "true" }, "★ "), "host"));
      if (member.user_id === me?.id) badges.push(h("span.badge.you", {}, "you"));
      const remove = hosting && member.user_id !== me.id
        ? h("button.quiet.remove-member", {
          type: "button", dataset: { focusKey: `remove-${member.user_id}` },
          "aria-label": `Remove ${member.display_name}`,
          onclick: (event) => this.onRemove?.(member, event.currentTarget),
        }, "Remove")
        : null;
      return h("li", {
        class: `player${member.user_id === turnPlayer ? " current" : ""}${host ? " is-host" : ""}`,
        dataset: { userId: member.user_id },
        "aria-current": member.user_id === turnPlayer ? "step" : null,
      },
      h("span.avatar", { style: { background: playerColour(member.user_id) }, "aria-hidden": "true" },
        initials(member.display_name),
        h(`span.presence${here ? ".online" : ""}`)),
      h("span.player-name", {}, member.display_name),
      ...badges,
      h("span.visually-hidden", {}, here ? " (online)" : " (offline)"),
      member.user_id === turnPlayer ? h("span.turn-flag", {}, room.step ? "painting" : "to play") : null,
      remove);
    }));
    if (focused) this.list.querySelector(`[data-focus-key="${focused}"]`)?.focus();
    const gone = room.former_members ?? [];
    this.former.hidden = !gone.length;
    this.former.textContent = gone.length ? `No longer playing: ${gone.map((m) => m.display_name).join(", ")}` : "";
    const n = this.spectatorCount;
    // Before the first connection (or with none, a finished room read once) it says nothing.
    this.spectators.hidden = !this.connected && !this.wasConnected;
    this.spectators.textContent = this.connected
      ? `${n} ${n === 1 ? "spectator" : "spectators"} watching` : "Offline: who is here is not known";
  }
}
