// Users: grant or revoke credits, disable; the form checks the user (an email or an id) and the
// amount, the dialog asks why.
import { api } from "../api.js";
import { $ } from "../dom.js";
import { clearErrors, showFieldError } from "../forms.js";

/** Binds the user form; its buttons open the action dialog through `ask(...)`. */
export function bindUserForm(ask) {
  const userForm = $("#user-form");

  /** The user the form names: { path, label } (an id or an email), or null if it names none. */
  function readUser() {
    const raw = userForm.elements.user_id.value.trim();
    if (/^\d{1,18}$/.test(raw)) return { path: raw, label: `user #${raw}` };
    if (/^[^\s@/]+@[^\s@/]+$/.test(raw) && raw.length <= 254) return { path: encodeURIComponent(raw), label: raw };
    showFieldError(userForm, { field: "user_id", message: "Enter an email address or a user id (a number)." });
    return null;
  }

  function readDelta() {
    const raw = userForm.elements.delta.value.trim();
    const amount = Number(raw);
    if (!/^\d+$/.test(raw) || amount < 1 || amount > 100000) {
      showFieldError(userForm, { field: "delta", message: "Enter a whole number of credits from 1 to 100000." });
      return null;
    }
    return amount;
  }

  /** Clears the form's last errors and result, then reads the user: null if it names none. */
  function startOver() {
    clearErrors(userForm);
    userResult("");
    return readUser();
  }

  function askCredits(sign, opener) {
    const user = startOver();
    if (user === null) return;
    const amount = readDelta();
    if (amount === null) return;
    const grant = sign > 0;
    ask({
      title: `${grant ? "Grant" : "Revoke"} ${amount} credit${amount === 1 ? "" : "s"} ${grant ? "to" : "from"} ${user.label}?`,
      summary: grant
        ? "The credits are added to their balance with a ledger entry."
        : "The credits are taken from their balance with a ledger entry; the balance cannot go below zero.",
      confirm: grant ? "Grant credits" : "Revoke credits",
      danger: !grant,
      opener,
      run: (reason) => api("POST", `/api/admin/users/${user.path}/credits`, { delta: sign * amount, reason }),
      done: (answer) => userResult(`${capital(user.label)} now has ${answer.credits} credits.`),
    });
  }

  function askDisable(opener) {
    const user = startOver();
    if (user === null) return;
    ask({
      title: `Disable ${user.label}?`,
      summary: "Their sessions are revoked at once and they cannot sign in again.",
      confirm: "Disable user",
      danger: true,
      opener,
      run: (reason) => api("POST", `/api/admin/users/${user.path}/disable`, { reason }),
      done: () => userResult(`${capital(user.label)} is disabled.`),
    });
  }

  $("#grant-credits").addEventListener("click", (event) => askCredits(1, event.currentTarget));
  $("#revoke-credits").addEventListener("click", (event) => askCredits(-1, event.currentTarget));
  $("#disable-user").addEventListener("click", (event) => askDisable(event.currentTarget));
  userForm.addEventListener("submit", (event) => {
    // Enter in a field grants: the least destructive of the three.
    event.preventDefault();
    askCredits(1, $("#grant-credits"));
  });
}

// "user #42" starts a sentence as "User #42"; an email stays as it was written.
const capital = (label) => label.replace(/^user #/, "User #");

function userResult(text) {
  $("#user-result").textContent = text;
}
