-- Conversations (issue 8): one row per phone call, SMS thread, email thread or kiosk visit,
-- shared by every channel and instance. 0001 sketched a `conversations` table that nothing
-- ever wrote; it is replaced here.
--
-- external_key is the channel's own name for the conversation (a CallSid, the texting number,
-- a Message-ID), or the SHA-256 of a random id when the id is a bearer secret (the kiosk's
-- cookie): never the secret itself. checks lists the identity checks passed ('number,phone'),
-- state is the channel's current step, opaque to the store. version counts writes: an update
-- names the version it read and loses to any write in between. used_at is set once, by the
-- single-use step (the kiosk's send).

DROP TABLE conversations;

CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    external_key  TEXT NOT NULL,
    contractor_id INTEGER REFERENCES contractors (id),
    checks        TEXT NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    language      TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT '',
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER,
    UNIQUE (channel, external_key)
);
CREATE INDEX conversations_expiry ON conversations (expires_at);
