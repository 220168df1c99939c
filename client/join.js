// /join/{room}?code=...: sign in first if needed, then join and go to the room.
import { api, ApiError } from "./api.js";
import { showWelcome } from "./auth.js";
import { h } from "./dom.js";
import { navigate } from "./router.js";
import { refusalMessage } from "./words.js";

export function joinView(root, user, [, roomId]) {
  const code = new URLSearchParams(location.search).get("code") ?? "";
  if (!user) {
    showWelcome("You have been invited to a room. Sign up or sign in, and you will join it straight away.");
    return;
  }
  const status = h("p.join-status", { role: "status" }, "Joining the room…");
  root.append(h("section.card.narrow", {}, h("h1", {}, "Joining…"), status));
  let stopped = false;
  (async () => {
    try {
      await api("POST", `/api/rooms/${roomId}/join`, { invite_code: code });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (stopped) return;
      if (error.code !== "already_member") {
        root.replaceChildren(h("section.card.narrow", {},
          h("h1", {}, "Could not join"),
          h("p.form-error", { role: "alert" }, error.status === 404 ? "There is no such room." : refusalMessage(error)),
          error.code === "room_finished" ? h("p", {}, h("a", { href: `/share/${roomId}`, "data-link": true }, "See how it turned out")) : null,
          h("p", {}, h("a", { href: "/", "data-link": true }, "Back to the lobby"))));
        return;
      }
    }
    if (!stopped) navigate(`/rooms/${roomId}`, { replace: true });
  })();
  return () => (stopped = true);
}
