-- EXQUISITE schema. Applied at start-up and by `exquisite migrate`, in one transaction under an
-- advisory lock, so it must stay idempotent: every statement is IF NOT EXISTS or equivalent.
-- schema_version: 13

CREATE TABLE IF NOT EXISTS schema_version (
    version     integer PRIMARY KEY,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash   text NOT NULL,
    display_name    text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 40),
    is_admin        boolean NOT NULL DEFAULT false,
    disabled_at     timestamptz,
    -- Cached balance; always equals the sum of this user's credit_ledger rows (invariant I2).
    credits         integer NOT NULL DEFAULT 0 CHECK (credits >= 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sessions (
    -- HMAC-SHA256 of the cookie token: a stolen table row is not a usable cookie.
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);

-- Rooms, turns and steps (docs/architecture.md). ------------------------------------------------

-- Fencing tokens for room leases: strictly increasing across every room and instance.
CREATE SEQUENCE IF NOT EXISTS fencing_tokens;

CREATE TABLE IF NOT EXISTS rooms (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    mode            text NOT NULL CHECK (mode IN ('open', 'folded')),
    status          text NOT NULL DEFAULT 'lobby' CHECK (status IN ('lobby', 'playing', 'finished')),
    tile_size       integer NOT NULL CHECK (tile_size IN (256, 512, 1024)),
    extent_w        integer NOT NULL DEFAULT 8 CHECK (extent_w BETWEEN 1 AND 64),
    extent_h        integer NOT NULL DEFAULT 8 CHECK (extent_h BETWEEN 1 AND 64),
    max_steps       integer NOT NULL CHECK (max_steps >= 1),
    max_members     integer NOT NULL DEFAULT 8 CHECK (max_members >= 1),
    turn_seconds    integer CHECK (turn_seconds > 0),
    host_id         bigint NOT NULL REFERENCES users (id),
    invite_code     text NOT NULL,
    -- The live turn. The nonce changes with every turn, so a request made for an old turn is stale.
    turn_number     integer NOT NULL DEFAULT 0,
    turn_player_id  bigint REFERENCES users (id),
    turn_nonce      text,
    turn_deadline   timestamptz,
    -- Head of the event log: the last seq appended (invariant I4).
    seq             bigint NOT NULL DEFAULT 0,
    tile_count      integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX IF NOT EXISTS rooms_open_playing ON rooms (status, mode, created_at DESC);

CREATE TABLE IF NOT EXISTS room_members (
    room_id     uuid NOT NULL REFERENCES rooms (id),
    user_id     bigint NOT NULL REFERENCES users (id),
    position    integer NOT NULL CHECK (position >= 0),
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, user_id),
    UNIQUE (room_id, position)
);
CREATE INDEX IF NOT EXISTS room_members_user ON room_members (user_id);

CREATE TABLE IF NOT EXISTS steps (
    id              uuid PRIMARY KEY,
    room_id         uuid NOT NULL REFERENCES rooms (id),
    user_id         bigint NOT NULL REFERENCES users (id),
    idempotency_key text NOT NULL,
    -- sha256 of the request body: a replayed key must carry the same request (invariant I5).
    request_hash    bytea NOT NULL,
    status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'committed', 'aborted')),
    reason          text,
    turn_number     integer NOT NULL,
    cell_x          integer NOT NULL,
    cell_y          integer NOT NULL,
    prompt          text NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('left', 'right', 'up', 'down')),
    fencing_token   bigint NOT NULL,
    seed            bigint NOT NULL,
    cost            integer NOT NULL CHECK (cost >= 0),
    seam_score      double precision,
    generator_ms    integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CONSTRAINT steps_user_key UNIQUE (user_id, idempotency_key),
    CONSTRAINT steps_finished CHECK ((status = 'running') = (finished_at IS NULL))
);
-- One step in flight per room, whichever instance runs it (invariant I3).
CREATE UNIQUE INDEX IF NOT EXISTS steps_one_running_per_room ON steps (room_id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS steps_room ON steps (room_id, created_at);

CREATE TABLE IF NOT EXISTS credit_ledger (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    delta       integer NOT NULL CHECK (delta <> 0),
    -- signup_grant | step_debit | step_refund | admin_grant | admin_revoke
    kind        text NOT NULL,
    step_id     uuid REFERENCES steps (id),
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS credit_ledger_user ON credit_ledger (user_id);
CREATE INDEX IF NOT EXISTS credit_ledger_step ON credit_ledger (step_id) WHERE step_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS tiles (
    room_id     uuid NOT NULL REFERENCES rooms (id),
    x           integer NOT NULL,
    y           integer NOT NULL,
    -- Placement order, 0 for the first tile: the path the frontier steps back along.
    position    integer NOT NULL,
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    step_id     uuid NOT NULL UNIQUE REFERENCES steps (id),
    author_id   bigint NOT NULL REFERENCES users (id),
    prompt      text NOT NULL,
    seam_score  double precision,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, x, y),
    UNIQUE (room_id, position)
);

-- Committed tiles never change (invariant I1), whatever code or operator tries.
CREATE OR REPLACE FUNCTION tiles_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tiles are immutable (% on %, %)', TG_OP, OLD.x, OLD.y
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE OR REPLACE TRIGGER tiles_immutable BEFORE UPDATE OR DELETE ON tiles
    FOR EACH ROW EXECUTE FUNCTION tiles_are_immutable();

CREATE TABLE IF NOT EXISTS room_leases (
    room_id         uuid PRIMARY KEY REFERENCES rooms (id),
    step_id         uuid NOT NULL UNIQUE REFERENCES steps (id),
    fencing_token   bigint NOT NULL,
    expires_at      timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS room_events (
    room_id     uuid NOT NULL REFERENCES rooms (id),
    seq         bigint NOT NULL CHECK (seq >= 1),
    kind        text NOT NULL,
    data        jsonb NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),  -- see "Event times" below
    PRIMARY KEY (room_id, seq)
);


-- Operators (README: Operators). -----------------------------------------------------------------

-- One row per admin action, written in the same transaction as its effect.
CREATE TABLE IF NOT EXISTS admin_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    admin_id    bigint NOT NULL REFERENCES users (id),
    action      text NOT NULL,
    target_type text NOT NULL CHECK (target_type IN ('user', 'room', 'step')),
    target_id   text NOT NULL,
    reason      text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    detail      jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS admin_audit_at ON admin_audit (at DESC);
CREATE INDEX IF NOT EXISTS steps_running ON steps (created_at) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS steps_finished_at ON steps (finished_at DESC) WHERE finished_at IS NOT NULL;


-- Games that always finish (schema version 4). ------------------------------------------------

-- A member who leaves or is removed while playing keeps their row (their tiles keep their name)
-- and their place in the order, but is skipped from then on; `removed` may not rejoin.
ALTER TABLE room_members ADD COLUMN IF NOT EXISTS left_at timestamptz;
ALTER TABLE room_members ADD COLUMN IF NOT EXISTS left_reason text;
DO $$ BEGIN
    ALTER TABLE room_members ADD CONSTRAINT room_members_left
        CHECK ((left_at IS NULL) = (left_reason IS NULL) AND left_reason IN ('left', 'removed'));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- When the live turn began; the last time a hub saw a member's socket in the room; the last step;
-- how many turns in a row passed by their deadline with nobody there (a whole round: abandoned).
ALTER TABLE rooms ADD COLUMN IF NOT EXISTS turn_started_at timestamptz;
ALTER TABLE rooms ADD COLUMN IF NOT EXISTS member_seen_at timestamptz;
ALTER TABLE rooms ADD COLUMN IF NOT EXISTS last_step_at timestamptz;
ALTER TABLE rooms ADD COLUMN IF NOT EXISTS unattended_turns integer NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN IF NOT EXISTS rematch_id uuid REFERENCES rooms (id);
CREATE INDEX IF NOT EXISTS rooms_invite_code ON rooms (invite_code);

-- The daily allowance: at most one grant per user per UTC day, however many instances race.
ALTER TABLE credit_ledger ADD COLUMN IF NOT EXISTS grant_day date;
CREATE UNIQUE INDEX IF NOT EXISTS credit_ledger_daily ON credit_ledger (user_id, grant_day)
    WHERE kind = 'daily_grant';
CREATE INDEX IF NOT EXISTS credit_ledger_user_id ON credit_ledger (user_id, id DESC);

-- The service's heartbeat: every instance's reaper beats it. A gap means no instance was serving,
-- and the turn clocks are given the outage back.
CREATE TABLE IF NOT EXISTS service_clock (
    id              integer PRIMARY KEY CHECK (id = 1),
    heartbeat_at    timestamptz NOT NULL
);
INSERT INTO service_clock (id, heartbeat_at) VALUES (1, now()) ON CONFLICT (id) DO NOTHING;

-- Balances, live: after each commit that changes a user's credits, every instance hears of it
-- (storage/credit_feed.py), so their open pages show it without asking.
CREATE OR REPLACE FUNCTION announce_credits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('exquisite_credits', NEW.id || ':' || NEW.credits);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER users_credits_announced AFTER UPDATE OF credits ON users
    FOR EACH ROW WHEN (OLD.credits IS DISTINCT FROM NEW.credits) EXECUTE FUNCTION announce_credits();

-- Buying credits (schema version 6). -------------------------------------------------------------

-- One row per Stripe Checkout Session we created; the webhook, not the redirect, moves it on.
CREATE TABLE IF NOT EXISTS purchases (
    session_id      text PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id),
    credits         integer NOT NULL CHECK (credits > 0),
    amount          integer NOT NULL CHECK (amount > 0),
    currency        text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'paid', 'refunded', 'disputed')),
    payment_intent  text,
    -- Credits taken back after a refund or dispute, and what the balance could not give back.
    clawed_back     integer NOT NULL DEFAULT 0 CHECK (clawed_back >= 0),
    shortfall       integer NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    paid_at         timestamptz
);
CREATE INDEX IF NOT EXISTS purchases_user ON purchases (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS purchases_payment_intent ON purchases (payment_intent);

-- Every webhook event id we acted on: a replay finds its id here and does nothing.
CREATE TABLE IF NOT EXISTS stripe_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- A paid session is credited once: one `purchase` entry per session, whatever the deliveries.
ALTER TABLE credit_ledger ADD COLUMN IF NOT EXISTS purchase_session text REFERENCES purchases (session_id);
CREATE UNIQUE INDEX IF NOT EXISTS credit_ledger_purchase ON credit_ledger (purchase_session)
    WHERE kind = 'purchase';

-- The payment provider acts too: its changes are audited with no operator.
ALTER TABLE admin_audit ALTER COLUMN admin_id DROP NOT NULL;

-- How far the generator strayed from the context it was given (schema version 7); see engine/seam.py.
ALTER TABLE steps ADD COLUMN IF NOT EXISTS context_drift double precision;
ALTER TABLE tiles ADD COLUMN IF NOT EXISTS context_drift double precision;

-- Superseded (schema version 8's round-trip functions): lock_for_step now takes the
-- Idempotency-Key too, and the commit's locking read is lock_for_commit_and_turn(), both below.
DROP FUNCTION IF EXISTS lock_for_step(uuid, bigint);
DROP FUNCTION IF EXISTS lock_for_commit(uuid, bigint);

-- Revocations, live (schema version 9): a revoked session or a disabled user is announced after
-- commit, so every instance closes the sockets it held (storage/account_feed.py).
CREATE OR REPLACE FUNCTION announce_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify('exquisite_revoked', NEW.user_id || ':' || encode(NEW.token_hash, 'hex'));
    ELSE
        PERFORM pg_notify('exquisite_revoked', NEW.id || ':*');
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER sessions_revoked_announced AFTER UPDATE OF revoked_at ON sessions
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION announce_revocation();
CREATE OR REPLACE TRIGGER users_disabled_announced AFTER UPDATE OF disabled_at ON users
    FOR EACH ROW WHEN (OLD.disabled_at IS NULL AND NEW.disabled_at IS NOT NULL) EXECUTE FUNCTION announce_revocation();

-- Canvases and retention (schema version 10). ----------------------------------------------------

-- A finished room's composite, rendered once per tile count and scale and kept as a blob
-- (server/play/canvas.py); `tile_side` is the pixels each tile got in it.
CREATE TABLE IF NOT EXISTS canvases (
    room_id     uuid NOT NULL REFERENCES rooms (id),
    tile_count  integer NOT NULL CHECK (tile_count >= 0),
    tile_side   integer NOT NULL CHECK (tile_side >= 1),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, tile_count, tile_side)
);

-- Blob retention asks whether a blob is referenced (storage/retention.py), by tile or canvas.
CREATE INDEX IF NOT EXISTS tiles_sha256 ON tiles (sha256);
CREATE INDEX IF NOT EXISTS canvases_sha256 ON canvases (sha256);

-- Account lifecycle (schema version 10). --------------------------------------------------------
-- A session also ends after SESSION_IDLE_DAYS unused (storage/accounts.py::session_user records
-- a use at most once per few minutes); rows from before start as used now.
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS last_seen_at timestamptz NOT NULL DEFAULT now();
-- The lobby quota counts a host's rooms still in the lobby (server/http/rooms.py, create).
CREATE INDEX IF NOT EXISTS rooms_lobby_host ON rooms (host_id) WHERE status = 'lobby';

-- Display copies and timelapses (schema version 10). ---------------------------------------------
-- A tile's WebP display copies, one per width asked, each made once on first request
-- (server/play/renders.py); the PNG stays the canonical blob. A round's animated timelapse, once per room and tile count.
CREATE TABLE IF NOT EXISTS display_copies (
    tile_sha256 text NOT NULL CHECK (tile_sha256 ~ '^[0-9a-f]{64}$'),
    width       integer NOT NULL CHECK (width >= 1),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tile_sha256, width)
);
CREATE TABLE IF NOT EXISTS timelapses (
    room_id     uuid NOT NULL REFERENCES rooms (id),
    tile_count  integer NOT NULL CHECK (tile_count >= 1),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (room_id, tile_count)
);
CREATE INDEX IF NOT EXISTS display_copies_sha256 ON display_copies (sha256);
CREATE INDEX IF NOT EXISTS timelapses_sha256 ON timelapses (sha256);

