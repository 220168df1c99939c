// The canvas: tiles placed on the grid, with pan and zoom (mouse, touch and keyboard).
import { h } from "./dom.js";

const MIN_ZOOM = 0.05;
const MAX_ZOOM = 4;
// The widths the server makes WebP display copies at (GET /blobs/{sha256}.webp?w=).
const COPY_WIDTHS = [128, 256, 512, 1024];

export class Board {
  /** `describe(tile)` gives each tile's alt text. */
  constructor(tileSize, describe = (tile) => tile.prompt || "A tile") {
    this.size = tileSize;
    this.describe = describe;
    this.tiles = new Map(); // step_id -> <img>
    this.view = { x: 0, y: 0, zoom: 1 };
    this.copyWidth = 0; // the display copies' width, set by the first framing; it only grows
    this.follow = true; // refit as the canvas grows, until the user pans or zooms
    this.layer = h("div.board-layer");
    this.ghost = h("div.ghost-cell", { hidden: true, "aria-hidden": "true" });
    this.layer.append(this.ghost);
    this.empty = h("p.board-empty", {}, "The canvas is empty. The first tile will appear here.");
    this.overlay = h("div.board-overlay", { hidden: true });
    this.viewport = h("div.board-viewport", {
      tabindex: "0", role: "img",
      "aria-label": "The canvas. Drag or use the arrow keys to pan, + and - to zoom, 0 to fit.",
    }, this.layer, this.empty);
    const zoomButton = (label, text, action) =>
      h("button.icon-button", { type: "button", "aria-label": label, title: label, onclick: action }, text);
    this.controls = h("div.board-controls", {},
      zoomButton("Zoom in", "+", () => this.zoomBy(1.25)),
      zoomButton("Zoom out", "−", () => this.zoomBy(0.8)),
      zoomButton("Fit the canvas to the screen", "⤢", () => { this.follow = true; this.fit(); }));
    this.el = h("div.board", {}, this.viewport, this.overlay, this.controls);
    this.bindGestures();
    this.resizeObserver = new ResizeObserver(() => (this.follow ? this.fit() : this.apply()));
    this.resizeObserver.observe(this.viewport);
  }

  destroy() {
    this.resizeObserver.disconnect();
  }

  /** Shows exactly `tiles` (no animation). */
  setTiles(tiles, stagger = false) {
    for (const img of this.tiles.values()) img.remove();
    this.tiles.clear();
    tiles.forEach((tile, i) => {
      this.addTile(tile, stagger);
      if (stagger) this.tiles.get(tile.step_id).style.animationDelay = `${i * 180}ms`;
    });
    this.empty.hidden = tiles.length > 0;
    this.fit();
  }

  /** Places one tile; a new tile fades in where it lands. */
  addTile(tile, animate = true) {
    if (this.tiles.has(tile.step_id)) return;
    // One pixel wider and taller than its cell: at a zoom that puts a seam between two screen
    // pixels, each image's anti-aliased edge would let the background show through as a faint
    // line; the one-pixel overlap covers it (the tile is stretched by 1/T, which nobody can see).
    // Shown from a WebP display copy as wide as the screen needs (a fraction of the PNG's bytes;
    // the PNG stays the canonical tile), chosen once the board knows its zoom; off-screen tiles
    // load when they scroll near.
    const img = h("img.tile", {
      alt: this.describe(tile), width: this.size + 1, height: this.size + 1,
      draggable: "false", loading: "lazy", decoding: "async",
      dataset: { x: tile.x, y: tile.y, position: tile.position ?? "", url: tile.url },
    });
    if (this.copyWidth) img.src = displayCopy(tile.url, this.copyWidth, this.size);
    img.style.transform = `translate(${tile.x * this.size}px, ${tile.y * this.size}px)`;
    if (animate) img.classList.add("arriving");
    this.layer.insertBefore(img, this.ghost);
    this.tiles.set(tile.step_id, img);
    this.empty.hidden = true;
    if (animate && this.follow) this.fit();
  }

  /** Marks the cell a step will paint (`state` is "preview" or "painting"), or hides it. */
  setGhost(cell, state = "preview", preview = null) {
    this.ghost.hidden = !cell;
    if (!cell) return;
    this.ghost.className = `ghost-cell ghost-${state}`;
    this.ghost.style.transform = `translate(${cell[0] * this.size}px, ${cell[1] * this.size}px)`;
    this.ghost.style.width = this.ghost.style.height = `${this.size}px`;
    // A preview is the generator's whole 2T window; its middle is the tile.
    this.ghost.style.backgroundImage = preview ? `url("${preview}")` : "";
    const cellKey = cell.join(",");
    if (this.ghostCell !== cellKey) {
      this.ghostCell = cellKey;
      if (this.follow) this.fit();
    }
  }

  /** Covers the canvas with `node` (a folded room's view), or uncovers it with null. */
  setOverlay(node) {
    this.overlay.replaceChildren(...(node ? [node] : []));
    this.overlay.hidden = !node;
    this.viewport.hidden = Boolean(node);
    this.controls.hidden = Boolean(node);
  }

  /** Keeps `cells` in the frame when fitting, even before tiles cover them (the timelapse). */
  setFrame(cells) {
    this.frame = cells;
  }

