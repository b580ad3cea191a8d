-- Numbers that texted STOP to the help line (issue 10, item 6).
--
-- One row per number (E.164, as the outbox writes recipients) from the STOP until a START
-- deletes it. While a row exists Helpline sends that number no text at all: the outbox refuses
-- to queue one and the worker drops any already queued, and the phone line and the kiosk do
-- not offer a text. Twilio blocks texts to a number that sent STOP too; this is remembered so
-- Helpline never even tries.

CREATE TABLE sms_opt_outs (
    phone      TEXT PRIMARY KEY,
    stopped_at BIGINT NOT NULL
);
