//! The staff pages over real HTTP (issue 12, first increment): sign-in with the guard and
//! argon2, sessions (rotation, logout, idle timeout, disable), CSRF, and the queue with its
//! atomic claim, release and reassign. Both databases.

use std::time::Duration;

use helpline::domain::channel::Channel;
use helpline::domain::ticket::TicketKind;

use crate::common::browser::{Page, csrf_in};
use crate::common::desk::*;
use crate::common::logs;

fn refusal_of(page: &Page) -> String {
    assert_eq!(page.status, 200);
    // The typed email is echoed back; everything else must be the same.
    let at = page.body.find("name=\"email\"").expect("email field");
    let end = page.body[at..].find('>').expect("tag end") + at;
    let mut body = page.body.clone();
    body.replace_range(at..end, "EMAIL");
    let csrf = csrf_in(&body).unwrap_or_default();
    body.replace(&csrf, "CSRF")
}

#[tokio::test]
async fn sign_in_answers_alike_for_unknown_wrong_and_disabled_and_never_logs_the_password() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    d.add("kim@city.example", "Kim Ruiz", "staff").await;
    assert!(
        helpline::staff::disable(
            &d.app.state.store,
            &d.app.state.clock,
            "KIM@city.example",
            "cli",
            Channel::Cli
        )
        .await
        .expect("disable")
    );

    let mut b = d.browser();
    let wrong = sign_in(&mut b, "pat@city.example", "Wrong-Pa55word").await;
    let unknown = sign_in(&mut b, "nobody@city.example", PASSWORD).await;
    let disabled = sign_in(&mut b, "kim@city.example", PASSWORD).await;
    assert!(
        wrong.body.contains("do not match a staff login"),
        "{}",
        wrong.body
    );
    assert_eq!(refusal_of(&wrong), refusal_of(&unknown));
    assert_eq!(refusal_of(&wrong), refusal_of(&disabled));
    assert!(
        !b.cookies.contains_key(COOKIE),
        "no session after a refusal"
    );

    let ok = sign_in(&mut b, "Pat@City.example", PASSWORD).await;
    assert_eq!(ok.status, 303);
    let cookie = ok.set_cookie(COOKIE).expect("the staff session cookie");
    let lower = cookie.to_ascii_lowercase();
    assert!(
        lower.contains("httponly") && lower.contains("samesite=lax") && lower.contains("path=/")
    );
    let queue = b.get("/staff").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains("Signed in as <strong>Pat Lee</strong>"));
    assert!(queue.body.contains("<caption") || queue.body.contains("No tickets match"));
    assert_eq!(queue.header("x-frame-options"), Some("DENY"));

    let log = logs::captured();
    assert!(
        !log.contains(PASSWORD) && !log.contains("Wrong-Pa55word"),
        "{log}"
    );
    let audit = d.audit_lines().await;
    assert!(
        audit
            .iter()
            .any(|l| l.starts_with("cli staff_disabled staff:kim@city.example")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_login_out_for_a_while() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let mut b = d.browser();
    for _ in 0..3 {
        let page = sign_in(&mut b, "pat@city.example", "Wrong-Pa55word").await;
        assert_eq!(page.status, 200);
        d.app.clock.advance(Duration::from_secs(2));
    }
    let locked = sign_in(&mut b, "pat@city.example", PASSWORD).await;
    assert_eq!(
        locked.status, 200,
        "the right password is refused while the login waits"
    );
    assert!(locked.body.contains("do not match a staff login"));
    d.app.clock.advance(Duration::from_secs(16 * 60));
    let ok = sign_in(&mut b, "pat@city.example", PASSWORD).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_logout_and_idle_time_end_it() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let mut b = d.browser();
    let planted = "ab".repeat(32);
    b.cookies.insert(COOKIE.into(), planted.clone());
    assert_eq!(
        sign_in(&mut b, "pat@city.example", PASSWORD).await.status,
        303
    );
    let first = b.cookies.get(COOKIE).cloned().expect("session");
    assert_ne!(first, planted, "no fixation");
    assert_eq!(
        sign_in(&mut b, "pat@city.example", PASSWORD).await.status,
        303
    );
    let second = b.cookies.get(COOKIE).cloned().expect("session");
    assert_ne!(first, second, "a new id at every sign-in");
    let mut replay = d.browser();
    replay.cookies.insert(COOKIE.into(), first);
    assert_eq!(replay.get("/staff").await.location(), Some("/staff/login"));

    // The newest id still works until sign-out.
    assert_eq!(b.get("/staff").await.status, 200);
    let out = post(&mut b, "/staff/logout", &[]).await;
    assert_eq!(out.location(), Some("/staff/login"));
    let mut after = d.browser();
    after.cookies.insert(COOKIE.into(), second);
    assert_eq!(after.get("/staff").await.location(), Some("/staff/login"));

    let mut idle = signed_in(&d, "pat@city.example").await;
    d.app.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(
        idle.get("/staff").await.status,
        200,
        "still within the idle limit"
    );
    d.app.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(idle.get("/staff").await.location(), Some("/staff/login"));
}

#[tokio::test]
async fn pages_and_forms_refuse_without_a_session_or_a_csrf_token() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let t = d
        .ticket(
            TicketKind::PhoneCall,
            Some("C-1001"),
            "caller asked for staff",
        )
        .await;
    let mut stranger = d.browser();
    assert_eq!(
        stranger.get("/staff").await.location(),
        Some("/staff/login")
    );
    let claim = format!("/staff/tickets/{t}/claim");
    let page = post(&mut stranger, &claim, &[]).await;
    assert_eq!(page.location(), Some("/staff/login"));

    let mut b = signed_in(&d, "pat@city.example").await;
    let forged = b.post_raw(&claim, &[("csrf".into(), "0".repeat(64))]).await;
    assert_eq!(forged.status, 403);
    let missing = b.post_raw(&claim, &[]).await;
    assert_eq!(missing.status, 403);
    assert_eq!(d.assigned_to(t).await, None);
    let bad = post(&mut b, "/staff/tickets/nope/claim", &[]).await;
    assert_eq!(bad.status, 404);
    let bad_filter = b.get("/staff?status=sleeping").await;
    assert_eq!(bad_filter.status, 400);
    assert!(bad_filter.body.contains("Unknown status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_staff_claiming_at_once_one_wins() {
    let d = Desk::start().await;
    let t = d
        .ticket(TicketKind::NotMe, Some("C-1002"), "this wasn't me")
        .await;
    let mut browsers = Vec::new();
    for i in 0..16 {
        let email = format!("s{i}@city.example");
        d.add(&email, &format!("Staff {i}"), "staff").await;
        let mut b = signed_in(&d, &email).await;
        let token = csrf(&mut b).await;
        browsers.push((b, token));
    }
    let path = format!("/staff/tickets/{t}/claim");
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = browsers
        .into_iter()
        .map(|(mut b, token)| {
            let path = path.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                b.post_raw(&path, &[("csrf".into(), token)]).await
            })
        })
        .collect();
    let mut won = 0;
    let mut lost = 0;
    for task in tasks {
        let page = task.await.expect("task");
        match page.status {
            303 => {
                assert_eq!(page.location(), Some("/staff?done=claimed"));
                won += 1;
            }
            409 => {
                assert!(
                    page.body.contains("already claimed by Staff "),
                    "{}",
                    page.body
                );
                lost += 1;
            }
            other => panic!("unexpected {other}: {}", page.body),
        }
    }
    assert_eq!((won, lost), (1, 15));
    assert!(d.assigned_to(t).await.is_some());
    let claims = d
        .audit_lines()
        .await
        .into_iter()
        .filter(|l| l.contains("ticket_claimed"))
        .count();
    assert_eq!(claims, 1, "the ticket is assigned once");
}

