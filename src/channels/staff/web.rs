//! Who is asking, on the staff pages: the CSRF token, the signed-in staff member (from the
//! staff session cookie, not the contractor's), the source address and cookie changes.

use std::net::IpAddr;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{CookieJar, SameSite};

use crate::app::AppState;
use crate::channels::web_session::{self as ws, ABSOLUTE, IDLE};
use crate::clock::duration_ms;
use crate::domain::channel::Channel;
use crate::domain::keyed::Keys;
use crate::staff::{Desk, StaffError};
use crate::store::sessions;
use crate::store::staff::StaffMember;

/// The staff session cookie: its own name, so a browser may hold a contractor's session too.
pub const SESSION: &str = "helpline_staff";

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Member {
    pub id_hash: String,
    pub staff: StaffMember,
}

pub struct StaffVisitor {
    /// The token this page's forms carry.
    pub csrf: String,
    csrf_seed: String,
    keys: Keys,
    pub ip: IpAddr,
    pub member: Option<Member>,
    jar: CookieJar,
    https: bool,
}

/// The desk of this app's handles.
pub fn desk(st: &AppState) -> Desk<'_> {
    Desk {
        store: &st.store,
        guard: &st.guard,
        hasher: &st.hasher,
        clock: &st.clock,
        floor: st.settings.response_floor,
        channel: Channel::Staff,
    }
}

impl FromRequestParts<AppState> for StaffVisitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let https = ws::is_https(&st.settings.public_url);
        let ip = crate::channels::client_ip::of_request(parts, &st.settings.trusted_proxies);
        let (mut jar, csrf_seed) = ws::csrf_seed(CookieJar::from_headers(&parts.headers), https);
        let cookie = jar
            .get(&ws::name(SESSION, https))
            .map(|c| c.value().to_string());
        let member = match &cookie {
            Some(id) => match signed_in(st, id).await {
                Ok(found) => found,
                Err(e) => return Err(super::pages::PageError::from(e).into_response()),
            },
            None => None,
        };
        if cookie.is_some() && member.is_none() {
            jar = jar.remove(ws::removal(SESSION, https));
        }
        let keys = st.keys.clone();
        let csrf = ws::csrf_token(
            &keys,
            &csrf_seed,
            member.as_ref().map(|m| m.id_hash.as_str()),
        );
        Ok(StaffVisitor {
            csrf,
            csrf_seed,
            keys,
            ip,
            member,
            jar,
            https,
        })
    }
}

/// A live staff session of an enabled login.
async fn signed_in(st: &AppState, id: &str) -> Result<Option<Member>, StaffError> {
    let Some(row) = ws::live(st.store.pool(), st.clock.now_ms(), id, |_| IDLE).await? else {
        return Ok(None);
    };
    let Some(staff_id) = row.staff_id else {
        return Ok(None);
    };
    Ok(desk(st).member(staff_id).await?.map(|staff| Member {
        id_hash: row.id_hash,
        staff,
    }))
}

impl StaffVisitor {
    /// True when the form's token was made for this browser's cookie and session.
    pub fn csrf_ok(&self, sent: &str) -> bool {
        let bound = self.member.as_ref().map(|m| m.id_hash.as_str());
        ws::csrf_ok(&self.keys, &self.csrf_seed, bound, sent)
    }

    /// Starts a staff session under a fresh id (ending the one this browser held).
    pub async fn sign_in(&mut self, st: &AppState, staff: StaffMember) -> Result<(), sqlx::Error> {
        let old = self.member.take();
        let now = st.clock.now_ms();
        let (id, id_hash) = ws::start(
            st.store.pool(),
            now,
            old.as_ref().map(|m| m.id_hash.as_str()),
            sessions::NewSession {
                staff_id: Some(staff.id),
                data: "{}",
                expires_at: now + duration_ms(ABSOLUTE),
                ..Default::default()
            },
        )
        .await?;
        let jar = std::mem::take(&mut self.jar);
        self.jar = jar.add(ws::cookie(SESSION, id, self.https, None, SameSite::Lax));
        self.csrf = ws::csrf_token(&self.keys, &self.csrf_seed, Some(&id_hash));
        self.member = Some(Member { id_hash, staff });
        Ok(())
    }

    pub async fn sign_out(&mut self, st: &AppState) -> Result<(), sqlx::Error> {
        if let Some(old) = self.member.take() {
            sessions::delete(st.store.pool(), &old.id_hash).await?;
        }
        let jar = std::mem::take(&mut self.jar);
        self.jar = jar.remove(ws::removal(SESSION, self.https));
        self.csrf = ws::csrf_token(&self.keys, &self.csrf_seed, None);
        Ok(())
    }

    pub fn render(self, status: StatusCode, page: impl Template) -> Response {
        (self.jar, ws::render(status, page)).into_response()
    }

    pub fn redirect(self, to: &str) -> Response {
        (self.jar, ws::see_other(to)).into_response()
    }
}
