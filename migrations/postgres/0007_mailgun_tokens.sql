-- Mailgun's one-time tokens (issue 11, POST /email/inbound/mailgun).
--
-- Mailgun signs each POST with HMAC-SHA256(signing key, timestamp || token), where the token is
-- 50 random characters. A signed request captured on the way could be posted again, so a token
-- is taken once: the route's single conditional INSERT decides which of several copies acts.
-- Only the SHA-256 of the token is kept. `retry` is 1 while the message's first try failed
-- (answered 503): Mailgun resends the same timestamp, token and signature, and that one resend
-- (a conditional UPDATE from 1 to 0) may act although its timestamp is old by then. Rows live
-- a day, longer than Mailgun's 8 hours of retries; expired ones are deleted as new ones come.

CREATE TABLE mailgun_tokens (
    token_hash TEXT PRIMARY KEY,
    seen_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    retry      INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX mailgun_tokens_expiry ON mailgun_tokens (expires_at);
