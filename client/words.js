// Plain-language explanations for the codes and reasons the server sends (docs/protocol.md, /openapi.json).

const ABORT_REASONS = {
  refused: "the image service refused the prompt (content policy)",
  generator_error: "the image service had an error",
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
      reason === "refused" ? " with a different prompt" : ""}.`;
  }
  return `${painterName}'s tile was not painted: ${why}. It is still their turn.`;
}

export function refusalMessage(error) {
  return REFUSALS[error.code] || error.message || "That did not work. Try again.";
}

// Said by the host's own answer and by the event it causes: the same words, so one toast.
export const STARTED = "The game has started!";
export const FINISHED_BY_HOST = "The host finished the game. Here is the reveal.";

export const STATUS_LABELS = { lobby: "In the lobby", playing: "Playing", finished: "Finished" };

/** "email: must be an email address" -> "Must be an email address." */
export function sentence(message) {
  const text = message.replace(/^[A-Za-z_-]+: /, "").trim();
  return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
}
