// "Your turn" for a player who is in another tab: while this tab is hidden and the turn waits for
// them, its title and favicon say so; when the turn begins in a hidden tab, an optional beep and,
// if the browser allows it, a notification. All of it goes when the tab is seen or the turn moves on.
import { h } from "./dom.js";
import { isMember, isMyTurn } from "./roomstate.js";
import { AWAY } from "./words.js";

const SOUND_KEY = "exq:turn-sound";
// The four squares of index.html's icon, with a red dot over the top-right one.
const SQUARES = [[0, 0, "#ff5d73"], [8, 0, "#ffc94d"], [0, 8, "#4dc9ff"], [8, 8, "#7a5cff"]];
const BADGED_ICON = `data:image/svg+xml,${encodeURIComponent(
  `<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>${
    SQUARES.map(([x, y, fill]) => `<rect x='${x}' y='${y}' width='8' height='8' fill='${fill}'/>`).join("")
  }<circle cx='11.5' cy='4.5' r='4' fill='#e0112b' stroke='#fff' stroke-width='1.2'/></svg>`)}`;

const hidden = () => document.visibilityState === "hidden";
const notifications = () => ("Notification" in window ? window.Notification : null);

export class Attention {
  constructor() {
    this.icon = document.querySelector("link[rel~='icon']");
    this.plainIcon = this.icon?.getAttribute("href") ?? null;
    this.plainTitle = document.title;
    this.begun = null; // the turn of this viewer's last seen start, so that it calls once
    this.waiting = false; // the turn is this viewer's and nothing is painting yet
    this.sound = h("button.quiet.attention-sound", { type: "button", onclick: () => this.toggleSound() },
      h("span", { "aria-hidden": "true" }, "♪ "), AWAY.sound);
    this.notifyButton = h("button.quiet.attention-notify", { type: "button", onclick: () => this.askPermission() },
      AWAY.notify);
    this.notifyNote = h("p.hint.attention-note", { role: "status", tabindex: "-1" });
    this.el = h("section.attention", { "aria-labelledby": "attention-title", hidden: true },
      h("h2", { id: "attention-title" }, AWAY.heading),
      h("p.hint", {}, AWAY.hint),
      h("div.attention-actions", {}, this.notifyButton, this.sound),
      this.notifyNote);
    this.setSound(localStorage.getItem(SOUND_KEY) === "on");
    this.showPermission();
    this.onVisibility = () => this.show();
    document.addEventListener("visibilitychange", this.onVisibility);
    // Browsers start sound only after the person did something on the page.
    this.onGesture = () => this.sound.getAttribute("aria-pressed") === "true" && this.audioContext();
    document.addEventListener("pointerdown", this.onGesture, { capture: true });
    document.addEventListener("keydown", this.onGesture, { capture: true });
  }

  destroy() {
    document.removeEventListener("visibilitychange", this.onVisibility);
    document.removeEventListener("pointerdown", this.onGesture, { capture: true });
    document.removeEventListener("keydown", this.onGesture, { capture: true });
    this.waiting = false;
    this.show();
    this.audio?.close().catch(() => {});
  }

  /** Called on every redraw of the room page with the title it would have when seen. */
  update(room, me, title) {
    this.room = room;
    this.plainTitle = title;
    this.el.hidden = !isMember(room, me) || room.status === "finished";
    this.waiting = isMyTurn(room, me) && !room.step;
    const turn = this.waiting ? `${room.id}:${room.turn.number}` : null;
    if (turn && turn !== this.begun) {
      this.begun = turn;
      if (hidden()) this.call(room);
    }
    this.show();
  }

  /** The title and icon for now: badged while hidden and waiting, else as they were. */
  show() {
    const away = this.waiting && hidden();
    document.title = away ? AWAY.title(this.room.name) : this.plainTitle;
    const href = away ? BADGED_ICON : this.plainIcon;
    if (this.icon && href && this.icon.getAttribute("href") !== href) this.icon.setAttribute("href", href);
    if (!away) {
      this.note?.close();
      this.note = null;
    }
  }

  /** The turn began while nobody looks: a beep if asked for, a notification if allowed. */
  call(room) {
    if (this.sound.getAttribute("aria-pressed") === "true") this.beep();
    const Notice = notifications();
    if (Notice?.permission !== "granted") return;
    try {
      // One per room: a later turn's notification replaces this one.
      this.note = new Notice(AWAY.noteTitle, { body: AWAY.noteBody(room.name), tag: `exquisite-turn-${room.id}` });
    } catch {
      return; // Chrome on Android only notifies through a service worker
    }
    this.note.onclick = () => {
      window.focus();
      this.note?.close();
    };
  }

  toggleSound() {
    const on = this.sound.getAttribute("aria-pressed") !== "true";
    this.setSound(on);
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    if (on) this.beep(); // what it will sound like, and the click lets the page play it later
  }

  setSound(on) {
    this.sound.setAttribute("aria-pressed", String(on));
  }

  audioContext() {
    const Context = window.AudioContext ?? window.webkitAudioContext;
    if (!Context) return null;
    this.audio ??= new Context();
    if (this.audio.state === "suspended") this.audio.resume().catch(() => {});
    return this.audio;
  }

  /** Two short rising notes, made on the spot: no audio file to fetch. */
  beep() {
    const audio = this.audioContext();
    if (!audio) return;
    const now = audio.currentTime;
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.type = "sine";
    tone.frequency.setValueAtTime(660, now);
    tone.frequency.setValueAtTime(990, now + 0.14);
    volume.gain.setValueAtTime(0.0001, now);
    volume.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    volume.gain.exponentialRampToValueAtTime(0.0001, now + 0.32);
    tone.connect(volume).connect(audio.destination);
    tone.start(now);
    tone.stop(now + 0.34);
  }

  async askPermission() {
    if (this.asking) return;
    this.asking = true; // not disabled meanwhile: a disabled button would drop the focus
    try {
      await notifications().requestPermission();
    } finally {
      this.asking = false;
      const hadFocus = document.activeElement === this.notifyButton;
      this.showPermission();
      if (hadFocus && this.notifyButton.hidden) this.notifyNote.focus(); // not lost to the page's body
    }
  }

  /** The button while the browser may still ask; what was decided once it has. */
  showPermission() {
    const permission = notifications()?.permission ?? "unsupported";
    this.notifyButton.hidden = permission !== "default";
    this.notifyNote.hidden = !["granted", "denied"].includes(permission);
    this.notifyNote.textContent = { granted: AWAY.notifyOn, denied: AWAY.notifyBlocked }[permission] ?? "";
  }
}
