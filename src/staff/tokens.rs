//! Bearer tokens of the staff JSON API: made for a staff login from the command line, shown
//! once, kept only as a SHA-256 digest (a token has 256 random bits, so a fast digest is
//! enough), revoked by id. Making and revoking are audited.

use crate::audit::{self, AuditEvent};
use crate::clock::SharedClock;
use crate::domain::channel::Channel;
use crate::domain::secret::{random_token, token_digest};
use crate::store::Store;
use crate::store::api_tokens::{self, TokenRow};
use crate::store::staff::{self, StaffMember};

use super::Result;

/// What every token starts with, so secret scanners and people recognise one.
pub const PREFIX: &str = "hlp_";

/// The longest label a token may carry.
pub const LABEL_MAX: usize = 100;

/// A token just made: the only time the token itself exists outside the caller's hands.
#[derive(Debug)]
pub struct Issued {
    pub id: i64,
    pub token: secrecy::SecretString,
}

/// Why a token could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueRefusal {
    NoSuchStaff,
    Disabled,
    BadLabel,
}

/// Makes a token for the staff login with this email (`actor` as the audit log names who
/// asked, e.g. `cli`).
pub async fn issue(
    store: &Store,
    clock: &SharedClock,
    email: &str,
    label: &str,
    actor: &str,
    channel: Channel,
) -> Result<std::result::Result<Issued, IssueRefusal>> {
    let label = label.trim();
    if label.chars().count() > LABEL_MAX || label.chars().any(char::is_control) {
        return Ok(Err(IssueRefusal::BadLabel));
    }
    let Some(member) = staff::by_email(store.pool(), email.trim()).await? else {
        return Ok(Err(IssueRefusal::NoSuchStaff));
    };
    if member.is_disabled() {
        return Ok(Err(IssueRefusal::Disabled));
    }
    let token = format!("{PREFIX}{}", random_token(32));
    let now = clock.now_ms();
    let mut tx = store.begin_write().await?;
    let id = api_tokens::insert(&mut tx, member.id, &token_digest(&token), label, now).await?;
    audit::append(
        &mut tx,
        &AuditEvent {
            actor,
            action: "api_token_issued",
            subject: &format!("staff:{}", member.email.to_lowercase()),
            channel,
            detail: format!("token #{id} for {} ({label})", member.name),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(Issued {
        id,
        token: token.into(),
    }))
}

/// Revokes a token by id; false when there is no live token with that id.
pub async fn revoke(
    store: &Store,
    clock: &SharedClock,
    id: i64,
    actor: &str,
    channel: Channel,
) -> Result<bool> {
    let now = clock.now_ms();
    let mut tx = store.begin_write().await?;
    let Some(email) = api_tokens::revoke(&mut tx, id, now).await? else {
        return Ok(false);
    };
    audit::append(
        &mut tx,
        &AuditEvent {
            actor,
            action: "api_token_revoked",
            subject: &format!("staff:{}", email.to_lowercase()),
            channel,
            detail: format!("token #{id}"),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Every token, without a secret.
pub async fn list(store: &Store) -> Result<Vec<TokenRow>> {
    Ok(api_tokens::list(store.pool()).await?)
}

/// The enabled staff member a presented token belongs to, when it is one of ours and live;
/// notes the use. The token is looked up by its digest only.
pub async fn authenticate(
    store: &Store,
    clock: &SharedClock,
    presented: &str,
) -> Result<Option<StaffMember>> {
    if !presented.starts_with(PREFIX) || presented.len() > 200 {
        return Ok(None);
    }
    let pool = store.pool();
    let Some((token_id, staff_id)) = api_tokens::live(pool, &token_digest(presented)).await? else {
        return Ok(None);
    };
    let Some(member) = staff::by_id(pool, staff_id)
        .await?
        .filter(|m| !m.is_disabled())
    else {
        return Ok(None);
    };
    api_tokens::touch(pool, token_id, clock.now_ms()).await?;
    Ok(Some(member))
}
