//! One test binary: every test gets its own database, SQLite by default and PostgreSQL when
//! `HELPLINE_TEST_DATABASE_URL` is set (`.ci/run` runs the suite both ways).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod common;
mod config_cli;
mod conversations;
mod email_corpus;
mod email_in;
mod email_providers;
mod email_threads;
mod email_undeliverable;
mod floors;
mod flows_cli;
mod guard;
mod hardening;
mod limiter;
mod ops;
mod outbox;
mod portal;
mod portal_ux;
mod races;
mod roster;
mod schema;
mod simulate_cli;
mod sms_in;
mod sms_out;
mod staff;
mod staff_account;
mod staff_admin;
mod staff_api;
mod staff_dashboard;
mod ticket_page;
mod twilio_out;
mod twilio_status;
mod twilio_webhooks;
mod twiml_snapshots;
mod voice;
