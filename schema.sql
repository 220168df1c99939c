-- EXQUISITE schema. Applied at start-up and by `exquisite migrate`, in one transaction under an
-- advisory lock, so it must stay idempotent: every statement is IF NOT EXISTS or equivalent.
-- schema_version: 1

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

CREATE TABLE IF NOT EXISTS credit_ledger (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    delta       integer NOT NULL CHECK (delta <> 0),
    -- signup_grant | step_debit | step_refund | admin_grant | admin_revoke
    kind        text NOT NULL,
    step_id     uuid,
    reason      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS credit_ledger_user ON credit_ledger (user_id);
