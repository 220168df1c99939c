// The members in turn order, with presence dots, the host's crown and the spectator count.
import { h, initials, playerColour } from "./dom.js";

export class Players {
  constructor() {
    this.list = h("ol.players");
    this.spectators = h("p.spectators");
    this.el = h("section.players-card", { "aria-labelledby": "players-title" },
      h("h2", { id: "players-title" }, "Players"), this.list, this.spectators);
    this.online = new Set();
    this.spectatorCount = 0;
  }

  setPresence({ players_online: online, spectators }) {
    this.online = new Set(online);
    this.spectatorCount = spectators;
  }

  update(room, me) {
    const turnPlayer = room.status === "playing" ? room.turn?.player_id : null;
    this.list.replaceChildren(...room.members.map((member) => {
      const here = this.online.has(member.user_id);
      const badges = [];
      if (member.user_id === room.host_id) badges.push(h("span.badge.host", { title: "Host" }, "host"));
      if (member.user_id === me?.id) badges.push(h("span.badge.you", {}, "you"));
      return h("li", {
        class: `player${member.user_id === turnPlayer ? " current" : ""}`,
        dataset: { userId: member.user_id },
        "aria-current": member.user_id === turnPlayer ? "step" : null,
      },
      h("span.avatar", { style: { background: playerColour(member.user_id) }, "aria-hidden": "true" },
        initials(member.display_name),
        h(`span.presence${here ? ".online" : ""}`)),
      h("span.player-name", {}, member.display_name),
      ...badges,
      h("span.visually-hidden", {}, here ? " (online)" : " (offline)"),
      member.user_id === turnPlayer ? h("span.turn-flag", {}, room.step ? "painting" : "to play") : null);
    }));
    const n = this.spectatorCount;
    this.spectators.textContent = `${n} ${n === 1 ? "spectator" : "spectators"} watching`;
  }
}
