// /join/{room}?code=...: signed out, a preview of the room the invite is for above the sign-up
// form; signed in (or once signed up), join and go to the room.
import { api, ApiError } from "./api.js";
import { hideWelcome, showWelcome } from "./auth.js";
import { h } from "./dom.js";
import { navigate } from "./router.js";
import { refusalMessage, STATUS_LABELS } from "./words.js";

const INVITED = "You have been invited to a room. Sign up or sign in, and you will join it straight away.";

export function joinView(root, user, [, roomId]) {
  const code = new URLSearchParams(location.search).get("code") ?? "";
  let stopped = false;
  if (!user) {
    if (!code) {
      root.append(problem("This invite link is incomplete", "It has no invite code. Ask your friend to copy the whole link again."));
      return null;
    }
    showWelcome(INVITED);
    (async () => {
      let invite;
      try {
        invite = await api("GET", `/api/invites/${encodeURIComponent(code)}`);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (stopped || error.code === "network") return; // the forms still work; the join will say
        hideWelcome();
        root.replaceChildren(error.code === "room_finished"
          ? problem("This game is over", "The room this invite is for has already finished, so nobody can join it now.",
            h("a", { href: `/share/${roomId}`, "data-link": true }, "See how it turned out"))
          : problem("This invite does not work", "There is no room with this invite link. It may have been mistyped, or the room may be gone. Ask for a fresh link."));
        return;
      }
      if (!stopped) showWelcome(`${invite.host_name} invited you to play. Sign up or sign in, and you will join straight away.`, preview(invite));
    })();
    return () => (stopped = true);
  }
  const status = h("p.join-status", { role: "status" }, "Joining the room…");
  root.append(h("section.card.narrow", {}, h("h1", {}, "Joining…"), status));
  (async () => {
    try {
      await api("POST", `/api/rooms/${roomId}/join`, { invite_code: code });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (stopped) return;
      if (error.code !== "already_member") {
        root.replaceChildren(problem("Could not join",
          error.status === 404 ? "There is no such room." : refusalMessage(error),
          error.code === "room_finished" ? h("a", { href: `/share/${roomId}`, "data-link": true }, "See how it turned out") : null,
          true));
        return;
      }
    }
    if (!stopped) navigate(`/rooms/${roomId}`, { replace: true });
  })();
  return () => (stopped = true);
}

/** The room an invite is for: its name, host, mode, status and players. */
function preview(invite) {
  const players = `${invite.member_count} ${invite.member_count === 1 ? "player" : "players"}`;
  const mode = invite.mode === "folded"
    ? "Folded: each player sees only the edge they continue, until the reveal."
    : "Open: everyone sees the whole canvas as it grows.";
  return h("section.card.invite-preview", { id: "invite-preview", "aria-labelledby": "invite-room-name" },
    h("p.kicker", {}, "You are invited to"),
    h("h2", { id: "invite-room-name" }, invite.name),
    h("ul.invite-facts", {},
      h("li", {}, h("strong", {}, "Host: "), invite.host_name),
      h("li", {}, h("strong", {}, "Players: "), players),
      h("li", {}, h("strong", {}, "Status: "), invite.status === "playing"
        ? "Playing now: you join at the end of the turn order." : STATUS_LABELS[invite.status] ?? invite.status),
      h("li", {}, h("strong", {}, "Mode: "), mode)));
}

/** A card saying what went wrong, with `link` (optional) and the way back. */
function problem(title, text, link = null, signedIn = false) {
  return h("section.card.narrow", {},
    h("h1", {}, title),
    h("p.form-error", { role: "alert" }, text),
    link ? h("p", {}, link) : null,
    h("p", {}, h("a", { href: "/", "data-link": true }, signedIn ? "Back to the lobby" : "Go to EXQUISITE")));
}