#[tokio::test]
async fn release_by_the_holder_or_an_admin_and_reassign_by_an_admin_only() {
    let d = Desk::start().await;
    let pat = d.add("pat@city.example", "Pat Lee", "staff").await;
    let sam = d.add("sam@city.example", "Sam Ito", "staff").await;
    d.add("ada@city.example", "Ada Chief", "admin").await;
    let t = d
        .ticket(TicketKind::EmailReceived, Some("C-1001"), "a question")
        .await;
    let mut p = signed_in(&d, "pat@city.example").await;
    let mut s = signed_in(&d, "sam@city.example").await;
    let mut a = signed_in(&d, "ada@city.example").await;

    assert_eq!(act(&mut p, t, "claim", &[]).await.status, 303);
    let mine = p.get("/staff?assignee=mine").await;
    assert!(mine.body.contains(&format!("#{t}")) && mine.body.contains("Release"));
    let again = act(&mut s, t, "claim", &[]).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already claimed by Pat Lee"));
    let not_yours = act(&mut s, t, "release", &[]).await;
    assert_eq!(not_yours.status, 403);
    let sam_id = sam.to_string();
    let no_admin = post(
        &mut s,
        &format!("/staff/tickets/{t}/reassign"),
        &[("to", &sam_id)],
    )
    .await;
    assert_eq!(no_admin.status, 403);
    assert_eq!(d.assigned_to(t).await, Some(pat));

    let to_sam = post(
        &mut a,
        &format!("/staff/tickets/{t}/reassign"),
        &[("to", &sam_id)],
    )
    .await;
    assert_eq!(to_sam.location(), Some("/staff?done=reassigned"));
    assert_eq!(d.assigned_to(t).await, Some(sam));
    let nobody = post(
        &mut a,
        &format!("/staff/tickets/{t}/reassign"),
        &[("to", "999")],
    )
    .await;
    assert_eq!(nobody.status, 422);
    assert_eq!(act(&mut s, t, "release", &[]).await.status, 303);
    assert_eq!(d.assigned_to(t).await, None);
    let unclaimed = act(&mut p, t, "release", &[]).await;
    assert_eq!(unclaimed.status, 409);
    assert_eq!(act(&mut p, t, "claim", &[]).await.status, 303);
    assert_eq!(act(&mut a, t, "release", &[]).await.status, 303);

    let audit = d.audit_lines().await;
    let has = |needle: &str| audit.iter().any(|l| l.contains(needle));
    assert!(
        has("ticket_claimed ticket:") && has("claimed by Pat Lee"),
        "{audit:?}"
    );
    assert!(
        has("reassigned by Ada Chief from Pat Lee to Sam Ito"),
        "{audit:?}"
    );
    assert!(has("released by Sam Ito"), "{audit:?}");
    assert!(has("released by Ada Chief (held by Pat Lee)"), "{audit:?}");
    helpline::audit::verify(d.app.state.store.pool())
        .await
        .expect("chain intact");
}

