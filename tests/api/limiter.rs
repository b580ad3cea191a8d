//! The per-source limiter and `trusted_proxies` over real HTTP (issue 7, item 2). A limiter
//! refusal reads like any other refusal, so these tests tell it apart by what only the limiter
//! does: `helpline_throttled_total` on /metrics goes up, and no account counter moves. The
//! requests use the right password, so nothing but the limiter can refuse them.

use std::net::{IpAddr, Ipv4Addr};

use crate::common::browser::Page;
use crate::common::{metric, post_forwarded, same_page_but_typed};
use crate::portal::{OLD, Portal, login};

const THROTTLED: &str = "helpline_throttled_total";

/// The shared portal set-up with the limiter set back to `burst` requests and one more a
/// minute (a refill far slower than the test), and C-1001's password set.
async fn limited_portal(burst: u32, trust_loopback: bool) -> Portal {
    let p = Portal::start_with(move |s| {
        s.guard.per_source_burst = burst;
        s.guard.per_source_per_minute = 1;
        if trust_loopback {
            // The test client connects from 127.0.0.1: it plays the reverse proxy.
            s.trusted_proxies = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
        }
    })
    .await;
    p.with_password("C-1001", OLD).await;
    p
}

/// Every account counter as it stands: (subject, failures, last failure, locked until).
async fn counters(p: &Portal) -> Vec<(String, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT subject, failures, last_failure_at, locked_until FROM attempts ORDER BY subject",
    )
    .fetch_all(p.app.state.store.pool())
    .await
    .expect("read counters")
}

/// Signs C-1001 in with the right password from a fresh browser, as the client behind
/// `forwarded_for` (or the test client itself).
async fn sign_in_from(p: &Portal, forwarded_for: Option<&str>) -> Page {
    let mut b = p.browser();
    let csrf = b.csrf().await;
    post_forwarded(
        &p.app.base,
        &b,
        &csrf,
        "/login",
        &[("username", "C-1001"), ("password", OLD)],
        forwarded_for,
    )
    .await
}

fn signed_in(page: &Page) -> bool {
    page.status == 303 && page.location() == Some("/account")
}

#[tokio::test]
async fn the_request_past_the_burst_is_refused_by_the_limiter_and_only_by_it() {
    const BURST: u32 = 3;
    let p = limited_portal(BURST, false).await;
    let mut b = p.browser();
    // The first request of the burst: a wrong password, refused by the password rule.
    let wrong = login(&mut b, "C-1001", "Wrong-Pa55").await;
    assert_eq!(wrong.status, 200);
    assert_eq!(metric(&p.app.base, THROTTLED).await, 0.0, "not the limiter");
    p.app.clock.advance(std::time::Duration::from_secs(2));
    for n in 2..=BURST {
        assert!(
            signed_in(&sign_in_from(&p, None).await),
            "request {n} of a burst of {BURST} goes through"
        );
    }

    let before = counters(&p).await;
    let refused = sign_in_from(&p, None).await;
    assert_eq!(refused.status, 200, "burst + 1 is refused");
    assert_eq!(
        same_page_but_typed(&refused, "C-1001"),
        same_page_but_typed(&wrong, "C-1001"),
        "and reads like any refusal"
    );
    assert_eq!(
        metric(&p.app.base, THROTTLED).await,
        1.0,
        "the limiter refused it"
    );
    assert_eq!(
        counters(&p).await,
        before,
        "a limiter refusal counts against no account"
    );
    // The limiter stands in front of "forgot password" too, from the same client.
    let mut other = p.browser();
    other.post("/forgot", &[("username", "C-1001")]).await;
    assert_eq!(metric(&p.app.base, THROTTLED).await, 2.0);
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE template = 'reset_link'")
            .fetch_one(p.app.state.store.pool())
            .await
            .expect("count");
    assert_eq!(queued, 0, "no link sent for a refused request");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let p = limited_portal(2, true).await;
    let a = Some("203.0.113.7");
    assert!(signed_in(&sign_in_from(&p, a).await));
    assert!(signed_in(&sign_in_from(&p, a).await));
    assert_eq!(metric(&p.app.base, THROTTLED).await, 0.0);
    assert_eq!(
        sign_in_from(&p, a).await.status,
        200,
        "client A is past its burst"
    );
    assert_eq!(metric(&p.app.base, THROTTLED).await, 1.0);

    // A forged entry written by client A on the left of the header does not make it new: the
    // proxy appends the address it saw, and that is the one believed.
    assert_eq!(
        sign_in_from(&p, Some("198.51.100.99, 203.0.113.7"))
            .await
            .status,
        200
    );
    assert_eq!(metric(&p.app.base, THROTTLED).await, 2.0);

    // Client B, behind the same proxy, is limited on its own.
    let b = Some("203.0.113.8");
    assert!(
        signed_in(&sign_in_from(&p, b).await),
        "client B goes through"
    );
    assert!(signed_in(&sign_in_from(&p, b).await));
    assert_eq!(sign_in_from(&p, b).await.status, 200);
    assert_eq!(metric(&p.app.base, THROTTLED).await, 3.0);
    // And the proxy's own address was never charged for either.
    assert!(signed_in(&sign_in_from(&p, None).await));
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_for_changes_nothing() {
    let p = limited_portal(2, false).await;
    assert!(p.app.state.settings.trusted_proxies.is_empty());
    assert!(signed_in(&sign_in_from(&p, Some("203.0.113.7")).await));
    assert!(signed_in(&sign_in_from(&p, Some("203.0.113.8")).await));
    // A third "client" is the same connection from 127.0.0.1: past the burst.
    let refused = sign_in_from(&p, Some("203.0.113.9")).await;
    assert_eq!(refused.status, 200);
    assert_eq!(metric(&p.app.base, THROTTLED).await, 1.0);
    assert_eq!(sign_in_from(&p, None).await.status, 200);
    assert_eq!(metric(&p.app.base, THROTTLED).await, 2.0);
}

/// The safety net for every other test: an app whose test did not set the limiter fails the
/// test when dropped if the limiter refused anything.
#[tokio::test]
#[should_panic(expected = "the per-source limiter refused 1 request(s) in a test that is not")]
async fn a_limiter_refusal_in_a_test_not_about_it_fails_that_test() {
    let app = crate::common::TestApp::spawn().await;
    assert!(
        app.state.settings.guard.per_source_burst >= crate::common::LIMITER_OUT_OF_THE_WAY,
        "tests start with the limiter out of the way"
    );
    // What a refusal does to the metric, without ten thousand requests.
    app.state.metrics.throttled.inc();
}

/// The same net for the per-number limit on texts in.
#[tokio::test]
#[should_panic(expected = "the per-source limiter refused 1 request(s) in a test that is not")]
async fn a_text_limit_refusal_in_a_test_not_about_it_fails_that_test() {
    let app = crate::common::TestApp::spawn().await;
    assert!(
        app.state.settings.guard.texts_per_number_burst >= crate::common::LIMITER_OUT_OF_THE_WAY,
        "tests start with the limit on texts out of the way"
    );
    app.state.metrics.texts_throttled.inc();
}
