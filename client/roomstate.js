// Folds the room's events into its snapshot (docs/protocol.md). Pure: no DOM, no network.

/** Applies one event to `room` in place; returns what the views need to react to. */
export function applyEvent(room, { seq, kind, data }) {
  room.seq = Math.max(room.seq, seq);
  room.former_members ??= [];
  switch (kind) {
    case "member.joined":
      if (!room.members.some((m) => m.user_id === data.user_id)) {
        room.members.push({ user_id: data.user_id, display_name: data.display_name, position: data.position });
        room.members.sort((a, b) => a.position - b.position);
      }
      room.former_members = room.former_members.filter((m) => m.user_id !== data.user_id);
      break;
    case "member.left": {
      const leaver = room.members.find((m) => m.user_id === data.user_id);
      room.members = room.members.filter((m) => m.user_id !== data.user_id);
      // Their tiles stay on the canvas, so their name is kept to credit them.
      if (!room.former_members.some((m) => m.user_id === data.user_id)) {
        room.former_members.push({ user_id: data.user_id, display_name: data.display_name ?? leaver?.display_name ?? "Someone" });
      }
      break;
    }
    case "room.host_changed":
      room.host_id = data.host_id;
      break;
    case "room.started":
      room.status = "playing";
      break;
    case "turn.changed":
    case "turn.skipped":
    case "turn.extended":
      if (data.turn) {
        // The same turn given more time keeps its nonce, should this copy not carry it.
        const same = room.turn && room.turn.number === data.turn.number && room.turn.player_id === data.turn.player_id;
        room.turn = same && !data.turn.nonce && room.turn.nonce ? { ...data.turn, nonce: room.turn.nonce } : data.turn;
        // A folded room tells only the player whose turn it is where the way on is: what this
        // viewer held belongs to another turn, unknown until a fresh snapshot says.
        if (!same) room.free_directions = null;
      }
      break;
    case "step.started":
      room.step = {
        id: data.step_id, player_id: data.player_id,
        direction: data.direction, cell: data.cell, prompt: data.prompt,
      };
      room.progress = { fraction: 0, preview: null };
      break;
    case "step.committed":
      room.step = null;
      room.progress = null;
      room.tile_count += 1;
      // The same transaction passed the turn on: until turn.changed says to whom, it is nobody's
      // (so the page asks nothing of a turn that is over, e.g. a folded room's edge).
      if (room.turn) room.turn = { ...room.turn, over: true, nonce: undefined };
      if (data.tile && !room.tiles.some((t) => t.step_id === data.tile.step_id)) {
        room.tiles.push(data.tile);
        room.frontier = [data.tile.x, data.tile.y];
      }
      // Where the next step may go is recomputed by the server (a folded room's other players do
      // not even get the tile); until a fresh snapshot says, offer nothing that might be refused.
      room.free_directions = null;
      break;
    case "step.aborted":
      room.step = null;
      room.progress = null;
      // The turn stays with the player, maybe with a later deadline to try again.
      if (data.turn) room.turn = data.turn;
      break;
    case "room.finished":
      room.status = "finished";
      room.turn = null;
      room.step = null;
      room.progress = null;
      break;
    case "room.rematch":
      room.rematch_id = data.room_id;
      break;
    default:
      break;
  }
  return { kind, data };
}

/** A member's name, or a former member's (who left or was removed), or "Someone". */
export const memberName = (room, userId) =>
  room.members.find((m) => m.user_id === userId)?.display_name
  ?? room.former_members?.find((m) => m.user_id === userId)?.display_name
  ?? "Someone";

export const isMember = (room, user) => Boolean(user) && room.members.some((m) => m.user_id === user.id);

export const isHost = (room, user) => Boolean(user) && room.host_id === user.id;

export const isMyTurn = (room, user) =>
  Boolean(user) && room.status === "playing" && room.turn?.player_id === user.id && !room.turn.over;

/** Whether this viewer may see the pixels now (folded rooms hide them until the reveal). */
export const showsCanvas = (room) => room.mode === "open" || room.status === "finished";

const DELTAS = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] };

/** The cell a step in `direction` paints: next to the frontier, or (0, 0) for the first tile. */
export function targetCell(room, direction) {
  if (!room.frontier || room.tile_count === 0) return [0, 0];
  const [dx, dy] = DELTAS[direction];
  return [room.frontier[0] + dx, room.frontier[1] + dy];
}
