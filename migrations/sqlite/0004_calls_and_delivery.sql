-- Callback calls and delivery reports (issue 10, item 5).
--
-- The outbox also places phone calls (channel 'voice'): `subject` holds the path of the TwiML
-- the call fetches, `body_text` is empty. Twilio's status callbacks are recorded on the row
-- found by provider_id (Twilio's SM…/CA… sid): delivery_status is Twilio's last word
-- ('delivered', 'undelivered', 'no-answer', …), delivered_at when the text was delivered or the
-- call answered, error_code Twilio's error for a failure. cap_counted_at is when the message
-- was counted against the daily caps on texts and calls (once, however often it is retried).
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with the same rows.

CREATE TABLE outbox_new (
    id                INTEGER PRIMARY KEY,
    channel           TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'voice')),
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
    sent_at           INTEGER,
    delivery_status   TEXT,
    delivered_at      INTEGER,
    error_code        TEXT,
    cap_counted_at    INTEGER
);

INSERT INTO outbox_new (id, channel, template, contractor_id, recipient, subject, body_text,
    body_html, message_id, secret_expires_at, status, attempts, next_attempt_at, lease_owner,
    lease_until, last_error, provider_id, created_at, sent_at)
SELECT id, channel, template, contractor_id, recipient, subject, body_text, body_html,
    message_id, secret_expires_at, status, attempts, next_attempt_at, lease_owner, lease_until,
    last_error, provider_id, created_at, sent_at
FROM outbox;

DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;

CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_contractor ON outbox (contractor_id, status);
CREATE INDEX outbox_provider ON outbox (provider_id);
