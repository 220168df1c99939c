// One modal question before something that cannot be undone (leave a room, remove a player):
// a native <dialog>, so the focus stays inside it and Escape cancels; the safe answer comes first.
import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { refusalMessage } from "./words.js";

export class ConfirmDialog {
  constructor() {
    this.title = h("h2", { id: "confirm-title" });
    this.text = h("p", { id: "confirm-text" });
    this.error = h("p.form-error", { role: "alert" });
    this.no = h("button", { type: "button", id: "confirm-no", onclick: () => this.el.close() }, "Cancel");
    this.yes = h("button.danger", { type: "button", id: "confirm-yes", onclick: () => this.run() });
    this.el = h("dialog.confirm", { id: "confirm-dialog", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text" },
      this.title, this.text, this.error, h("div.dialog-actions", {}, this.no, this.yes));
    this.el.addEventListener("close", () => this.closed());
  }

  /**
   * Asks; `action()` runs on yes and may throw an ApiError, which is shown in the dialog. `after`
   * (optional) says where the focus goes when the opener is gone, e.g. a removed player's button.
   */
  ask({ title, text, yes, no = "Cancel", opener, action, after }) {
    this.pending = { action, opener, after };
    this.title.textContent = title;
    this.text.textContent = text;
    this.yes.textContent = yes;
    this.no.textContent = no;
    this.error.textContent = "";
    this.yes.disabled = false;
    if (!this.el.isConnected) document.body.append(this.el);
    this.el.showModal();
    this.no.focus();
  }

  async run() {
    const pending = this.pending;
    if (!pending) return;
    this.yes.disabled = true;
    this.error.textContent = "";
    try {
      await pending.action();
      pending.done = true;
      this.el.close();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.error.textContent = refusalMessage(error);
    } finally {
      this.yes.disabled = false;
    }
  }

  closed() {
    const pending = this.pending;
    this.pending = null;
    if (!pending) return;
    // The opener, or the button that took its place when its list was redrawn, or `after()`.
    const key = pending.opener?.dataset.focusKey;
    const opener = pending.opener?.isConnected ? pending.opener : key && document.querySelector(`[data-focus-key="${key}"]`);
    const target = opener && !opener.hidden ? opener : pending.after?.();
    target?.focus();
  }

  destroy() {
    if (this.el.open) this.el.close();
    this.el.remove();
  }
}
