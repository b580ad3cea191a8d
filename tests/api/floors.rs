//! The timing floors with the values Helpline ships (issue 7, item 1). Every other test lowers
//! them to keep the suite fast; here the real ones run. A refused sign-in must take at least
//! `response_floor` whatever refused it, and "forgot password" at least `forgot_deadline`
//! whether or not the username is known, with a known user's email already queued when the
//! answer comes. These are lower bounds, a security property: nothing here measures speed.
//!
//! Each path comes from its own address through a trusted proxy, so the per-source limiter
//! (burst 1) refuses only the request meant to test it.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use helpline::config::Settings;
use helpline::guard::{AccountState, Factor, contractor_subject};
use helpline::store::accounts;

use crate::common::browser::{Browser, Page};
use crate::common::{metric, post_forwarded};
use crate::portal::{OLD, Portal};

const THROTTLED: &str = "helpline_throttled_total";

/// The floors a deployment gets: nothing in a test may lower them.
fn shipped() -> Settings {
    Settings::for_local("sqlite://unused.db")
}

/// The shared portal set-up with the shipped floors put back, 127.0.0.1 (the test client)
/// trusted as a proxy, and a per-source burst of one request a minute.
async fn portal_with_shipped_floors() -> Portal {
    let shipped = shipped();
    Portal::start_with(move |s| {
        s.response_floor = shipped.response_floor;
        s.forgot_deadline = shipped.forgot_deadline;
        s.trusted_proxies = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
        s.guard.per_source_burst = 1;
        s.guard.per_source_per_minute = 1;
    })
    .await
}

/// One client behind the proxy, its form token fetched before any timing starts.
struct Client {
    b: Browser,
    csrf: String,
    from: &'static str,
}

impl Client {
    async fn new(p: &Portal, from: &'static str) -> Client {
        let mut b = p.browser();
        let csrf = b.csrf().await;
        Client { b, csrf, from }
    }

    /// Posts the form and says how long the answer took.
    async fn timed_post(
        &self,
        p: &Portal,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (Page, Duration) {
        let started = Instant::now();
        let page = post_forwarded(
            &p.app.base,
            &self.b,
            &self.csrf,
            path,
            fields,
            Some(self.from),
        )
        .await;
        (page, started.elapsed())
    }

    async fn login(&self, p: &Portal, user: &str, password: &str) -> (Page, Duration) {
        self.timed_post(p, "/login", &[("username", user), ("password", password)])
            .await
    }

    async fn forgot(&self, p: &Portal, user: &str) -> (Page, Duration) {
        self.timed_post(p, "/forgot", &[("username", user)]).await
    }
}

async fn reset_links_to(p: &Portal, recipient: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE template = 'reset_link' AND recipient = $1",
    )
    .bind(recipient)
    .fetch_one(p.app.state.store.pool())
    .await
    .expect("count queued links")
}

