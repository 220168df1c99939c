// Entry point: shows the sign-up / sign-in forms or the signed-in home.
import { api, ApiError } from "./api.js";

const $ = (selector) => document.querySelector(selector);

function showUser(user) {
  $("#welcome").hidden = Boolean(user);
  $("#home").hidden = !user;
  $("#account").hidden = !user;
  if (!user) return;
  $("#account-name").textContent = user.display_name;
  $("#account-credits").textContent = user.credits;
  $("#home-name").textContent = user.display_name;
  $("#home-credits").textContent = user.credits;
}

function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((node) => (node.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

function showError(form, error) {
  const fieldNode = error.field && form.querySelector(`.field-error[data-for="${error.field}"]`);
  if (fieldNode) {
    // The server names the field; say what is wrong next to it, without the field prefix.
    fieldNode.textContent = error.message.replace(/^[a-z_]+: /, "");
    form.elements[error.field]?.setAttribute("aria-invalid", "true");
    form.elements[error.field]?.focus();
  } else {
    form.querySelector(".form-error").textContent = error.message;
  }
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
      showUser(user);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showError(form, error);
    } finally {
      button.disabled = false;
    }
  });
}

async function main() {
  bindForm($("#signup-form"), "/api/auth/signup", ["email", "display_name", "password"]);
  bindForm($("#login-form"), "/api/auth/login", ["email", "password"]);
  $("#logout").addEventListener("click", async () => {
    await api("POST", "/api/auth/logout");
    showUser(null);
  });
  try {
    showUser(await api("GET", "/api/me"));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    showUser(null);
  }
}

main();
