// Errors in forms, the same way everywhere: a `.field-error[data-for=name]` under each field that
// can be wrong, one `.form-error` for the rest, and aria-invalid on the field that is wrong.
import { refusalMessage, sentence } from "./words.js";

/** Empties `form`'s error messages and unmarks its invalid fields. */
export function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((node) => (node.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

/**
 * Shows `error` ({ field?, message, code? }) next to the field it names in `form`, or under the
 * form, worded by `formMessage(error)`; true if a field took it.
 */
export function showFieldError(form, error, { formMessage = refusalMessage } = {}) {
  const fieldNode = error.field && form.querySelector(`.field-error[data-for="${error.field}"]`);
  if (fieldNode) {
    // The server names the field; say what is wrong next to it, without the field prefix.
    fieldNode.textContent = sentence(error.message);
    const input = form.elements[error.field];
    input?.setAttribute("aria-invalid", "true");
    input?.focus();
    return true;
  }
  form.querySelector(".form-error").textContent = formMessage(error);
  return false;
}