-- Presentations (schema version 10). -------------------------------------------------------------
-- The shared reveal: the timelapse frame the host of a finished room shows every open page now
-- (server/live/presentation.py), read by sockets that open later on any instance. `frame` is the
-- number of tiles shown, NULL once the host stopped; `updated_at` orders the frames per room.
CREATE TABLE IF NOT EXISTS presentations (
    room_id     uuid PRIMARY KEY REFERENCES rooms (id),
    frame       integer CHECK (frame >= 0 AND frame <= tile_count),
    tile_count  integer NOT NULL CHECK (tile_count >= 0),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Fewer round trips per step (schema version 10). ------------------------------------------------
-- Check + TX1 is two statements and no transaction (server/play/begin.py): lock_for_step() above
-- reads the check's facts (in a statement of its own it holds the room lock only while it reads),
-- then begin_step() writes the step only if the room's seq is still the one the check read. Every
-- change the check looks at (members, status, turn, a running step, tiles) appends an event, so an
-- unchanged seq means the check still holds; a moved one returns no row and the check runs again.
-- The daily allowance is topped up first when due, as storage/credits.py::grant_daily() does it.
CREATE OR REPLACE FUNCTION begin_step(
    p_room_seq bigint, p_allowance integer, p_step uuid, p_room uuid, p_user bigint, p_key text,
    p_request_hash bytea, p_turn integer, p_x integer, p_y integer, p_prompt text, p_direction text,
    p_seed bigint, p_cost integer, p_lease_seconds double precision, p_event_kind text, p_event_data jsonb,
    p_debit_kind text)
RETURNS TABLE (r_step steps, r_seq bigint, r_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_token bigint;
    v_credits integer;
    v_seq bigint;
    v_at timestamptz;
BEGIN
    PERFORM 1 FROM rooms WHERE rooms.id = p_room AND rooms.seq = p_room_seq FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_allowance > 0 THEN
        SELECT u.credits INTO v_credits FROM users u WHERE u.id = p_user FOR UPDATE;
        IF v_credits < p_allowance THEN
            INSERT INTO credit_ledger (user_id, delta, kind, grant_day)
            VALUES (p_user, p_allowance - v_credits, 'daily_grant', (now() AT TIME ZONE 'UTC')::date)
            ON CONFLICT (user_id, grant_day) WHERE kind = 'daily_grant' DO NOTHING;
            IF FOUND THEN
                UPDATE users SET credits = credits + (p_allowance - v_credits) WHERE users.id = p_user;
            END IF;
        END IF;
    END IF;
    v_token := nextval('fencing_tokens');
    INSERT INTO steps (id, room_id, user_id, idempotency_key, request_hash, turn_number, cell_x, cell_y, prompt,
                       direction, fencing_token, seed, cost)
    VALUES (p_step, p_room, p_user, p_key, p_request_hash, p_turn, p_x, p_y, p_prompt, p_direction, v_token,
            p_seed, p_cost);
    -- A lease already held is a unique violation, which the caller reads as step_in_flight.
    INSERT INTO room_leases (room_id, step_id, fencing_token, expires_at)
    VALUES (p_room, p_step, v_token, now() + make_interval(secs => p_lease_seconds));
    -- The debit, as storage/credits.py::post_credits() writes it; past zero is a check violation.
    UPDATE users SET credits = credits - p_cost WHERE users.id = p_user;
    IF p_cost <> 0 THEN
        INSERT INTO credit_ledger (user_id, delta, kind, step_id) VALUES (p_user, -p_cost, p_debit_kind, p_step);
    END IF;
    -- `step.started`, its seq taken from the room row as storage/events.py::append_event() does.
    UPDATE rooms SET seq = seq + 1, last_step_at = now(), unattended_turns = 0 WHERE rooms.id = p_room
    RETURNING rooms.seq INTO v_seq;
    INSERT INTO room_events (room_id, seq, kind, data) VALUES (p_room, v_seq, p_event_kind, p_event_data)
    RETURNING room_events.at INTO v_at;
    RETURN QUERY SELECT s, v_seq, v_at FROM steps s WHERE s.id = p_step;
END
$$;

-- TX2's locking read (storage/rooms.py::lock_for_commit): lock_for_commit() above, plus what the
-- next turn needs, so that TX2 is this read and one statement of writes: the turn order (those who
-- left too, with their places), each member's balance and the transaction's clock.
CREATE OR REPLACE FUNCTION lock_for_commit_and_turn(p_room uuid, p_token bigint)
RETURNS TABLE (r_room rooms, r_held boolean, r_xs integer[], r_ys integer[], r_now timestamptz,
               r_user_ids bigint[], r_names text[], r_positions integer[], r_left_reasons text[],
               r_left_ats timestamptz[], r_credits integer[])
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM rooms WHERE rooms.id = p_room FOR UPDATE;
    RETURN QUERY
    SELECT r,
           EXISTS (SELECT 1 FROM room_leases l
                   WHERE l.room_id = p_room AND l.fencing_token = p_token AND l.expires_at > now() FOR UPDATE),
           t.xs, t.ys, now(), o.user_ids, o.names, o.positions, o.left_reasons, o.left_ats, o.credits
    FROM rooms r,
         LATERAL (SELECT coalesce(array_agg(tile.x ORDER BY tile.position), '{}') AS xs,
                         coalesce(array_agg(tile.y ORDER BY tile.position), '{}') AS ys
                  FROM tiles tile WHERE tile.room_id = p_room) t,
         LATERAL (SELECT coalesce(array_agg(m.user_id ORDER BY m.position), '{}') AS user_ids,
                         coalesce(array_agg(u.display_name ORDER BY m.position), '{}') AS names,
                         coalesce(array_agg(m.position ORDER BY m.position), '{}') AS positions,
                         coalesce(array_agg(m.left_reason ORDER BY m.position), '{}') AS left_reasons,
                         coalesce(array_agg(m.left_at ORDER BY m.position), '{}') AS left_ats,
                         coalesce(array_agg(u.credits ORDER BY m.position), '{}') AS credits
                  FROM room_members m JOIN users u ON u.id = m.user_id WHERE m.room_id = p_room) o
    WHERE r.id = p_room;
END
$$;


-- Event times (schema version 11). ---------------------------------------------------------------

-- An event's `at` is when its row is written, under the room lock, not when its transaction began
-- (now()): so `at` rises with seq in a room, and a commit's events carry the time of its
-- statement of writes rather than of its BEGIN, before the locking read. bench/live.py measures the
-- feed from it. (commit_step() below, schema version 13, stamps a commit's events with one reading.)
ALTER TABLE room_events ALTER COLUMN at SET DEFAULT clock_timestamp();


-- The check reads the tiles' addresses too (schema version 12). ----------------------------------

-- Painting needs the new cell's neighbours, which no one but the step may add while its lease
-- holds: the check reads them, and the step no longer reads the room's tiles again (one round trip
-- a step). It supersedes schema version 10's lock_for_step(uuid, bigint, text), which returned the
-- cells alone: a database that has it keeps it, so that instances still on the previous release
-- go on checking steps during a rolling deploy. A later version may drop it.

-- Check + TX1's reads (storage/rooms.py::lock_for_step), the Idempotency-Key's step among them:
-- the key is looked up after the room lock, so a replay that waited for the lock sees the step its
-- original committed, whatever happened to the turn since (invariant I5). A row even for an
-- unknown room, so that the key is answered first.
CREATE OR REPLACE FUNCTION lock_for_step_and_tiles(p_room uuid, p_user bigint, p_key text)
RETURNS TABLE (r_room rooms, r_member boolean, r_running boolean, r_xs integer[], r_ys integer[], r_shas text[],
               r_credits integer, r_step steps)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM 1 FROM rooms WHERE rooms.id = p_room FOR UPDATE;
    RETURN QUERY
    SELECT r,
           EXISTS (SELECT 1 FROM room_members m
                   WHERE m.room_id = p_room AND m.user_id = p_user AND m.left_at IS NULL),
           EXISTS (SELECT 1 FROM steps s WHERE s.room_id = p_room AND s.status = 'running'),
           coalesce(t.xs, '{}'), coalesce(t.ys, '{}'), coalesce(t.shas, '{}'),
           (SELECT u.credits FROM users u WHERE u.id = p_user),
           (SELECT s FROM steps s WHERE s.user_id = p_user AND s.idempotency_key = p_key)
    FROM (SELECT 1) AS one LEFT JOIN rooms r ON r.id = p_room
    CROSS JOIN LATERAL (SELECT array_agg(x ORDER BY position) AS xs, array_agg(y ORDER BY position) AS ys,
                               array_agg(sha256 ORDER BY position) AS shas
                        FROM tiles WHERE tiles.room_id = p_room) t;
END
$$;


-- TX2 without a transaction held open (schema version 13). ---------------------------------------

-- TX2 as TX1 is: its read (lock_for_commit_and_turn() above, in a statement of its own) and then
-- this one statement of writes, which Postgres commits as it ends, so the feed's clock (the events'
-- `at`) runs to one round trip's end rather than two (the writes', then COMMIT's). The writes
-- happen only if the room's seq is still the one the read saw (every change the next turn depends
-- on appends an event) and our unexpired lease is still there; otherwise nothing is written, no
-- row is returned, and the caller reads again (server/play/step.py::commit). Under the room lock
-- and then the lease's, as every transaction takes them: the tile (its cell's key the last guard
-- of 'never repainted'), the room's tile count, the step committed, the lease released, then
-- either the next turn begun or, with p_finish, the room finished, and the events (kinds and JSON
-- data) appended in order with the next seqs, stamped with one reading of the clock. Returns the
-- first event's seq and that time.
CREATE OR REPLACE FUNCTION commit_step(
    p_room_seq bigint, p_room uuid, p_token bigint, p_x integer, p_y integer, p_position integer, p_sha256 text,
    p_step uuid, p_author bigint, p_prompt text, p_seam_score double precision, p_context_drift double precision,
    p_generator_ms integer, p_kinds text[], p_datas text[], p_finish boolean, p_turn_number integer,
    p_turn_player bigint, p_turn_nonce text, p_turn_deadline timestamptz)
