//! `helpline staff add`, `helpline staff disable` and `helpline staff digest`: admin tooling
//! for staff logins, each change audited as done from the command line.

use secrecy::SecretString;

use super::{Failure, Role, other};
use crate::clock::SharedClock;
use crate::domain::channel::Channel;
use crate::hashing::Hasher;
use crate::staff::admin::{NewLogin, check_login, insert_login};
use crate::store::Store;

/// Adds a staff login (also used by `demo`), with the checks the staff pages make.
pub async fn add_staff(
    store: &Store,
    clock: &SharedClock,
    email: &str,
    name: &str,
    role: Role,
    password: SecretString,
) -> Result<(), Failure> {
    let new = NewLogin {
        email,
        name,
        role: role.as_str(),
        password: &password,
    };
    let (email, name) = check_login(&new).map_err(|problems| {
        let lines: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        other(lines.join(" "))
    })?;
    let hash = Hasher::new(1, 0).hash(&password).await.map_err(other)?;
    let added = insert_login(
        store,
        (&email, &name),
        role.as_str(),
        &hash,
        "cli",
        Channel::Cli,
        clock.now_ms(),
    )
    .await
    .map_err(other)?;
    match added {
        Some(_) => Ok(()),
        None => Err(other(format!("a staff login for {email} already exists"))),
    }
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

/// Queues the queue digest to every enabled staff member now; the server's worker sends it.
pub(super) async fn digest(
    settings: &crate::config::Settings,
    store: &Store,
    clock: &SharedClock,
) -> Result<(), Failure> {
    let hours = crate::staff::hours::StaffHours::default();
    hours.reload(store).await.map_err(other)?;
    let digest = crate::staff::digest::Digest {
        store: store.clone(),
        clock: clock.clone(),
        mail: crate::staff::alerts::StaffMail::of(settings),
        hours,
        settings: std::sync::Arc::new(settings.clone()),
    };
    let to = digest.send_now().await.map_err(other)?;
    if to == 0 {
        return Err(other("no enabled staff login to send the digest to"));
    }
    println!("queue digest queued to {to} staff member(s); the server's outbox worker sends it");
    Ok(())
}
