// Who may see this page: operators only; everyone else gets a clear message and the way back.
import { api } from "../api.js";
import { $ } from "../dom.js";

/** The signed-in user, or null when nobody is signed in (asked without provoking a 401). */
export async function whoAmI() {
  return (await api("GET", "/api/session")).user;
}

/** Shows the "Operators only" card, worded for `user` (null when signed out), instead of the dashboard. */
export function showGate(user) {
  $("#loading").hidden = true;
  $("#dashboard").hidden = true;
  $("#gate").hidden = false;
  $("#gate-message").textContent = user
    ? `You are signed in as ${user.display_name}, who is not an operator. This page is for operators only; ` +
      "sign in with an operator account on the main page."
    : "You are signed out. This page is for operators only: sign in with an operator account on the main page, then come back to /admin.";
  $("#gate-link").textContent = user ? "Back to the game" : "Sign in on the main page";
  $("#admin-status").hidden = true;
}

/** The dashboard was refused: asks who is signed in now, and calls `shut(user)` if not an operator. */
export async function recheckAccess(shut) {
  try {
    const user = await whoAmI();
    if (!user || !user.is_admin) shut(user);
  } catch {
    // The network is down: the feed keeps retrying.
  }
}

