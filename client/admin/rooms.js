// The "Rooms" table: over HTTP, with a status filter, each room with the repairs its state allows.
import { api, ApiError } from "../api.js";
import { $, ago, h } from "../dom.js";
import { STATUS_LABELS } from "../words.js";
import { cell, short, syncList } from "./lists.js";

/**
 * Binds the status filter and returns loadRooms(), which fetches the rooms again. A row's buttons
 * call `askRelease(roomId, opener, name)` and `askFinish(room, opener)`; `onRefused()` is called
 * when the server says the page is no longer the operator's.
 */
export function roomsPanel({ askRelease, askFinish, onRefused }) {
  let roomsRequest = 0;

  async function loadRooms() {
    const status = $("#rooms-status").value;
    const ticket = ++roomsRequest;
    try {
      const { rooms } = await api("GET", `/api/admin/rooms${status ? `?status=${status}` : ""}`);
      if (ticket !== roomsRequest) return;
      $("#rooms-error").textContent = "";
      renderRooms(rooms);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (ticket !== roomsRequest) return;
      if (error.status === 401 || error.code === "not_admin") return onRefused();
      $("#rooms-error").textContent = error.message;
    }
  }

  function renderRooms(rooms) {
    $("#rooms-empty").hidden = rooms.length > 0;
    $("#rooms-table").hidden = rooms.length === 0;
    // A room's actions depend on its state: rebuild a row when that changes.
    const keyOf = (room) => `${room.id}:${room.status}:${room.running_step || ""}`;
    syncList($("#rooms-table tbody"), rooms, keyOf, buildRoomRow, updateRoomRow);
  }

  function buildRoomRow(room) {
    const actions = h("div.row-actions");
    if (room.running_step) {
      actions.append(h("button.small", {
        type: "button", "aria-label": `Release the lease of room ${room.name}`,
        onclick: (event) => askRelease(room.id, event.currentTarget, room.name),
      }, "Release lease"));
    }
    if (room.status === "playing") {
      actions.append(h("button.danger.small", {
        type: "button", "aria-label": `Finish room ${room.name}`,
        onclick: (event) => askFinish(room, event.currentTarget),
      }, "Finish"));
    }
    const row = h("tr", { dataset: { id: room.id } },
      cell("Room", h("div.room-cell", {}, h("span.room-name", {}, room.name), h("br"),
        h("code", { title: room.id }, short(room.id)), h("span.hint", {}, ` · ${room.mode} · host #${room.host_id}`))),
      cell("Status", h("span.chip.status", { "data-status": room.status }, STATUS_LABELS[room.status] || room.status)),
      cell("Players", h("span.members")),
      cell("Tiles", h("span.tiles")),
      cell("Created", h("time", { datetime: room.created_at, title: new Date(room.created_at).toLocaleString() })),
      cell("Actions", actions));
    updateRoomRow(row, room);
    return row;
  }

  $("#rooms-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    loadRooms();
  });
  $("#rooms-status").addEventListener("change", () => loadRooms());
  return loadRooms;
}

function updateRoomRow(row, room) {
  row.querySelector(".members").textContent = room.member_count;
  row.querySelector(".tiles").textContent = `${room.tile_count} / ${room.max_steps}`;
  row.querySelector("time").textContent = ago(room.created_at);
}
