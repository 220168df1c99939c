// Actions: one dialog asks for the reason and shows the server's refusal.
import { api, ApiError } from "../api.js";
import { $, toast } from "../dom.js";
import { clearErrors, showFieldError } from "../forms.js";
import { mergeAudit } from "./audit.js";
import { short } from "./lists.js";

// The dialog says what the server said, in its own words.
const serverWords = (error) => error.message;

/**
 * Binds the dialog and returns ask(...) and the repairs that go through it. `onRefused()` is called
 * when the server says the page is no longer the operator's; `onRoomChanged()` after a room's
 * lease is released or the room finished.
 */
export function actionDialog({ onRefused, onRoomChanged }) {
  const dialog = $("#action-dialog");
  const actionForm = $("#action-form");
  let pending = null; // { run(reason), done(answer), opener }

  /** Opens the dialog; `run(reason)` calls the server, `done(answer)` follows its success. */
  function ask({ title, summary, confirm, danger = false, opener, run, done }) {
    pending = { run, done, opener };
    $("#action-title").textContent = title;
    $("#action-summary").textContent = summary;
    const button = $("#action-confirm");
    button.textContent = confirm;
    button.className = danger ? "danger" : "primary";
    button.disabled = false;
    clearErrors(actionForm);
    actionForm.reset();
    dialog.showModal();
    $("#action-reason").focus();
  }

  actionForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pending) return;
    clearErrors(actionForm);
    const reason = actionForm.elements.reason.value.trim();
    if (!reason) {
      showFieldError(actionForm, { field: "reason", message: "Say why: the reason goes in the audit log." });
      return;
    }
    const button = $("#action-confirm");
    button.disabled = true;
    const current = pending;
    try {
      const answer = await current.run(reason);
      if (answer?.audit) mergeAudit(answer.audit);
      dialog.close();
      current.done?.(answer);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // delta and user_id live outside the dialog: say it here, where the eyes are.
      showFieldError(actionForm, error.field === "reason" ? error : { message: error.message }, { formMessage: serverWords });
      if (error.status === 401 || error.code === "not_admin") onRefused();
    } finally {
      button.disabled = false;
    }
  });

  $("#action-cancel").addEventListener("click", () => dialog.close());
  // Enter writes a new line in the reason; Ctrl+Enter (or Cmd+Enter) confirms.
  $("#action-reason").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      actionForm.requestSubmit();
    }
  });
  dialog.addEventListener("close", () => {
    const opener = pending?.opener;
    pending = null;
    if (opener && opener.isConnected) opener.focus();
    else document.querySelector("main").focus();
  });

  function askAbort(step, opener) {
    ask({
      title: `Abort step ${short(step.id)}?`,
      summary: `The step stops, its painter (user #${step.user_id}) gets the credit back, and it stays their turn in room ${short(step.room_id)}.`,
      confirm: "Abort & refund",
      danger: true,
      opener,
      run: (reason) => api("POST", `/api/admin/steps/${step.id}/abort`, { reason }),
      done: () => toast(`Step ${short(step.id)} aborted and refunded.`, "good"),
    });
  }

  function askRelease(roomId, opener, name) {
    ask({
      title: `Release the lease of ${name ? `“${name}”` : `room ${short(roomId)}`}?`,
      summary: "The step holding the room's lease is aborted and refunded, so the room can move on.",
      confirm: "Release lease",
      danger: true,
      opener,
      run: (reason) => api("POST", `/api/admin/rooms/${roomId}/release-lease`, { reason }),
      done: () => {
        toast(`Lease of room ${short(roomId)} released.`, "good");
        onRoomChanged();
      },
    });
  }

  function askFinish(room, opener) {
    ask({
      title: `Finish “${room.name}”?`,
      summary: "The game ends now and its players see the reveal. This cannot be undone.",
      confirm: "Finish room",
      danger: true,
      opener,
      run: (reason) => api("POST", `/api/admin/rooms/${room.id}/finish`, { reason }),
      done: () => {
        toast(`“${room.name}” finished.`, "good");
        onRoomChanged();
      },
    });
  }

  return { ask, askAbort, askRelease, askFinish };
}
