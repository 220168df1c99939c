// Sign-up and sign-in forms: the server's error envelope is shown next to the field it names.
import { api, ApiError } from "./api.js";
import { $ } from "./dom.js";
import { clearErrors, showFieldError } from "./forms.js";
import { setUser } from "./session.js";
import { refusalMessage } from "./words.js";

// About the account itself: the server's own words say it best.
const ACCOUNT_CODES = new Set(["email_taken", "invalid_credentials"]);
const accountMessage = (error) => (ACCOUNT_CODES.has(error.code) ? error.message : refusalMessage(error));

// The server's own rules (and words), checked first: a request we know it refuses is not sent.
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const RULES = {
  email: (value) => (EMAIL.test(value.trim()) ? null : "must be an email address"),
  display_name: (value) => (value.trim() ? null : "must not be empty"),
  password: (value, signup) => {
    if (!value) return "must not be empty";
    return signup && value.length < 10 ? "must be at least 10 characters" : null;
  },
};

/** The first field the server would refuse, as an error it would send; null if none. */
function check(body, signup) {
  for (const [field, value] of Object.entries(body)) {
    const message = RULES[field]?.(value, signup);
    if (message) return { field, message: `${field}: ${message}` };
  }
  return null;
}

function bindForm(form, path, fields) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = Object.fromEntries(fields.map((name) => [name, form.elements[name].value]));
    const invalid = check(body, path.endsWith("/signup"));
    if (invalid) {
      showFieldError(form, invalid);
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { user } = await api("POST", path, body);
      form.reset();
      setUser(user);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "email_taken") error.field = "email";
      showFieldError(form, error, { formMessage: accountMessage });
    } finally {
      button.disabled = false;
    }
  });
}

export function bindAuthForms() {
  bindForm($("#signup-form"), "/api/auth/signup", ["email", "display_name", "password"]);
  bindForm($("#login-form"), "/api/auth/login", ["email", "password"]);
}

/**
 * Shows the welcome screen, with `note` (e.g. why signing in is needed) above the forms, and
 * `extra` (a node, e.g. the room an invite is for) under the note.
 */
export function showWelcome(note = "", extra = null) {
  $("#welcome").hidden = false;
  $("#welcome-note").textContent = note;
  $("#welcome-note").hidden = !note;
  $("#welcome-extra").replaceChildren(...(extra ? [extra] : []));
}

export function hideWelcome() {
  $("#welcome").hidden = true;
  $("#welcome-extra").replaceChildren();
}
