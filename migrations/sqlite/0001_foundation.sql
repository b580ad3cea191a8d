-- Helpline foundation schema (SQLite). Times are Unix milliseconds; flags are 0/1 integers so
-- the same queries read both backends.

CREATE TABLE contractors (
    id                INTEGER PRIMARY KEY,
    contractor_number TEXT NOT NULL UNIQUE,
    license_number    TEXT,
    business_name     TEXT NOT NULL DEFAULT '',
    contact_name      TEXT NOT NULL DEFAULT '',
    phone             TEXT,
    alt_phone         TEXT,
    email             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX contractors_license ON contractors (license_number);
CREATE INDEX contractors_phone ON contractors (phone);
CREATE INDEX contractors_alt_phone ON contractors (alt_phone);
CREATE INDEX contractors_email ON contractors (lower(email));

CREATE TABLE accounts (
    id                   INTEGER PRIMARY KEY,
    contractor_id        INTEGER NOT NULL UNIQUE REFERENCES contractors (id),
    password_hash        TEXT,
    must_change          INTEGER NOT NULL DEFAULT 1,
    temporary_hash       TEXT,
    temporary_expires_at INTEGER,
    security_question    TEXT,
    security_answer_hash TEXT,
    frozen               INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('staff', 'admin')),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    account_id   INTEGER REFERENCES accounts (id),
    staff_id     INTEGER REFERENCES staff (id),
    csrf_token   TEXT NOT NULL,
    remember     INTEGER NOT NULL DEFAULT 0,
    data         TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE reset_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    purpose    TEXT NOT NULL DEFAULT 'reset' CHECK (purpose IN ('reset', 'not_me')),
    channel    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    voided_at  INTEGER
);
CREATE INDEX reset_tokens_account ON reset_tokens (account_id);

-- Self-registrations that did not match the roster, waiting for staff. Secrets hashed.
CREATE TABLE registrations (
    id                   INTEGER PRIMARY KEY,
    license_number       TEXT NOT NULL,
    business_name        TEXT NOT NULL,
    contact_name         TEXT NOT NULL,
    phone                TEXT NOT NULL,
    email                TEXT NOT NULL,
    workers_comp_policy  TEXT,
    workers_comp_expires TEXT,
    password_hash        TEXT NOT NULL,
    security_question    TEXT NOT NULL,
    security_answer_hash TEXT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'pending',
    ticket_id            INTEGER,
    created_at           INTEGER NOT NULL
);

-- Per-account failure counters of the guard (subject is e.g. 'contractor:42').
CREATE TABLE attempts (
    subject         TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_failure_at INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    lockouts        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    contractor_id INTEGER REFERENCES contractors (id),
    state         TEXT NOT NULL,
    data          TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (channel, external_id)
);

CREATE TABLE tickets (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open',
    priority      TEXT NOT NULL DEFAULT 'normal',
    contractor_id INTEGER REFERENCES contractors (id),
    channel       TEXT NOT NULL,
    summary       TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    outbox_id     INTEGER,
    assigned_to   INTEGER REFERENCES staff (id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX tickets_status ON tickets (status, priority, created_at);

-- Messages waiting to go out. The body is cleared once the message is sent or dead-lettered,
-- so a secret in it lives no longer than its delivery.
CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY,
    channel           TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    template          TEXT NOT NULL,
    contractor_id     INTEGER REFERENCES contractors (id),
    recipient         TEXT NOT NULL,
    subject           TEXT NOT NULL DEFAULT '',
    body_text         TEXT,
    body_html         TEXT,
    message_id        TEXT NOT NULL,
    secret_expires_at INTEGER,
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    lease_owner       TEXT,
    lease_until       INTEGER,
    last_error        TEXT,
    provider_id       TEXT,
    created_at        INTEGER NOT NULL,
    sent_at           INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE webhook_receipts (
    provider    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, external_id)
);

-- Append-only, hash-chained audit log of credential events.
CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    channel   TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- The chain's head, one row: appends serialise on it.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