#[test]
fn the_shipped_floors_are_the_designed_ones() {
    let s = shipped();
    assert!(
        s.response_floor >= Duration::from_millis(400),
        "sign-in floor lowered to {:?}",
        s.response_floor
    );
    assert!(
        s.forgot_deadline >= Duration::from_millis(800),
        "forgot deadline lowered to {:?}",
        s.forgot_deadline
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_refused_sign_in_takes_the_shipped_floor_and_reads_the_same() {
    let p = portal_with_shipped_floors().await;
    let floor = p.app.state.settings.response_floor;
    assert_eq!(
        floor,
        shipped().response_floor,
        "the app runs the shipped floor"
    );
    p.with_password("C-1001", OLD).await;
    p.with_password("C-1002", OLD).await;
    let frozen = p.with_password("C-1003", OLD).await;

    // C-1002 waits after two quick failures on its password counter.
    let st = &p.app.state;
    let waiting = contractor_subject(Factor::Password, "C-1002");
    st.guard.record_failure(&waiting).await.expect("record");
    st.guard.record_failure(&waiting).await.expect("record");
    assert!(matches!(
        st.guard.account_state(&waiting).await.expect("state"),
        AccountState::Waiting { .. }
    ));
    // C-1003 is frozen.
    let mut tx = st.store.begin_write().await.expect("tx");
    accounts::freeze(&mut tx, frozen, st.clock.now_ms())
        .await
        .expect("freeze");
    tx.commit().await.expect("commit");

    // The limited source spends its one request on a sign-in that works.
    let limited = Client::new(&p, "198.51.100.5").await;
    let (first, _) = limited.login(&p, "C-1001", OLD).await;
    assert_eq!(first.location(), Some("/account"), "within its allowance");
    assert_eq!(metric(&p.app.base, THROTTLED).await, 0.0);

    let unknown = Client::new(&p, "198.51.100.1").await;
    let wrong = Client::new(&p, "198.51.100.2").await;
    let waits = Client::new(&p, "198.51.100.3").await;
    let froze = Client::new(&p, "198.51.100.4").await;
    // All at once: the test takes about one floor, not five.
    let (unknown, wrong, waits, froze, limited) = tokio::join!(
        unknown.login(&p, "C-9999", "Whatever-1"),
        wrong.login(&p, "C-1001", "Whatever-1"),
        // The right password: only the wait, the freeze or the limiter can refuse these.
        waits.login(&p, "C-1002", OLD),
        froze.login(&p, "C-1003", OLD),
        limited.login(&p, "C-1001", OLD),
    );

    // Byte-identical but for the username typed, which the page keeps in its field, and the
    // form token, which belongs to each browser.
    let typed = |page: &Page, user: &str| crate::common::same_page_but_typed(page, user);
    assert!(unknown.0.body.contains("value=\"C-9999\""));
    let reference = typed(&unknown.0, "C-9999");
    for (path, (page, took), user) in [
        ("unknown username", &unknown, "C-9999"),
        ("wrong password", &wrong, "C-1001"),
        ("account waiting", &waits, "C-1002"),
        ("frozen account", &froze, "C-1003"),
        ("per-source limiter", &limited, "C-1001"),
    ] {
        assert_eq!(page.status, 200, "{path}: refused, not {}", page.status);
        assert!(
            *took >= floor,
            "{path}: answered after {took:?}, under the {floor:?} floor"
        );
        assert_eq!(typed(page, user), reference, "{path}: the same page");
    }
    assert_eq!(
        metric(&p.app.base, THROTTLED).await,
        1.0,
        "the limiter refused one request, the one meant for it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgot_takes_the_shipped_deadline_and_a_known_user_is_already_queued() {
    let p = portal_with_shipped_floors().await;
    let deadline = p.app.state.settings.forgot_deadline;
    assert_eq!(deadline, shipped().forgot_deadline);
    p.with_password("C-1001", OLD).await;

    // This source has used its allowance: its request is refused by the limiter.
    let limited = Client::new(&p, "198.51.100.5").await;
    let (first, _) = limited.forgot(&p, "C-9998").await;
    assert_eq!(first.location(), Some("/forgot?sent=1"));

    let known = Client::new(&p, "198.51.100.1").await;
    let unknown = Client::new(&p, "198.51.100.2").await;
    let ((known, queued_at_answer), unknown, limited) = tokio::join!(
        async {
            let answer = known.forgot(&p, "C-1001").await;
            // Counted the moment the answer is in: the link was queued before it was sent.
            let queued = reset_links_to(&p, "pat@frontrange-roofing.example").await;
            (answer, queued)
        },
        unknown.forgot(&p, "C-9999"),
        // C-1002 has an email on record: were the limiter not to refuse, a link would go.
        limited.forgot(&p, "C-1002"),
    );

    assert_eq!(
        queued_at_answer, 1,
        "the known user's link is queued by the answer"
    );
    for (path, (page, took)) in [
        ("known user", &known),
        ("unknown user", &unknown),
        ("per-source limiter", &limited),
    ] {
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location(), Some("/forgot?sent=1"), "{path}");
        assert_eq!(page.body, known.0.body, "{path}: the same answer");
        assert!(
            *took >= deadline,
            "{path}: answered after {took:?}, before the {deadline:?} deadline"
        );
    }
    let all_links: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE template = 'reset_link'")
            .fetch_one(p.app.state.store.pool())
            .await
            .expect("count");
    assert_eq!(
        all_links, 1,
        "nothing queued for an unknown or limited request"
    );
    assert_eq!(reset_links_to(&p, "sam@milehigh.example").await, 0);
    assert_eq!(metric(&p.app.base, THROTTLED).await, 1.0);
}
