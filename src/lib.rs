//! Helpline: the account-help line of a city's contractor permit portal.
//!
//! Layout follows `../shared/DESIGN.md`: channel adapters only translate, the recovery service
//! decides, the store is the only shared state, and the outbox worker delivers.

pub mod app;
pub mod audit;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod flows;
pub mod guard;
pub mod hashing;
pub mod mail;
pub mod messages;
pub mod metrics;
pub mod outbox;
pub mod recovery;
pub mod roster;
pub mod staff;
pub mod store;
pub mod twilio;