  bounds() {
    const cells = [...this.tiles.values()].map((img) => [Number(img.dataset.x), Number(img.dataset.y)]);
    cells.push(...(this.frame ?? []));
    if (!this.ghost.hidden && this.ghostCell) cells.push(this.ghostCell.split(",").map(Number));
    if (!cells.length) return null;
    const xs = cells.map((c) => c[0]);
    const ys = cells.map((c) => c[1]);
    return { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs) + 1, maxY: Math.max(...ys) + 1 };
  }

  fit() {
    const box = this.bounds();
    const { clientWidth: width, clientHeight: height } = this.viewport;
    if (!box || !width || !height) return;
    const worldW = (box.maxX - box.minX) * this.size;
    const worldH = (box.maxY - box.minY) * this.size;
    const zoom = Math.min(width / worldW, height / worldH, 1.5) * 0.92;
    this.view = {
      zoom,
      x: (width - worldW * zoom) / 2 - box.minX * this.size * zoom,
      y: (height - worldH * zoom) / 2 - box.minY * this.size * zoom,
    };
    this.apply();
  }

  apply() {
    const { x, y, zoom } = this.view;
    this.layer.style.transform = `translate(${x}px, ${y}px) scale(${zoom})`;
    // Zoomed in past what the copies show sharply: every tile moves to wider copies.
    const needed = this.size * zoom * (window.devicePixelRatio || 1);
    const width = COPY_WIDTHS.find((w) => w >= needed) ?? COPY_WIDTHS[COPY_WIDTHS.length - 1];
    if (width <= this.copyWidth || !this.viewport.clientWidth) return;
    this.copyWidth = width;
    for (const img of this.tiles.values()) img.src = displayCopy(img.dataset.url, width, this.size);
  }

  panBy(dx, dy) {
    this.follow = false;
    this.view.x += dx;
    this.view.y += dy;
    this.apply();
  }

  /** Zooms by `factor` around a point of the viewport (its centre by default). */
  zoomBy(factor, px = this.viewport.clientWidth / 2, py = this.viewport.clientHeight / 2) {
    this.follow = false;
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.view.zoom * factor));
    const ratio = zoom / this.view.zoom;
    this.view = { zoom, x: px - (px - this.view.x) * ratio, y: py - (py - this.view.y) * ratio };
    this.apply();
  }

  bindGestures() {
    const pointers = new Map();
    let pinch = null;
    // Two fingers: how far apart, and the point between them (in the viewport's coordinates).
    const fingers = () => {
      const [a, b] = [...pointers.values()];
      const rect = this.viewport.getBoundingClientRect();
      return {
        distance: Math.max(1, Math.hypot(a[0] - b[0], a[1] - b[1])),
        centre: [(a[0] + b[0]) / 2 - rect.left, (a[1] + b[1]) / 2 - rect.top],
      };
    };
    this.viewport.addEventListener("pointerdown", (event) => {
      this.viewport.setPointerCapture(event.pointerId);
      pointers.set(event.pointerId, [event.clientX, event.clientY]);
      this.viewport.classList.add("dragging");
      if (pointers.size === 2) pinch = fingers();
    });
    this.viewport.addEventListener("pointermove", (event) => {
      const last = pointers.get(event.pointerId);
      if (!last) return;
      pointers.set(event.pointerId, [event.clientX, event.clientY]);
      if (pointers.size === 2 && pinch) {
        // The canvas zooms around the point between the fingers and follows it as they move.
        const now = fingers();
        this.panBy(now.centre[0] - pinch.centre[0], now.centre[1] - pinch.centre[1]);
        this.zoomBy(now.distance / pinch.distance, now.centre[0], now.centre[1]);
        pinch = now;
      } else if (!pinch) {
        this.panBy(event.clientX - last[0], event.clientY - last[1]);
      }
    });
    const release = (event) => {
      pointers.delete(event.pointerId);
      // The finger left on the glass after a pinch does not pan until it is lifted too.
      if (!pointers.size) {
        pinch = null;
        this.viewport.classList.remove("dragging");
      }
    };
    this.viewport.addEventListener("pointerup", release);
    this.viewport.addEventListener("pointercancel", release);
    this.viewport.addEventListener("wheel", (event) => {
      event.preventDefault();
      const rect = this.viewport.getBoundingClientRect();
      this.zoomBy(Math.exp(-event.deltaY / 400), event.clientX - rect.left, event.clientY - rect.top);
    }, { passive: false });
    this.viewport.addEventListener("keydown", (event) => {
      const step = 60;
      const actions = {
        ArrowLeft: () => this.panBy(step, 0), ArrowRight: () => this.panBy(-step, 0),
        ArrowUp: () => this.panBy(0, step), ArrowDown: () => this.panBy(0, -step),
        "+": () => this.zoomBy(1.25), "=": () => this.zoomBy(1.25), "-": () => this.zoomBy(0.8),
        0: () => { this.follow = true; this.fit(); },
      };
      if (actions[event.key]) {
        event.preventDefault();
        actions[event.key]();
      }
    });
  }
}

/** /blobs/{sha256}.png -> /blobs/{sha256}.webp?w=width (no `w` at the tile's own size); any
 * other address as it is. */
function displayCopy(url, width, tileSize) {
  if (!/^\/blobs\/[0-9a-f]{64}\.png$/.test(url)) return url;
  return url.replace(/\.png$/, width < tileSize ? `.webp?w=${width}` : ".webp");
}
