-- The staff dashboard (issue 12): one row per conversation started (a call, a text thread, an
-- email thread, a kiosk visit), kept after the conversation itself is purged on expiry or
-- started afresh under the same key, so calls, texts, emails and kiosk visits per day can be
-- counted for as long as the city keeps them. Nothing about the contractor is kept here.
CREATE TABLE conversation_starts (
    id         INTEGER PRIMARY KEY,
    channel    TEXT NOT NULL,
    started_at INTEGER NOT NULL
);
CREATE INDEX conversation_starts_at ON conversation_starts (started_at);

-- The dashboard's median time to resolve reads tickets resolved in the last 30 days.
CREATE INDEX tickets_resolved_at ON tickets (resolved_at);
-- Tickets opened per day (the dashboard and the daily digest).
CREATE INDEX tickets_created_at ON tickets (created_at);