#[tokio::test]
async fn the_queue_filters_searches_and_counts() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let roof = d
        .ticket(TicketKind::PhoneCall, Some("C-1001"), "roofing call")
        .await;
    d.app.clock.advance(Duration::from_secs(3 * 3600 + 5 * 60));
    let elec = d
        .ticket(TicketKind::EmailBounced, Some("C-1002"), "electric bounce")
        .await;
    let urgent = d.ticket(TicketKind::NotMe, None, "takeover report").await;
    let mut b = signed_in(&d, "pat@city.example").await;

    let all = b.get("/staff").await;
    assert_eq!(all.status, 200);
    let (u, r, e) = (
        all.body.find(&format!("#{urgent}")).expect("urgent"),
        all.body.find(&format!("#{roof}")).expect("roof"),
        all.body.find(&format!("#{elec}")).expect("elec"),
    );
    assert!(u < r && r < e, "urgent first, then oldest first");
    assert!(all.body.contains("Phone call for staff") && all.body.contains("3 h 5 min"));
    assert!(all.body.contains("Open, unassigned: <strong>3</strong>"));
    assert!(all.body.contains("<th scope=\"col\">Ticket</th>"));

    let by_number = b.get("/staff?q=c-1001").await;
    assert!(by_number.body.contains(&format!("#{roof}")));
    assert!(!by_number.body.contains(&format!("#{elec}")));
    let by_email = b.get("/staff?q=SAM%40milehigh.example").await;
    assert!(by_email.body.contains(&format!("#{elec}")));
    assert!(!by_email.body.contains(&format!("#{roof}")));
    let by_license = b.get("/staff?q=B-884512").await;
    assert!(by_license.body.contains(&format!("#{roof}")));
    let by_kind = b.get("/staff?kind=email_bounced").await;
    assert!(
        by_kind.body.contains(&format!("#{elec}")) && !by_kind.body.contains(&format!("#{roof}"))
    );

    assert_eq!(act(&mut b, roof, "claim", &[]).await.status, 303);
    let unassigned = b.get("/staff?assignee=unassigned").await;
    assert!(!unassigned.body.contains(&format!("#{roof}</th>")));
    assert!(unassigned.body.contains(&format!("#{elec}")));
    assert!(
        unassigned
            .body
            .contains("Open, claimed: <strong>1</strong>")
    );
    let mine = b.get("/staff?assignee=mine").await;
    assert!(mine.body.contains(&format!("#{roof}")) && !mine.body.contains(&format!("#{elec}")));
}

/// Over https the staff session is a `__Host-` cookie, Secure, beside the contractor's.
#[tokio::test]
async fn over_https_the_staff_session_is_a_host_cookie() {
    let d = Desk::start_with(|s| {
        s.public_url = url::Url::parse("https://help.example.gov/").expect("url");
    })
    .await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let mut b = d.browser();
    let page = sign_in(&mut b, "pat@city.example", PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let cookie = page
        .set_cookie("__Host-helpline_staff")
        .expect("a __Host- staff cookie");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    assert_eq!(b.get("/staff").await.status, 200);
    let out = post(&mut b, "/staff/logout", &[]).await;
    assert_eq!(out.location(), Some("/staff/login"));
    assert!(
        !b.cookies.contains_key("__Host-helpline_staff"),
        "removed at sign-out"
    );
}

/// `helpline staff disable`: the login's open session ends at once, it cannot sign in again,
/// the audit log says so, and a second disable is a one-line failure.
#[tokio::test]
async fn the_disable_command_ends_sessions_and_is_audited() {
    use crate::common::{helpline, run};
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let mut b = signed_in(&d, "pat@city.example").await;
    let disable = || {
        run(helpline(d.app.db.dir())
            .env("HELPLINE_DATABASE_URL", d.app.db.url())
            .args(["staff", "disable", "Pat@City.example"]))
    };
    let (code, out, err) = disable();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("disabled"), "{out}");
    assert_eq!(b.get("/staff").await.location(), Some("/staff/login"));
    let again = sign_in(&mut b, "pat@city.example", PASSWORD).await;
    assert!(again.body.contains("do not match a staff login"));
    let (code, _, err) = disable();
    assert_eq!(code, 1);
    assert!(err.contains("no enabled staff login"), "{err}");
    let audit = d.audit_lines().await;
    assert!(
        audit
            .iter()
            .any(|l| l == "cli staff_disabled staff:pat@city.example sessions ended: 1"),
        "{audit:?}"
    );
}
