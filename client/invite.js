// The invite link (`/join/{room}?code=...`) and a copy button that works without a secure context.
import { h } from "./dom.js";

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const scratch = h("textarea", { readonly: true, "aria-hidden": "true", class: "offscreen" });
    scratch.value = text;
    document.body.append(scratch);
    scratch.select();
    const copied = document.execCommand("copy");
    scratch.remove();
    return copied;
  }
}

export const inviteLink = (room) =>
  `${location.origin}/join/${room.id}?code=${encodeURIComponent(room.invite_code)}`;

/** A read-only field holding the invite link, with a Copy button. */
export function inviteBox(room) {
  const input = h("input.invite-link", { id: "invite-link", readonly: true, value: inviteLink(room) });
  input.addEventListener("focus", () => input.select());
  const button = h("button", { type: "button", id: "copy-invite" }, "Copy link");
  button.addEventListener("click", async () => {
    const copied = await copyText(input.value);
    button.textContent = copied ? "Copied!" : "Select and copy";
    if (!copied) input.select();
    setTimeout(() => (button.textContent = "Copy link"), 2000);
  });
  return h("div.invite", {},
    h("label", { for: "invite-link" }, "Invite friends with this link"),
    h("div.invite-row", {}, input, button));
}
