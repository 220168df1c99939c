// The turn card: whose turn and how long is left; for the current player the prompt box and the
// direction picker; while a step runs, the painting state with its live previews.
import { formatCountdown, h } from "./dom.js";
import { isMyTurn, memberName } from "./roomstate.js";
import { sentence } from "./words.js";

const ARROWS = { up: "↑", left: "←", right: "→", down: "↓" };
const MAX_PROMPT = 1000;

export class TurnCard {
  /** onSubmit(prompt, direction) resolves when the server accepted the step; onDirection(d). */
  constructor({ onSubmit, onDirection }) {
    this.onSubmit = onSubmit;
    this.onDirection = onDirection;
    this.kicker = h("p.turn-kicker");
    this.title = h("h2.turn-title", { id: "turn-title", tabindex: "-1" });
    this.countdown = h("p.countdown", { role: "timer", "aria-label": "Time left in this turn" });
    this.painting = this.buildPainting();
    this.composer = this.buildComposer();
    this.message = h("p.turn-message", { role: "status", "aria-live": "polite" });
    this.el = h("section.turn-card", { "aria-labelledby": "turn-title" },
      h("div.turn-banner", {}, this.kicker, this.title, this.countdown),
      this.painting, this.composer, this.message);
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
    return h("div.painting", { hidden: true, "aria-live": "polite" },
      h("div.painting-row", {}, h("span.spinner", { "aria-hidden": "true" }), this.paintingText),
      this.paintingPrompt, this.progress, this.previewImage);
  }

  buildComposer() {
    this.promptInput = h("textarea", {
      id: "prompt", name: "prompt", rows: "3", maxlength: String(MAX_PROMPT), required: true,
      placeholder: "a lighthouse on a cliff, stormy sea…", "aria-describedby": "prompt-count",
    });
    this.promptCount = h("span.char-count", { id: "prompt-count" }, `0 / ${MAX_PROMPT}`);
    this.promptInput.addEventListener("input", () => {
      this.promptCount.textContent = `${this.promptInput.value.length} / ${MAX_PROMPT}`;
    });
    this.promptInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) this.composer.requestSubmit();
    });
    this.radios = {};
    const cells = ["up", "left", "right", "down"].map((direction) => {
      const input = h("input", { type: "radio", name: "direction", value: direction, id: `direction-${direction}` });
      input.addEventListener("change", () => this.onDirection(direction));
      this.radios[direction] = input;
      return h(`label.direction.direction-${direction}`, { for: `direction-${direction}`, title: direction },
        input, h("span.arrow", { "aria-hidden": "true" }, ARROWS[direction]),
        h("span.visually-hidden", {}, direction));
    });
    this.directionHint = h("p.hint");
    this.promptError = h("p.field-error", { dataset: { for: "prompt" } });
    this.formError = h("p.form-error", { role: "alert" });
    this.submit = h("button.primary.big", { type: "submit" }, "Paint it");
    const form = h("form.composer", { hidden: true, novalidate: true, "aria-label": "Your move" },
      h("label", { for: "prompt" }, "Describe what comes next"),
      this.promptInput, this.promptCount, this.promptError,
      h("fieldset.direction-picker", {},
        h("legend", {}, "Which way does the canvas grow?"),
        h("div.direction-grid", {}, ...cells, h("span.direction-centre", { "aria-hidden": "true" }, "●")),
        this.directionHint),
      this.formError, this.submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    return form;
  }

  get direction() {
    return Object.values(this.radios).find((radio) => radio.checked)?.value ?? null;
  }

  async send() {
    this.promptError.textContent = this.formError.textContent = "";
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
      this.promptInput.value = "";
      this.promptCount.textContent = `0 / ${MAX_PROMPT}`;
    } catch (error) {
      if (error.field === "prompt") {
        this.promptError.textContent = sentence(error.message);
        this.promptInput.focus();
      } else {
        this.formError.textContent = error.plain || error.message;
      }
    } finally {
      this.submit.textContent = "Paint it";
      this.submit.disabled = false;
    }
  }

  /** Redraws from the room; `live` is false while the socket reconnects; `pending` hides the form. */
  update(room, me, { live, pending }) {
    this.room = room;
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
      else this.title.textContent = mine ? "Your turn!" : `${name}'s turn`;
    }
    if (!live) this.kicker.textContent = "Reconnecting… this may be out of date";
    this.updatePainting(room, me);
    const composing = mine && !step && !pending && room.status === "playing";
    if (composing && this.composer.hidden) this.formError.textContent = this.promptError.textContent = "";
    this.composer.hidden = !composing;
    if (composing) this.updateDirections(room);
    this.tick();
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
      : free.length ? "Greyed-out arrows are taken or off the edge." : "No free direction: the canvas is full.";
  }

  updatePainting(room, me) {
    const step = room.step;
    this.painting.hidden = !step;
    if (!step) return;
    const mine = step.player_id === me?.id;
    this.paintingText.textContent = mine ? "The generator is painting your tile…" : `${memberName(room, step.player_id)}'s tile is being painted…`;
    this.paintingPrompt.textContent = step.prompt ? `“${step.prompt}”` : "";
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
    const deadline = this.room?.status === "playing" && !this.room.step ? this.room.turn?.deadline : null;
    this.countdown.hidden = !deadline;
    if (!deadline) return;
    const left = Date.parse(deadline) - Date.now();
    this.countdown.textContent = left > 0 ? `${formatCountdown(left)} left` : "Time is up: skipping…";
    this.countdown.classList.toggle("urgent", left < 10000);
  }
}
