// Plain-language explanations for the codes and reasons the server sends (docs/protocol.md, /openapi.json).

const ABORT_REASONS = {
  generator_refused: "the image service refused the prompt (content policy)",
  generator_timeout: "the image service took too long",
  generator_busy: "the image service is busy right now",
  generator_unavailable: "the image service is out of order; the operators have been alerted",
  generator_bad_output: "the image service sent back an unusable picture",
  generator_error: "the image service had an error",
  // Steps aborted before these reasons were renamed (issue 13) keep their old words.
  refused: "the image service refused the prompt (content policy)",
  timeout: "the image service took too long",
  bad_output: "the image service sent back an unusable picture",
  lease_expired: "the server painting it stopped answering",
  lease_lost: "the server painting it lost its turn to paint",
  internal_error: "something went wrong on our side",
  shutdown: "the server restarted while painting",
  room_finished: "the room finished before it was done",
};

const REFUSALS = {
  not_your_turn: "It is not your turn any more.",
  stale_nonce: "The turn moved on while you were typing. Have a look at the canvas and try again.",
  step_in_flight: "A tile is already being painted. Wait for it to land.",
  prompt_refused: "That prompt was refused by the content policy and cost nothing. Try another one.",
  cell_unavailable: "That spot is taken or off the edge. Pick another direction.",
  room_not_playing: "The room is not playing right now.",
  insufficient_credits: "You are out of credits, so you cannot paint a tile.",
  idempotency_key_reused: "That request was already used for a different step. Try again.",
  missing_idempotency_key: "Your browser sent an incomplete request. Try again.",
  rate_limited: "Too many attempts. Wait a minute and try again.",
  network: "The server cannot be reached. Check your connection.",
  bad_invite_code: "That invite link is not right for this room. Ask for a fresh one.",
  room_full: "This room is full.",
  room_finished: "This room has already finished.",
  not_host: "Only the host can do that.",
  already_started: "The game has already started.",
  removed_from_room: "The host removed you from this room, so you cannot join it again.",
  not_a_member: "You are not a player in this room.",
  cannot_remove_self: "You cannot remove yourself. Leave the room instead.",
  room_not_finished: "The game is not over yet.",
  already_rematched: "There is already a rematch of this room.",
  not_found: "That could not be found. It may be gone already.",
};

export function abortReason(reason) {
  return ABORT_REASONS[reason] || "it could not be painted";
}

/** The sentence shown when a step is aborted; `mine` says whose it was. */
export function abortMessage({ reason, refund }, mine, painterName) {
  const why = abortReason(reason);
  if (mine) {
    const credit = refund ? ` Your ${refund === 1 ? "credit was" : `${refund} credits were`} refunded.` : "";
    return `Your tile was not painted: ${why}.${credit} It is still your turn, so try again${
      reason === "generator_refused" || reason === "refused" ? " with a different prompt"
        : reason === "generator_busy" ? " in a minute" : ""}.`;
  }
  return `${painterName}'s tile was not painted: ${why}. It is still their turn.`;
}

export function refusalMessage(error) {
  return REFUSALS[error.code] || error.message || "That did not work. Try again.";
}

// Said by the host's own answer and by the event it causes: the same words, so one toast.
export const STARTED = "The game has started!";
export const FINISHED_BY_HOST = "The host finished the game. Here is the reveal.";

const FINISH_REASONS = {
  complete: "The canvas is complete! Here is the reveal.",
  host: FINISHED_BY_HOST,
  abandoned: "Everyone left, so the game is over. Here is the reveal.",
  idle: "Nobody played for a long time, so the game is over. Here is the reveal.",
  admin: "An operator finished the game. Here is the reveal.",
};

export const finishMessage = (reason) => FINISH_REASONS[reason] || "The game is over. Here is the reveal.";

export const OUTAGE = "The server was away; the clock was given back.";

/**
 * The sentences for events about people. `name(userId)` names anyone who is or was in the room;
 * `meId` is the viewer (null when signed out), who is "you".
 */
export function memberLeftMessage({ user_id: userId, reason }, name, meId) {
  const you = userId === meId;
  if (reason === "removed") return you ? "The host removed you from the room." : `The host removed ${name(userId)}.`;
  return you ? "You left the room." : `${name(userId)} left the room.`;
}

export function hostChangedMessage({ host_id: hostId }, name, meId) {
  return hostId === meId ? "You are now the host." : `${name(hostId)} is now the host.`;
}

/** Who plays next: "Cy is up", "it is your turn", or "" when nobody is. */
function whoIsUp(turn, name, meId) {
  if (!turn?.player_id) return "";
  return turn.player_id === meId ? "it is your turn" : `${name(turn.player_id)} is up`;
}

/** Whose turn it is now, for the announcement of a new turn; "" when nobody's. */
export function turnSentence(room, me) {
  const playerId = room.status === "playing" ? room.turn?.player_id : null;
  if (!playerId) return "";
  if (playerId === me?.id) return "It is your turn!";
  const name = room.members.find((m) => m.user_id === playerId)?.display_name ?? "Someone";
  return `It is ${name}'s turn.`;
}

/** Why a turn was skipped and who is up; `removed` says the skipped player was removed by the host. */
export function skipMessage({ reason, skipped_player_id: skipped, turn }, name, meId, removed = false) {
  const you = skipped === meId;
  const who = name(skipped);
  const up = whoIsUp(turn, name, meId);
  const then = up ? `; ${up}.` : ".";
  if (removed) return you ? `The host removed you${then}` : `The host removed ${who}${then}`;
  switch (reason) {
    case "deadline":
      return you ? "You ran out of time, so the turn moved on." : `${who} ran out of time, so the turn moved on.`;
    case "host":
      return you ? `The host skipped your turn${then}` : `The host skipped ${who}${then}`;
    case "left":
      return you ? `You left the room${then}` : `${who} left the room${then}`;
    case "no_credits":
      return you ? "You have no credits left, so your turn was skipped." : `${who} has no credits left, so the turn moved on.`;
    default:
      return you ? `Your turn was skipped${then}` : `${who}'s turn was skipped${then}`;
  }
}

export const LEDGER_KINDS = {
  signup_grant: "Welcome credits",
  daily_grant: "Daily free credits",
  step_debit: "Painted a tile",
  step_refund: "Refund for a tile that was not painted",
  admin_grant: "Credits from an operator",
  admin_revoke: "Credits removed by an operator",
  purchase: "Credits bought",
  purchase_clawback: "Taken back: a purchase was refunded or disputed",
  dispute_return: "Given back: a disputed purchase was upheld",
};

export const STATUS_LABELS = { lobby: "In the lobby", playing: "Playing", finished: "Finished" };

/** "email: must be an email address" -> "Must be an email address." */
export function sentence(message) {
  const text = message.replace(/^[A-Za-z_-]+: /, "").trim();
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
}

// "Your turn" for a player who is in another tab (attention.js).
export const AWAY = {
  heading: "Away from this tab?",
  hint: "While this tab is in the background, its title and icon show when it is your turn.",
  title: (roomName) => `● Your turn · ${roomName} · EXQUISITE`,
  sound: "Play a sound on my turn",
  notify: "Notify me when it's my turn",
  notifyOn: "Your browser will notify you when it is your turn.",
  notifyBlocked: "Notifications are blocked for this site in your browser's settings.",
  noteTitle: "Your turn in EXQUISITE",
  noteBody: (roomName) => `${roomName}: write a prompt and pick a direction.`,
};
