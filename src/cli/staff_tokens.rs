//! `helpline staff token EMAIL [--label TEXT]`, `helpline staff token --revoke ID` and
//! `helpline staff tokens`: bearer tokens of the staff JSON API. A new token is printed once,
//! on standard output only; the list never shows one.

use super::{Failure, other};
use crate::clock::SharedClock;
use crate::domain::channel::Channel;
use crate::staff::tokens::{self, IssueRefusal, LABEL_MAX};
use crate::store::Store;

/// Makes a token for a staff login and prints it.
pub(super) async fn issue(
    store: &Store,
    clock: &SharedClock,
    email: &str,
    label: &str,
) -> Result<(), Failure> {
    use secrecy::ExposeSecret;
    let issued = tokens::issue(store, clock, email, label, "cli", Channel::Cli)
        .await
        .map_err(other)?
        .map_err(|refusal| {
            other(match refusal {
                IssueRefusal::NoSuchStaff => format!("no staff login for '{}'", email.trim()),
                IssueRefusal::Disabled => {
                    format!("the staff login '{}' is disabled", email.trim())
                }
                IssueRefusal::BadLabel => format!(
                    "--label holds a control character or is longer than {LABEL_MAX} characters"
                ),
            })
        })?;
    eprintln!(
        "API token #{} for {}: shown once, keep it like a password (revoke with \
         `helpline staff token --revoke {}`)",
        issued.id,
        email.trim(),
        issued.id
    );
    println!("{}", issued.token.expose_secret());
    Ok(())
}

pub(super) async fn revoke(store: &Store, clock: &SharedClock, id: i64) -> Result<(), Failure> {
    if tokens::revoke(store, clock, id, "cli", Channel::Cli)
        .await
        .map_err(other)?
    {
        println!("API token #{id} revoked");
        Ok(())
    } else {
        Err(other(format!("no live API token #{id}")))
    }
}

/// One line per token: id, staff email, state, created, last used, label.
pub(super) async fn list(store: &Store) -> Result<(), Failure> {
    let rows = tokens::list(store).await.map_err(other)?;
    if rows.is_empty() {
        println!("no API tokens");
        return Ok(());
    }
    println!("id\temail\tstate\tcreated\tlast_used\tlabel");
    for t in rows {
        let state = if t.revoked_at.is_some() {
            "revoked"
        } else {
            "live"
        };
        println!(
            "{}\t{}\t{state}\t{}\t{}\t{}",
            t.id,
            t.email,
            when(Some(t.created_at)),
            when(t.last_used_at),
            t.label
        );
    }
    Ok(())
}

/// A stored time as UTC, or `-`.
fn when(ms: Option<i64>) -> String {
    ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map_or_else(
            || "-".into(),
            |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        )
}
