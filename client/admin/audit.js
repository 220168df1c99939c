// The audit log: every operator action with its reason, newest first, fresh ones highlighted.
import { $, ago, h } from "../dom.js";
import { short, syncList } from "./lists.js";

const ACTION_LABELS = {
  abort_step: "Aborted a step",
  release_lease: "Released a lease",
  finish_room: "Finished a room",
  admin_grant: "Granted credits",
  admin_revoke: "Revoked credits",
  disable_user: "Disabled a user",
};

function auditDetail(entry) {
  const detail = entry.detail || {};
  if (entry.action === "admin_grant" || entry.action === "admin_revoke") {
    const delta = detail.delta > 0 ? `+${detail.delta}` : String(detail.delta);
    return `${delta} credits, balance ${detail.balance}`;
  }
  if (entry.action === "abort_step" && detail.refund !== undefined) return `refunded ${detail.refund}`;
  if (entry.action === "disable_user" && detail.sessions_revoked !== undefined) {
    return `${detail.sessions_revoked} session${detail.sessions_revoked === 1 ? "" : "s"} revoked`;
  }
  return "";
}

export function renderAudit(entries) {
  $("#audit-empty").hidden = entries.length > 0;
  const list = $("#audit");
  const firstRender = !list.dataset.ready;
  list.dataset.ready = "1";
  syncList(list, entries, (entry) => entry.id, (entry) => {
    const target = entry.target_type === "user" ? `user #${entry.target_id}` : `${entry.target_type} ${short(entry.target_id)}`;
    const detail = auditDetail(entry);
    const item = h("li", { dataset: { action: entry.action, id: entry.id } },
      h("div.audit-head", {},
        h("strong", {}, ACTION_LABELS[entry.action] || entry.action),
        h("code.action-code", {}, entry.action),
        h("time", { datetime: entry.at, title: new Date(entry.at).toLocaleString() }, ago(entry.at))),
      h("div.audit-target", {}, h("span", { title: entry.target_id }, target), detail ? ` · ${detail}` : "",
        ` · by #${entry.admin_id}`),
      h("q.audit-reason", {}, entry.reason));
    if (!firstRender) item.classList.add("fresh");
    item.entry = entry;
    return item;
  }, (item, entry) => {
    item.entry = entry;
    const time = item.querySelector("time");
    const text = ago(entry.at);
    if (time.textContent !== text) time.textContent = text;
  });
}

/** Shows an action's own audit row at once; the next overview frame confirms it. */
export function mergeAudit(entry) {
  const list = $("#audit");
  if (list.querySelector(`[data-key="${entry.id}"]`)) return;
  const current = [...list.children].map((node) => node.entry);
  renderAudit([entry, ...current].slice(0, 20));
}
