//! `helpline staff add` and `helpline staff disable`: admin tooling for staff logins, each
//! audited as done from the command line.

use secrecy::SecretString;

use super::{Failure, Role, other};
use crate::audit::{self, AuditEvent};
use crate::clock::SharedClock;
use crate::domain::channel::Channel;
use crate::domain::email::EmailAddress;
use crate::domain::password::broken_rules;
use crate::hashing::Hasher;
use crate::store::{Store, staff};

/// Adds a staff login (also used by `demo`).
pub async fn add_staff(
    store: &Store,
    clock: &SharedClock,
    email: &str,
    name: &str,
    role: Role,
    password: SecretString,
) -> Result<(), Failure> {
    use secrecy::ExposeSecret;
    let email = EmailAddress::parse(email).map_err(|e| other(format!("'{email}' {e}")))?;
    if name.trim().is_empty() {
        return Err(other("--name must not be empty"));
    }
    let broken = broken_rules(password.expose_secret());
    if !broken.is_empty() {
        let rules: Vec<String> = broken.iter().map(ToString::to_string).collect();
        return Err(other(format!("the password {}", rules.join(", "))));
    }
    if staff::by_email(store.pool(), email.as_str())
        .await
        .map_err(other)?
        .is_some()
    {
        return Err(other(format!("a staff login for {email} already exists")));
    }
    let hash = Hasher::new(1, 0).hash(&password).await.map_err(other)?;
    let now = clock.now_ms();
    let mut tx = store.begin_write().await.map_err(other)?;
    staff::insert(
        &mut tx,
        email.as_str(),
        name.trim(),
        role.as_str(),
        &hash,
        now,
    )
    .await
    .map_err(|e| {
        if crate::store::is_unique_violation(&e) {
            other(format!("a staff login for {email} already exists"))
        } else {
            other(e)
        }
    })?;
    audit::append(
        &mut tx,
        &AuditEvent {
            actor: "cli",
            action: "staff_added",
            subject: &format!("staff:{email}"),
            channel: Channel::Cli,
            detail: format!("role {}", role.as_str()),
        },
        now,
    )
    .await
    .map_err(other)?;
    tx.commit().await.map_err(other)?;
    Ok(())
}

/// Disables a staff login: it can no longer sign in, and its sessions end now.
pub(super) async fn disable(
    store: &Store,
    clock: &SharedClock,
    email: &str,
) -> Result<(), Failure> {
    let done = crate::staff::disable(store, clock, email, "cli", Channel::Cli)
        .await
        .map_err(other)?;
    if done {
        println!(
            "staff login {} disabled; its sessions are ended",
            email.trim()
        );
        Ok(())
    } else {
        Err(other(format!(
            "no enabled staff login for '{}'",
            email.trim()
        )))
    }
}
