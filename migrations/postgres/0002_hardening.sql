-- Hardening (issue 6): per-kind send budgets checked and spent in one statement, the
-- contractor's language for messages, the session allowed to make a forced change, and the
-- server's keys (keyed hashes of typed identifiers, CSRF binding, device cookies).

-- One row per budget ('temporary_password:account:42', 'reset_link:to:<digest>', ...): the
-- last send and a 24-hour window with its count. Spent by one conditional UPDATE.
CREATE TABLE send_budgets (
    key          TEXT PRIMARY KEY,
    last_at      BIGINT NOT NULL DEFAULT 0,
    window_start BIGINT NOT NULL DEFAULT 0,
    sent         BIGINT NOT NULL DEFAULT 0
);

-- Random keys made once per database, shared by every instance.
CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE contractors ADD COLUMN language TEXT;
ALTER TABLE sessions ADD COLUMN may_change_password BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX reset_tokens_expiry ON reset_tokens (expires_at);
CREATE INDEX outbox_contractor ON outbox (contractor_id, status);
