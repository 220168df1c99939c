// Entry point: routes each page to its view and redraws when someone signs in or out.
import { api, ApiError } from "./api.js";
import { startBilling } from "./billing.js";
import { bindAuthForms, hideWelcome, showWelcome } from "./auth.js";
import { $, h, toast } from "./dom.js";
import { joinView } from "./join.js";
import { lobbyView } from "./lobby.js";
import { RoomPage } from "./room.js";
import { navigate, refresh, startRouter } from "./router.js";
import { currentUser, onUserChange, refreshUser, signOut } from "./session.js";
import { shareView } from "./share.js";

let cleanup = null;

function homeView(root, user) {
  if (!user) {
    showWelcome();
    return null;
  }
  return lobbyView(root, user);
}

function roomView(root, user, [, roomId]) {
  let page = null;
  let stopped = false;
  (async () => {
    try {
      const room = await api("GET", `/api/rooms/${roomId}`);
      if (stopped) return;
      page = new RoomPage(room);
      root.append(page.el);
    } catch (error) {
      if (!(error instanceof ApiError) || stopped) throw error;
      if (error.status === 401) showWelcome("Sign in to see this room.");
      else root.append(missing(error.status === 404 ? "There is no such room, or it is a folded room you are not playing in." : error.message));
    }
  })();
  return () => {
    stopped = true;
    page?.destroy();
  };
}

function missing(text) {
  return h("section.card.narrow", {}, h("h1", {}, "Nothing here"), h("p", {}, text),
    h("p", {}, h("a", { href: "/", "data-link": true }, "Back to the lobby")));
}

function draw(view, match) {
  cleanup?.();
  cleanup = null;
  hideWelcome();
  const root = $("#view");
  root.replaceChildren();
  document.title = "EXQUISITE";
  if (!view) {
    root.append(missing("This page does not exist."));
    return;
  }
  cleanup = view(root, currentUser(), match) || null;
}

async function main() {
  bindAuthForms();
  $("#logout").addEventListener("click", async () => {
    try {
      await signOut();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      toast(error.message, "bad");
      return;
    }
    navigate("/");
  });
  await refreshUser();
  let shownUserId = currentUser()?.id ?? null;
  onUserChange((user) => {
    // Credits change often; only a different person (or nobody) redraws the page.
    if ((user?.id ?? null) === shownUserId) return;
    shownUserId = user?.id ?? null;
    refresh();
  });
  startRouter([
    [/^\/$/, homeView],
    [/^\/rooms\/([^/]+)\/?$/, roomView],
    [/^\/join\/([^/]+)\/?$/, joinView],
    [/^\/share\/([^/]+)\/?$/, shareView],
  ], draw);
  startBilling();
}

main();
