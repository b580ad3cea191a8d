-- Emails Helpline sends in answer to one it received carry In-Reply-To and References naming
-- the incoming Message-ID (kept here, with its angle brackets, so every retry of the message
-- carries the same threading). NULL for every message that answers nothing.
ALTER TABLE outbox ADD COLUMN in_reply_to TEXT;
