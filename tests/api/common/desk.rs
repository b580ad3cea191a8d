//! A staff desk for the staff tests: an app with the roster imported, staff logins, tickets,
//! and a browser that signs in and posts the staff forms with their CSRF token.

use std::time::Duration;

use helpline::domain::channel::Channel;
use helpline::domain::ids::TicketId;
use helpline::domain::ticket::TicketKind;
use helpline::store::audit::page as audit_page;
use helpline::store::{contractors, queue, staff, tickets};
use secrecy::SecretString;

use super::browser::{Browser, Page, csrf_in};
use super::{TestApp, logs};
use crate::portal::import_roster;

pub const PASSWORD: &str = "Qu3ue-W0rker!";
pub const COOKIE: &str = "helpline_staff";

pub struct Desk {
    pub app: TestApp,
    pub hash: String,
}

impl Desk {
    pub async fn start() -> Desk {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut helpline::config::Settings)) -> Desk {
        logs::capture();
        let app = TestApp::spawn_with(|s| {
            s.response_floor = Duration::from_millis(20);
            adjust(s);
        })
        .await;
        import_roster(&app).await;
        let hash = app
            .state
            .hasher
            .hash(&SecretString::from(PASSWORD.to_string()))
            .await
            .expect("hash");
        Desk { app, hash }
    }

    /// Adds a staff login with [`PASSWORD`]; its id.
    pub async fn add(&self, email: &str, name: &str, role: &str) -> i64 {
        let st = &self.app.state;
        let mut tx = st.store.begin_write().await.expect("tx");
        let id = staff::insert(&mut tx, email, name, role, &self.hash, st.clock.now_ms())
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        id
    }

    pub async fn ticket(&self, kind: TicketKind, number: Option<&str>, summary: &str) -> TicketId {
        let st = &self.app.state;
        let contractor_id = match number {
            Some(n) => Some(
                contractors::by_number(st.store.pool(), n)
                    .await
                    .expect("read")
                    .expect("on the roster")
                    .id,
            ),
            None => None,
        };
        let mut tx = st.store.begin_write().await.expect("tx");
        let id = tickets::open(
            &mut tx,
            &tickets::NewTicket {
                kind,
                contractor_id,
                channel: Channel::Voice,
                summary: summary.into(),
                detail: String::new(),
                outbox_id: None,
            },
            st.clock.now_ms(),
        )
        .await
        .expect("ticket");
        tx.commit().await.expect("commit");
        id
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.app.base)
    }

    pub async fn assigned_to(&self, id: TicketId) -> Option<i64> {
        queue::holding(self.app.state.store.pool(), id)
            .await
            .expect("read")
            .expect("ticket")
            .assigned_to
    }

    pub async fn audit_lines(&self) -> Vec<String> {
        audit_page(self.app.state.store.pool(), 0, 10_000)
            .await
            .expect("audit")
            .into_iter()
            .map(|r| format!("{} {} {} {}", r.actor, r.action, r.subject, r.detail))
            .collect()
    }
}

/// The CSRF token the browser's staff forms carry now (from the queue when signed in, else
/// from the sign-in page).
pub async fn csrf(b: &mut Browser) -> String {
    let page = b.get("/staff").await;
    let page = if page.status == 303 {
        b.get("/staff/login").await
    } else {
        page
    };
    csrf_in(&page.body).expect("a form with a csrf field")
}

pub async fn post(b: &mut Browser, path: &str, fields: &[(&str, &str)]) -> Page {
    let token = csrf(b).await;
    let mut all = vec![("csrf".to_string(), token)];
    all.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    b.post_raw(path, &all).await
}

/// Posts a ticket's form (`claim`, `release`, `reassign`) with the browser's token.
pub async fn act(b: &mut Browser, t: TicketId, action: &str, fields: &[(&str, &str)]) -> Page {
    post(b, &format!("/staff/tickets/{t}/{action}"), fields).await
}

pub async fn sign_in(b: &mut Browser, email: &str, password: &str) -> Page {
    post(
        b,
        "/staff/login",
        &[("email", email), ("password", password)],
    )
    .await
}

pub async fn signed_in(d: &Desk, email: &str) -> Browser {
    let mut b = d.browser();
    let page = sign_in(&mut b, email, PASSWORD).await;
    assert_eq!(page.status, 303, "{email} signs in: {}", page.body);
    assert_eq!(page.location(), Some("/staff"));
    b
}
