// The "Steps in flight" table: one row a step, stuck ones marked, each with its repairs.
import { $, formatCountdown, h } from "../dom.js";
import { cell, short, syncList } from "./lists.js";

/**
 * The table's render(steps); a row's buttons call `askAbort(step, opener)` and
 * `askRelease(roomId, opener)`, `opener` being the button to focus again afterwards.
 */
export function stepsTable({ askAbort, askRelease }) {
  function buildStepRow(step) {
    const row = h("tr", { dataset: { id: step.id } },
      cell("Step", h("code", { title: step.id }, short(step.id)), " ", h("span.badge.stuck-badge", {}, "Stuck")),
      cell("Room", h("code", { title: step.room_id }, short(step.room_id))),
      cell("Painter", `#${step.user_id}`),
      cell("Age", h("span.age")),
      cell("Lease", h("span.lease")),
      cell("Actions", h("div.row-actions", {},
        h("button.danger.small", {
          type: "button", "aria-label": `Abort step ${short(step.id)} and refund its painter`,
          onclick: (event) => askAbort(step, event.currentTarget),
        }, "Abort & refund"),
        h("button.small", {
          type: "button", "aria-label": `Release the lease of room ${short(step.room_id)}`,
          onclick: (event) => askRelease(step.room_id, event.currentTarget),
        }, "Release lease"))));
    updateStepRow(row, step);
    return row;
  }

  return function renderSteps(steps) {
    $("#steps-count").textContent = steps.length;
    $("#steps-empty").hidden = steps.length > 0;
    $("#steps-table").hidden = steps.length === 0;
    syncList($("#steps-table tbody"), steps, (step) => step.id, buildStepRow, updateStepRow);
  };
}

function updateStepRow(row, step) {
  row.classList.toggle("stuck", step.stuck);
  row.querySelector(".age").textContent = formatCountdown(step.age_seconds * 1000);
  const lease = row.querySelector(".lease");
  if (step.lease_expires_in === null || step.lease_expires_in === undefined) lease.textContent = "no lease";
  else if (step.lease_expires_in <= 0) lease.textContent = `expired ${formatCountdown(-step.lease_expires_in * 1000)} ago`;
  else lease.textContent = formatCountdown(step.lease_expires_in * 1000);
}
