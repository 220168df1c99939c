// Buying credits: a "Get credits" button in the top bar (only where the server sells them), a
// dialog of packs that sends the player to Stripe Checkout, and the page Stripe sends them back to.
// The redirect proves nothing: the credits show once the server has Stripe's webhook, which this
// page waits for by asking /api/session, so they appear without a reload whichever comes first.
import { api, ApiError } from "./api.js";
import { $, h } from "./dom.js";
import { currentUser, onUserChange, sellsCredits, setUser } from "./session.js";

const WAIT_MS = 60_000;
const ASK_EVERY_MS = 1000;
const BEFORE_KEY = "exq:checkout:before";

let packs = null; // null: not asked yet; []: billing is off

function money(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
  }
}

async function loadPacks() {
  if (packs !== null) return packs;
  try {
    // A server that sells nothing (as /api/session said) is never asked for its packs (a 404).
    packs = sellsCredits() ? (await api("GET", "/api/billing/packs")).packs : [];
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    packs = null; // unreachable now: asked again next time
    return [];
  }
  return packs;
}

function dialog() {
  let box = $("#credits-dialog");
  if (box) return box;
  const status = h("p.form-error", { id: "credits-error", role: "alert" });
  const list = h("div.packs", { id: "credit-packs" });
  const close = h("button.quiet", { type: "button", onclick: () => box.close() }, "Not now");
  box = h("dialog.confirm.credits-dialog", { id: "credits-dialog", "aria-labelledby": "credits-title" },
    h("h2", { id: "credits-title" }, "Get credits"),
    h("p", {}, "Each tile you paint costs one credit. You pay on Stripe's secure page and come back here."),
    list, status, h("div.dialog-actions", {}, close));
  document.body.append(box);
  return box;
}

async function buy(pack, button) {
  const error = $("#credits-error");
  error.textContent = "";
  button.disabled = true;
  try {
    sessionStorage.setItem(BEFORE_KEY, String(currentUser()?.credits ?? 0));
    const { url } = await api("POST", "/api/billing/checkout", { pack: pack.id });
    window.location.assign(url);
  } catch (failure) {
    if (!(failure instanceof ApiError)) throw failure;
    error.textContent = failure.message;
    button.disabled = false;
  }
}

async function openDialog() {
  const box = dialog();
  const list = $("#credit-packs");
  list.replaceChildren(...(await loadPacks()).map((pack) => {
    const button = h("button.primary", { type: "button", dataset: { pack: pack.id } },
      `${pack.credits} credits for ${money(pack.amount, pack.currency)}`);
    button.addEventListener("click", () => buy(pack, button));
    return button;
  }));
  box.showModal();
  list.querySelector("button")?.focus();
}

async function showButton(user) {
  const existing = $("#get-credits");
  if (!user) {
    existing?.remove();
    return;
  }
  if (existing || !(await loadPacks()).length) return;
  const button = h("button.quiet", { type: "button", id: "get-credits" }, "Get credits");
  button.addEventListener("click", openDialog);
  $("#logout").before(button);
}

function banner(text, kind) {
  let note = $("#checkout-note");
  if (!note) {
    // In a labelled region of its own, outside the views (which redraw #main): no content is
    // left outside a landmark.
    note = h("p.checkout-note", { id: "checkout-note", role: "status" });
    $("#main").before(h("section.checkout", { "aria-label": "Your payment" }, note));
  }
  note.className = `checkout-note checkout-${kind}`;
  note.textContent = text;
}

/** Back from Stripe: says what happened, and waits for the webhook to credit the purchase. */
async function welcomeBack() {
  const params = new URLSearchParams(window.location.search);
  const outcome = params.get("checkout");
  if (!outcome) return;
  window.history.replaceState(null, "", window.location.pathname);
  if (outcome !== "success") {
    banner("Payment cancelled: nothing was charged.", "info");
    return;
  }
  const before = Number(sessionStorage.getItem(BEFORE_KEY) ?? currentUser()?.credits ?? 0);
  sessionStorage.removeItem(BEFORE_KEY);
  banner("Thank you! Waiting for Stripe to confirm your payment…", "info");
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const user = (await api("GET", "/api/session").catch(() => ({ user: null }))).user;
    if (user && user.credits > before) {
      setUser(user);
      banner(`Credits added: you have ${user.credits} now.`, "good");
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, ASK_EVERY_MS));
  }
  banner("Your payment is still being confirmed; your credits appear here as soon as it is.", "info");
}

export function startBilling() {
  onUserChange(showButton);
  showButton(currentUser());
  welcomeBack();
}
