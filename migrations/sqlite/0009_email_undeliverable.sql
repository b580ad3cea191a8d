-- Email addresses a delivery report said cannot receive mail (issue 11, item 2).
--
-- One row per address (lower-cased, as `store::email_undeliverable` looks it up) from the
-- first bounce until the contractor's email on record changes (roster import) or staff clear
-- it. While a row exists Helpline sends that address nothing: the outbox refuses to queue a
-- message to it and the worker drops any already queued, and the portal and the kiosk do not
-- offer email as the way to receive a link. Modelled on sms_opt_outs (migration 0005).

CREATE TABLE email_undeliverable (
    address    TEXT PRIMARY KEY,
    since      INTEGER NOT NULL,
    report_id  TEXT
);
