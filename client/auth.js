// Sign-up and sign-in forms: the server's error envelope is shown next to the field it names.
import { api, ApiError } from "./api.js";
import { $ } from "./dom.js";
import { setUser } from "./session.js";
import { refusalMessage, sentence } from "./words.js";

function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((node) => (node.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

/** Shows `error` next to the field it names in `form`, or under the form; true if a field took it. */
export function showFieldError(form, error) {
  const fieldNode = error.field && form.querySelector(`.field-error[data-for="${error.field}"]`);
  if (fieldNode) {
    // The server names the field; say what is wrong next to it, without the field prefix.
    fieldNode.textContent = sentence(error.message);
    const input = form.elements[error.field];
    input?.setAttribute("aria-invalid", "true");
    input?.focus();
    return true;
  }
  const formError = form.querySelector(".form-error");
  formError.textContent = error.code === "email_taken" || error.code === "invalid_credentials"
    ? error.message : refusalMessage(error);
  return false;
}

function bindForm(form, path, fields) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = Object.fromEntries(fields.map((name) => [name, form.elements[name].value]));
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { user } = await api("POST", path, body);
      form.reset();
      setUser(user);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "email_taken") error.field = "email";
      showFieldError(form, error);
    } finally {
      button.disabled = false;
    }
  });
}

export function bindAuthForms() {
  bindForm($("#signup-form"), "/api/auth/signup", ["email", "display_name", "password"]);
  bindForm($("#login-form"), "/api/auth/login", ["email", "password"]);
}

/** Shows the welcome screen, with `note` (e.g. why signing in is needed) above the forms. */
export function showWelcome(note = "") {
  $("#welcome").hidden = false;
  $("#welcome-note").textContent = note;
  $("#welcome-note").hidden = !note;
}

export function hideWelcome() {
  $("#welcome").hidden = true;
}
