// Who is signed in: the /api/session user, kept in one place and shown in the top bar.
import { api, ApiError } from "./api.js";
import { $ } from "./dom.js";

let current = null;
let selling = false; // whether this server sells credits, as /api/session said
const listeners = new Set();

export const currentUser = () => current;
export const sellsCredits = () => selling;

export function setUser(user) {
  current = user;
  $("#account").hidden = !user;
  if (user) {
    $("#account-name").textContent = user.display_name;
    $("#account-credits").textContent = user.credits;
  }
  listeners.forEach((listener) => listener(user));
}

/** The balance the server pushed (an `account` frame): the same user, new credits. */
export function setCredits(credits) {
  if (!current || !Number.isInteger(credits) || current.credits === credits) return;
  setUser({ ...current, credits });
}

export function onUserChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Reloads the user (credits change as steps start and abort); null when signed out. */
export async function refreshUser() {
  try {
    const session = await api("GET", "/api/session");
    selling = Boolean(session.billing);
    setUser(session.user);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.code !== "network") throw error;
  }
  return current;
}

/** Unread activity: the last seq of a room this browser has shown. */
export const markSeen = (room) => localStorage.setItem(`exq:seen:${room.id}`, String(room.seq));
export const lastSeen = (roomId) => Number(localStorage.getItem(`exq:seen:${roomId}`) ?? -1);

/** A note for a page to show once, e.g. the warning given when a room was created. */
export function leaveNote(roomId, text) {
  try {
    sessionStorage.setItem(`exq:note:${roomId}`, text);
  } catch {
    // Storage may be off (private mode): the note is only a nicety.
  }
}

export function takeNote(roomId) {
  try {
    const text = sessionStorage.getItem(`exq:note:${roomId}`);
    sessionStorage.removeItem(`exq:note:${roomId}`);
    return text;
  } catch {
    return null;
  }
}

export async function signOut() {
  await api("POST", "/api/auth/logout");
  setUser(null);
}
