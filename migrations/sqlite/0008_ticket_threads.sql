-- Replies and threads (issue 11): an outgoing email may belong to a ticket (its
-- acknowledgment, a staff reply), so a reply to it joins that ticket. Replies are found by the
-- Message-ID they name, hence the index.
ALTER TABLE outbox ADD COLUMN ticket_id INTEGER;
CREATE INDEX outbox_message_id ON outbox (message_id);

-- A ticket's timeline, as staff read it: every email in and out, notes. `tickets.detail` keeps
-- the first description. `author` is the sender's address (lowercase) for an email in, the
-- staff member's name for a staff reply or note. Never a secret.
CREATE TABLE ticket_events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('email_in', 'email_out', 'note', 'reopened', 'frozen')),
    author     TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL DEFAULT '',
    message_id TEXT,
    outbox_id  INTEGER
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, at);
CREATE INDEX ticket_events_author ON ticket_events (kind, author, at);
CREATE INDEX ticket_events_message_id ON ticket_events (message_id);

-- Which ticket a thread without one of its own belongs to: `reply:<outbox id>` (replies to a
-- reset link or a notice) and `sender:<digest of the address>` (one sender's emails within a
-- day). The key is unique, so two replies at once open one ticket: the first insert wins and
-- the other joins its ticket.
CREATE TABLE ticket_threads (
    thread_key TEXT PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
    created_at INTEGER NOT NULL
);
