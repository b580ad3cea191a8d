//! Channel adapters: they authenticate requests, turn them into calls of the recovery service,
//! and render its answers. They decide nothing themselves.

pub mod api;
pub mod client_ip;
pub mod email_in;
pub mod portal;
pub mod staff;
pub mod twilio;
pub mod web_session;