RETURNS TABLE (r_seq bigint, r_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_before bigint;
    v_at timestamptz;
BEGIN
    PERFORM 1 FROM rooms WHERE rooms.id = p_room AND rooms.seq = p_room_seq FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    DELETE FROM room_leases l WHERE l.room_id = p_room AND l.fencing_token = p_token AND l.expires_at > now();
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO tiles (room_id, x, y, position, sha256, step_id, author_id, prompt, seam_score, context_drift)
    VALUES (p_room, p_x, p_y, p_position, p_sha256, p_step, p_author, p_prompt, p_seam_score, p_context_drift);
    UPDATE steps SET status = 'committed', reason = NULL, seam_score = p_seam_score, generator_ms = p_generator_ms,
                     context_drift = p_context_drift, finished_at = now()
    WHERE steps.id = p_step AND steps.status = 'running';
    UPDATE rooms SET tile_count = tile_count + 1, seq = seq + cardinality(p_kinds),
                     status = CASE WHEN p_finish THEN 'finished' ELSE status END,
                     finished_at = CASE WHEN p_finish THEN now() ELSE finished_at END,
                     turn_number = CASE WHEN p_finish THEN turn_number ELSE p_turn_number END,
                     turn_player_id = CASE WHEN p_finish THEN turn_player_id ELSE p_turn_player END,
                     turn_nonce = CASE WHEN p_finish THEN NULL ELSE p_turn_nonce END,
                     turn_deadline = CASE WHEN p_finish THEN NULL ELSE p_turn_deadline END,
                     turn_started_at = CASE WHEN p_finish THEN turn_started_at ELSE now() END
    WHERE rooms.id = p_room
    RETURNING rooms.seq - cardinality(p_kinds) INTO v_before;
    v_at := clock_timestamp();
    INSERT INTO room_events (room_id, seq, kind, data, at)
    SELECT p_room, v_before + e.n, e.kind, e.data::jsonb, v_at
    FROM unnest(p_kinds, p_datas) WITH ORDINALITY AS e(kind, data, n);
    RETURN QUERY SELECT v_before + 1, v_at;
END
$$;
