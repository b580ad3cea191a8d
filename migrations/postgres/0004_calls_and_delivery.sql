-- Callback calls and delivery reports (issue 10, item 5).
--
-- The outbox also places phone calls (channel 'voice'): `subject` holds the path of the TwiML
-- the call fetches, `body_text` is empty. Twilio's status callbacks are recorded on the row
-- found by provider_id (Twilio's SM…/CA… sid): delivery_status is Twilio's last word
-- ('delivered', 'undelivered', 'no-answer', …), delivered_at when the text was delivered or the
-- call answered, error_code Twilio's error for a failure. cap_counted_at is when the message
-- was counted against the daily caps on texts and calls (once, however often it is retried).

ALTER TABLE outbox DROP CONSTRAINT outbox_channel_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_channel_check
    CHECK (channel IN ('email', 'sms', 'voice'));

ALTER TABLE outbox ADD COLUMN delivery_status TEXT;
ALTER TABLE outbox ADD COLUMN delivered_at BIGINT;
ALTER TABLE outbox ADD COLUMN error_code TEXT;
ALTER TABLE outbox ADD COLUMN cap_counted_at BIGINT;

CREATE INDEX outbox_provider ON outbox (provider_id);
