// What the dashboard's panels share: keyed list updates that keep the focus, table cells, short ids.
import { h } from "../dom.js";

/** The first 8 characters of an id: enough to tell rows apart, with the whole id in a title. */
export const short = (id) => String(id).slice(0, 8);

/** A table cell; `label` heads it when the table is laid out as cards on a narrow screen. */
export function cell(label, ...children) {
  return h("td", { "data-label": label }, ...children);
}

/**
 * Keyed update of `parent`'s children: rows that stay keep their nodes (and the keyboard focus
 * inside them), new ones are built, missing ones removed, and the order follows `items`.
 */
export function syncList(parent, items, keyOf, build, update) {
  const existing = new Map([...parent.children].map((node) => [node.dataset.key, node]));
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (node) {
      existing.delete(key);
      update?.(node, item);
    } else {
      node = build(item);
      node.dataset.key = key;
    }
    const wanted = previous ? previous.nextSibling : parent.firstChild;
    if (node !== wanted) parent.insertBefore(node, wanted);
    previous = node;
  }
  for (const node of existing.values()) {
    if (node.contains(document.activeElement)) focusAfterRemoval(parent);
    node.remove();
  }
}

function focusAfterRemoval(parent) {
  const heading = parent.closest("section")?.querySelector("h2");
  if (heading) {
    heading.tabIndex = -1;
    setTimeout(() => heading.focus(), 0);
  }
}
