-- The staff desk (issue 12): resolving, waiting on the contractor, more kinds of timeline
-- events, who is on duty, API tokens, once-a-day notifications and settings staff edit.
--
-- A ticket is resolved with a code (resolution) by a staff member; waiting_since is set while
-- the ticket waits on the contractor (a staff reply went out) and cleared when they answer,
-- adding the wait to waited_ms, so the business-hours SLA clock pauses meanwhile.
ALTER TABLE tickets ADD COLUMN resolution TEXT;
ALTER TABLE tickets ADD COLUMN resolved_at INTEGER;
ALTER TABLE tickets ADD COLUMN resolved_by INTEGER REFERENCES staff (id);
ALTER TABLE tickets ADD COLUMN waiting_since INTEGER;
ALTER TABLE tickets ADD COLUMN waited_ms INTEGER NOT NULL DEFAULT 0;

-- The timeline learns texts, resolutions and actions on the account (a reset link or a
-- temporary password sent, a contact changed, an unlock, a registration decided: never the
-- secret). SQLite cannot change a CHECK constraint in place: the table is rebuilt.
CREATE TABLE ticket_events_new (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('email_in', 'email_out', 'note', 'reopened',
                   'frozen', 'sms_in', 'sms_out', 'resolved', 'account', 'waiting')),
    author     TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL DEFAULT '',
    message_id TEXT,
    outbox_id  INTEGER
);
INSERT INTO ticket_events_new (id, ticket_id, at, kind, author, text, message_id, outbox_id)
SELECT id, ticket_id, at, kind, author, text, message_id, outbox_id FROM ticket_events;
DROP TABLE ticket_events;
ALTER TABLE ticket_events_new RENAME TO ticket_events;
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, at);
CREATE INDEX ticket_events_author ON ticket_events (kind, author, at);
CREATE INDEX ticket_events_message_id ON ticket_events (message_id);

-- Staff on duty receive the urgent-ticket emails.
ALTER TABLE staff ADD COLUMN on_duty INTEGER NOT NULL DEFAULT 0;

-- Bearer tokens of the JSON API (/api/v1/), stored as SHA-256 digests.
CREATE TABLE staff_api_tokens (
    id           INTEGER PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff (id),
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX staff_api_tokens_staff ON staff_api_tokens (staff_id);

-- Jobs that run once across every instance ('digest:2026-12-03'): the first insert wins.
CREATE TABLE notification_runs (
    name   TEXT PRIMARY KEY,
    ran_at INTEGER NOT NULL
);

-- Settings an administrator changes from the staff pages (the staff line's office hours),
-- read by every instance; they override the configuration file's.
CREATE TABLE city_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
