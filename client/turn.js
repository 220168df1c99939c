// The turn card: whose turn and how long is left; for the current player the prompt box and the
// direction picker; while a step runs, the painting state with its live previews.
import { formatCountdown, h } from "./dom.js";
import { isMyTurn, memberName } from "./roomstate.js";
import { sentence } from "./words.js";

const ARROWS = { up: "↑", left: "←", right: "→", down: "↓" };
const KEYS = { ArrowUp: "up", ArrowLeft: "left", ArrowRight: "right", ArrowDown: "down" };
const MAX_PROMPT = 1000;
const WARN_MS = 10000;

export class TurnCard {
  /**
   * onSubmit(prompt, direction) resolves when the server accepted the step; onDirection(d);
   * announce(text) says something once through the page's live region.
   */
  constructor({ onSubmit, onDirection, announce }) {
    this.onSubmit = onSubmit;
    this.onDirection = onDirection;
    this.announce = announce;
    this.kicker = h("p.turn-kicker");
    this.title = h("h2.turn-title", { id: "turn-title", tabindex: "-1" });
    // A timer is not a live region: the ten-second warning is said once, through announce().
    this.countdown = h("p.countdown", { role: "timer", "aria-label": "Time left in this turn" });
    this.painting = this.buildPainting();
    this.composer = this.buildComposer();
    // Seen, not read out: what it says is announced once by the room page.
    this.message = h("p.turn-message");
    this.el = h("section.turn-card", { "aria-labelledby": "turn-title" },
      h("div.turn-banner", {}, this.kicker, this.title, this.countdown),
      this.painting, this.composer, this.message);
    this.warned = null; // the turn whose ten-second warning was said
    this.timer = setInterval(() => this.tick(), 250);
  }

  destroy() {
    clearInterval(this.timer);
  }

  buildPainting() {
    this.paintingText = h("p.painting-text");
    this.paintingPrompt = h("blockquote.painting-prompt");
    this.bar = h("div.progress-fill");
    this.progress = h("div.progress", {
      role: "progressbar", "aria-label": "Painting progress", "aria-valuemin": "0", "aria-valuemax": "100",
    }, this.bar);
    this.previewImage = h("img.preview-image", { alt: "A live preview of the tile being painted", hidden: true });
    // Not a live region: the start and the end of a step are announced once each, not every preview.
    return h("div.painting", { hidden: true },
      h("div.painting-row", {}, h("span.spinner", { "aria-hidden": "true" }), this.paintingText),
      this.paintingPrompt, this.progress, this.previewImage);
  }

