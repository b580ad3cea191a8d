//! Pure types and rules of the contractor's world: parsed at the edge, no I/O.

pub mod channel;
pub mod contact;
pub mod conversation;
pub mod delivery;
pub mod email;
pub mod email_in;
pub mod email_reply;
pub mod ids;
pub mod keyed;
pub mod language;
pub mod office_hours;
pub mod password;
pub mod phone;
pub mod questions;
pub mod secret;
pub mod sla;
pub mod ticket;