  buildComposer() {
    this.promptInput = h("textarea", {
      id: "prompt", name: "prompt", rows: "3", maxlength: String(MAX_PROMPT), required: true,
      placeholder: "a lighthouse on a cliff, stormy sea…", "aria-describedby": "prompt-count",
    });
    this.promptCount = h("span.char-count", { id: "prompt-count" }, `0 / ${MAX_PROMPT}`);
    this.promptInput.addEventListener("input", () => this.countPrompt());
    this.promptInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.composer.requestSubmit();
      }
    });
    this.radios = {};
    const cells = ["up", "left", "right", "down"].map((direction) => {
      const input = h("input", { type: "radio", name: "direction", value: direction, id: `direction-${direction}` });
      input.addEventListener("change", () => this.onDirection(direction));
      // The cross is spatial: each arrow key picks the way it points, not the next in page order.
      input.addEventListener("keydown", (event) => this.arrowKey(event));
      this.radios[direction] = input;
      return h(`label.direction.direction-${direction}`, { for: `direction-${direction}`, title: direction },
        input, h("span.arrow", { "aria-hidden": "true" }, ARROWS[direction]),
        h("span.visually-hidden", {}, direction));
    });
    this.directionHint = h("p.hint", { id: "direction-hint" });
    this.promptError = h("p.field-error", { dataset: { for: "prompt" } });
    this.formError = h("p.form-error", { role: "alert" });
    this.submit = h("button.primary.big", { type: "submit" }, "Paint it");
    const form = h("form.composer", { hidden: true, novalidate: true, "aria-label": "Your move" },
      h("div.prompt-head", {}, h("label", { for: "prompt" }, "Describe what comes next"), this.promptCount),
      this.promptInput, this.promptError,
      h("div.composer-row", {},
        h("fieldset.direction-picker", { "aria-describedby": "direction-hint" },
          h("legend", {}, "Which way", h("span.visually-hidden", {}, " does the canvas grow"), "?"),
          h("div.direction-grid", {}, ...cells, h("span.direction-centre", { "aria-hidden": "true" }, "●"))),
        h("div.composer-send", {}, this.directionHint, this.formError, this.submit)));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    return form;
  }

  arrowKey(event) {
    const direction = KEYS[event.key];
    if (!direction || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    const radio = this.radios[direction];
    if (radio.disabled) {
      this.directionHint.textContent = `${direction[0].toUpperCase()}${direction.slice(1)} is taken or off the edge.`;
      return;
    }
    radio.focus();
    if (!radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  get direction() {
    return Object.values(this.radios).find((radio) => radio.checked)?.value ?? null;
  }

  countPrompt() {
    this.promptCount.textContent = `${this.promptInput.value.length} / ${MAX_PROMPT}`;
  }

  /** The tile landed: the prompt is spent. Until then it stays, so a failed tile can be retried. */
  clearPrompt() {
    this.promptInput.value = "";
    this.countPrompt();
  }

  /** Errors that described the past (e.g. an unreachable server): gone once the page is live again. */
  clearErrors() {
    this.promptError.textContent = this.formError.textContent = "";
  }

  async send() {
    this.clearErrors();
    const prompt = this.promptInput.value.trim();
    if (!prompt) {
      this.promptError.textContent = "Write a prompt first.";
      this.promptInput.focus();
      return;
    }
    if (!this.direction) {
      this.formError.textContent = "Pick a direction.";
      return;
    }
    this.submit.disabled = true;
    this.submit.textContent = "Sending…";
    try {
      await this.onSubmit(prompt, this.direction);
    } catch (error) {
      if (error.field === "prompt") this.promptError.textContent = sentence(error.message);
      else this.formError.textContent = error.plain || error.message;
      // Refused: back to the prompt, which still holds what was written.
      if (!this.composer.hidden) this.promptInput.focus();
    } finally {
      this.submit.textContent = "Paint it";
      this.submit.disabled = false;
    }
  }

  /** Redraws from the room; `live` is false while the socket reconnects; `pending` hides the form. */
  update(room, me, { live, pending }) {
    this.room = room;
    this.me = me;
    const mine = isMyTurn(room, me);
    const step = room.step;
    this.el.classList.toggle("my-turn", mine && !step);
    this.el.classList.toggle("stale", !live);
    this.el.dataset.state = room.status === "playing" ? (step ? "painting" : mine ? "mine" : "waiting") : room.status;
    const total = `${room.tile_count} of ${room.max_steps} tiles`;
    if (room.status === "lobby") {
      this.kicker.textContent = `${room.members.length} ${room.members.length === 1 ? "player" : "players"} here`;
      this.title.textContent = me && room.host_id === me.id
        ? "Start when everyone is here" : "Waiting for the host to start";
    } else if (room.status === "finished") {
      this.kicker.textContent = total;
      this.title.textContent = "The game is over";
    } else {
      this.kicker.textContent = `Turn ${room.turn?.number ?? "–"} · ${total}`;
      const name = memberName(room, room.turn?.player_id);
      if (step) this.title.textContent = step.player_id === me?.id ? "Your tile is being painted" : `${memberName(room, step.player_id)} is painting`;
      else if (room.turn?.over) this.title.textContent = "Passing the turn…";
      else this.title.textContent = mine ? "Your turn!" : `${name}'s turn`;
    }
    if (!live) this.kicker.textContent = "Reconnecting… this may be out of date";
    this.updatePainting(room, me);
    const composing = mine && !step && !pending && room.status === "playing";
    const opening = composing && this.composer.hidden;
    const closing = !composing && !this.composer.hidden;
    const hadFocus = this.composer.contains(document.activeElement);
    if (opening) this.clearErrors();
    this.composer.hidden = !composing;
    if (composing) this.updateDirections(room);
    // The focus follows the turn: to the prompt when it begins, to the card's title when the
    // form goes away under it (after "Paint it"), never to the page's body.
    if (opening) this.focusPrompt();
    if (closing && hadFocus) this.title.focus({ preventScroll: true });
    this.tick();
  }

  /** Puts the focus in the prompt, unless the viewer is busy elsewhere (a field, a dialog). */
  focusPrompt() {
    queueMicrotask(() => {
      if (this.composer.hidden || !this.el.isConnected || document.querySelector("dialog[open]")) return;
      const active = document.activeElement;
      // Idle: on nothing, or on a control that just went away (the host's "Start").
      const idle = !active || active === document.body || active === document.documentElement || active.id === "main"
        || active.disabled || !active.getClientRects().length;
      if (idle || this.el.contains(active)) this.promptInput.focus({ preventScroll: this.el.classList.contains("docked") });
    });
  }

  updateDirections(room) {
    const first = room.tile_count === 0;
    const free = first ? Object.keys(this.radios) : room.free_directions ?? [];
    for (const [direction, radio] of Object.entries(this.radios)) {
      radio.disabled = !free.includes(direction);
      radio.closest("label").title = radio.disabled ? `${direction}: taken or off the edge` : direction;
      if (radio.disabled) radio.checked = false;
    }
    if (!this.direction && free.length) {
      this.radios[free.includes("right") ? "right" : free[0]].checked = true;
      this.onDirection(this.direction);
    } else if (this.direction) {
      this.onDirection(this.direction);
    }
    this.directionHint.textContent = first
      ? "The first tile starts the canvas in the middle, whichever way you pick."
      : room.free_directions === null ? "Checking which ways are free…"
      : free.length === 4 ? "Every way is free."
      : free.length ? "Greyed-out arrows are taken or off the edge." : "No free direction: the canvas is full.";
  }

  updatePainting(room, me) {
    const step = room.step;
    this.painting.hidden = !step;
    if (!step) return;
    const mine = step.player_id === me?.id;
    setText(this.paintingText, mine ? "The generator is painting your tile…" : `${memberName(room, step.player_id)}'s tile is being painted…`);
    setText(this.paintingPrompt, step.prompt ? `“${step.prompt}”` : "");
    this.paintingPrompt.hidden = !step.prompt;
    const fraction = room.progress?.fraction ?? 0;
    this.bar.style.width = `${Math.round(Math.max(0.04, fraction) * 100)}%`;
    this.progress.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
    const preview = room.progress?.preview;
    this.previewImage.hidden = !preview;
    if (preview && this.previewImage.getAttribute("src") !== preview) this.previewImage.src = preview;
  }

  say(text, kind = "info") {
    this.message.textContent = text;
    this.message.dataset.kind = kind;
  }

  tick() {
    const room = this.room;
    const deadline = room?.status === "playing" && !room.step && !room.turn?.over ? room.turn?.deadline : null;
    this.countdown.hidden = !deadline;
    if (!deadline) return;
    const left = Date.parse(deadline) - Date.now();
    setText(this.countdown, left > 0 ? `${formatCountdown(left)} left` : "Time is up: skipping…");
    this.countdown.classList.toggle("urgent", left < WARN_MS);
    // Once per turn, on the viewer's own clock: ten seconds to go.
    const key = `${room.id}:${room.turn.number}`;
    if (isMyTurn(room, this.me) && left > 0 && left <= WARN_MS && this.warned !== key) {
      this.warned = key;
      this.announce?.(`${Math.ceil(left / 1000)} seconds left in your turn.`);
    }
  }
}

/** Writes `text` only when it differs, so that nothing is redrawn (or re-read) for nothing. */
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
