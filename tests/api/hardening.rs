//! The portal's holes, each written as the attack or the stumble that found it (issue 6), on
//! whichever database the suite runs on. Parallel cases send real concurrent requests that
//! start together at a barrier.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{Clock, SharedClock};
use helpline::guard::{AccountState, Factor, contractor_subject};
use helpline::roster;
use helpline::store::{accounts, contractors};
use tokio::sync::Barrier;

use crate::common::browser::Browser;
use crate::common::outbox::queued_count;
use crate::portal::{GOOD, OLD, Portal, assert_refused, login, temporary_password_in};

/// The kiosk's two steps up to the choice of destination.
async fn kiosk_verify(b: &mut Browser, number: &str, phone: &str) -> bool {
    let page = b
        .post("/help", &[("number", number), ("phone", phone)])
        .await;
    page.location() == Some("/help/choose")
}

async fn kiosk_send_sms(b: &mut Browser) -> String {
    let page = b.post("/help/send", &[("destination", "sms")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

async fn live_links(p: &Portal, contractor: &str) -> i64 {
    let id = p.contractor_id(contractor).await;
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM reset_tokens t JOIN accounts a ON a.id = t.account_id \
         WHERE a.contractor_id = $1 AND t.purpose = 'reset' AND t.used_at IS NULL \
         AND t.voided_at IS NULL",
    )
    .bind(id)
    .fetch_one(p.app.state.store.pool())
    .await
    .expect("count links")
}

async fn sms_queued_to(p: &Portal, to: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'sms' AND recipient = $1")
        .bind(to)
        .fetch_one(p.app.state.store.pool())
        .await
        .expect("count texts")
}

/// Item 2: two wrong passwords, then a successful kiosk check, six times over, used to give
/// twelve guesses without a lockout.
#[tokio::test]
async fn a_kiosk_success_never_clears_the_password_counter() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut attacker = p.browser();
    let mut wrong = 0;
    let mut locked = false;
    for _ in 0..6 {
        for _ in 0..2 {
            p.app.clock.advance(Duration::from_secs(2));
            login(&mut attacker, "C-1001", "Wrong-Pa55").await;
            wrong += 1;
        }
        p.app.clock.advance(Duration::from_secs(2));
        assert!(kiosk_verify(&mut p.browser(), "C-1001", "303 658 2075").await);
        let subject = contractor_subject(Factor::Password, "C-1001");
        if let AccountState::Waiting { .. } = p
            .app
            .state
            .guard
            .account_state(&subject)
            .await
            .expect("state")
        {
            locked = true;
            break;
        }
    }
    assert!(locked, "{wrong} wrong passwords and still no wait");
    assert!(
        wrong <= 4,
        "the wait came only after {wrong} wrong passwords"
    );
    assert_refused(
        &login(&mut p.browser(), "C-1001", OLD).await,
        "the right password waits too",
    );

    // And the other way round: a right password does not clear the identity counter.
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    for phone in ["720 555 0101", "720 555 0102"] {
        p.app.clock.advance(Duration::from_secs(2));
        assert!(!kiosk_verify(&mut p.browser(), "C-1001", phone).await);
    }
    p.app.clock.advance(Duration::from_secs(2));
    assert_eq!(
        login(&mut p.browser(), "C-1001", OLD).await.location(),
        Some("/account")
    );
    p.app.clock.advance(Duration::from_secs(2));
    assert!(!kiosk_verify(&mut p.browser(), "C-1001", "720 555 0103").await);
    p.app.clock.advance(Duration::from_secs(2));
    assert!(
        !kiosk_verify(&mut p.browser(), "C-1001", "303 658 2075").await,
        "the third identity failure makes the identity check wait"
    );
}

/// Item 3: eight kiosk rounds sent eight temporary passwords in half a second.
#[tokio::test]
async fn temporary_passwords_are_throttled_per_account_and_a_day() {
    let p = Portal::start().await;
    for round in 0..8 {
        let mut b = p.browser();
        assert!(kiosk_verify(&mut b, "C-1001", "3036582075").await);
        let body = kiosk_send_sms(&mut b).await;
        if round == 0 {
            assert!(body.contains("***-***-2075"), "{body}");
        } else {
            assert!(body.contains("could not send"), "round {round}: {body}");
        }
    }
    assert_eq!(sms_queued_to(&p, "+13036582075").await, 1);

    // One every five minutes, five a day.
    for _ in 0..6 {
        p.app.clock.advance(Duration::from_secs(5 * 60));
        let mut b = p.browser();
        assert!(kiosk_verify(&mut b, "C-1001", "3036582075").await);
        kiosk_send_sms(&mut b).await;
    }
    assert_eq!(sms_queued_to(&p, "+13036582075").await, 5);
    p.app.clock.advance(Duration::from_secs(24 * 3600));
    let mut b = p.browser();
    assert!(kiosk_verify(&mut b, "C-1001", "3036582075").await);
    kiosk_send_sms(&mut b).await;
    assert_eq!(sms_queued_to(&p, "+13036582075").await, 6, "a new day");
}

/// Item 3: parallel posts of /help/send after one verification sent five texts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_verification_sends_once_even_when_posted_in_parallel() {
    let p = Portal::start().await;
    let mut b = p.browser();
    assert!(kiosk_verify(&mut b, "C-1001", "3036582075").await);
    let csrf = b.csrf().await;
    let cookies = b.cookies.clone();
    let barrier = Arc::new(Barrier::new(5));
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let mut twin = p.browser();
        twin.cookies = cookies.clone();
        let (barrier, csrf) = (barrier.clone(), csrf.clone());
        tasks.push(tokio::spawn(async move {
            let fields = [
                ("csrf".to_string(), csrf),
                ("destination".to_string(), "sms".to_string()),
            ];
            barrier.wait().await;
            twin.post_raw("/help/send", &fields).await.status
        }));
    }
    let mut sent = 0;
    for t in tasks {
        let status = t.await.expect("task");
        if status == 200 {
            sent += 1;
        } else {
            assert_eq!(status, 410, "the others find the verification used");
        }
    }
    assert_eq!(sent, 1);
    // The text, and the email on record telling of it.
    assert_eq!(queued_count(&p.app.state.store).await, 2);

    // Parallel kiosk rounds, each with its own verification, still send once.
    p.app.clock.advance(Duration::from_secs(60));
    let barrier = Arc::new(Barrier::new(4));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut b = p.browser();
        assert!(kiosk_verify(&mut b, "C-1002", "303-555-0142").await);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            kiosk_send_sms(&mut b).await
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(sms_queued_to(&p, "+13035550142").await, 1);
}

/// Item 3: /help/send answers to the per-source limiter like every other step.
#[tokio::test]
async fn the_send_step_is_behind_the_per_source_limiter() {
    let p = Portal::start_with(|s| {
        s.guard.per_source_burst = 2;
        s.guard.per_source_per_minute = 1;
    })
    .await;
    let mut b = p.browser();
    assert!(kiosk_verify(&mut b, "C-1001", "3036582075").await);
    // The second request of this source's burst.
    b.post("/forgot", &[("username", "nobody")]).await;
    let page = b.post("/help/send", &[("destination", "sms")]).await;
    assert_eq!(page.status, 410, "{}", page.body);
    assert_eq!(queued_count(&p.app.state.store).await, 0);
}

/// Item 4: a "remember me" session from before stayed valid after the owner recovered, and
/// could itself choose the new password.
#[tokio::test]
async fn the_forced_change_belongs_to_the_temporary_sign_in_and_ends_other_sessions() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut old = p.browser();
    let page = old
        .post(
            "/login",
            &[("username", "C-1001"), ("password", OLD), ("remember", "1")],
        )
        .await;
    assert_eq!(page.location(), Some("/account"));
    let mut other = p.browser();
    p.app.clock.advance(Duration::from_secs(2));
    assert_eq!(
        login(&mut other, "C-1001", OLD).await.location(),
        Some("/account")
    );

    // The owner recovers on another browser.
    let mut owner = p.browser();
    assert!(kiosk_verify(&mut owner, "C-1001", "3036582075").await);
    kiosk_send_sms(&mut owner).await;
    let sent = p.twilio.wait_for(1).await;
    let temp = temporary_password_in(sent[0].field("Body").expect("body"));
    p.app.clock.advance(Duration::from_secs(2));
    assert_eq!(
        login(&mut owner, "C-1001", &temp).await.location(),
        Some("/login/change")
    );
    let before = owner.cookies.get("helpline_session").cloned();

    // The old session may not choose the password: it is signed out instead.
    let change = [
        ("password", GOOD),
        ("confirm", GOOD),
        ("question", "first_pet"),
        ("answer", "Rex"),
        ("answer_again", "Rex"),
    ];
    let page = old.post("/login/change", &change).await;
    assert_eq!(page.location(), Some("/login"), "{}", page.body);
    let id = p.contractor_id("C-1001").await;
    let account = accounts::by_contractor(p.app.state.store.pool(), id)
        .await
        .expect("read")
        .expect("account");
    assert!(account.must_change(), "the old session changed nothing");

    // The other session from before is still alive until the change ends it.
    assert_eq!(
        other.get("/account").await.location(),
        Some("/login/change")
    );
    let page = owner.post("/login/change", &change).await;
    assert_eq!(page.location(), Some("/account?changed=1"), "{}", page.body);
    let after = owner.cookies.get("helpline_session").cloned();
    assert!(
        after.is_some() && after != before,
        "the session id is rotated"
    );
    assert_eq!(owner.get("/account").await.status, 200);
    assert_eq!(other.get("/account").await.location(), Some("/login"));
    assert_eq!(
        login(&mut p.browser(), "C-1001", GOOD).await.location(),
        Some("/account")
    );
}

/// Item 5: after a re-import changed the phone, the old temporary password still worked, and
/// a text queued while Twilio failed went to the old number once Twilio recovered.
#[tokio::test]
async fn a_contact_change_revokes_temporary_passwords_links_and_queued_secrets() {
    let p = Portal::start().await;
    p.twilio
        .fail_next(1, crate::common::twilio::Fault::ServerError);
    let mut b = p.browser();
    assert!(kiosk_verify(&mut b, "C-1001", "3036582075").await);
    kiosk_send_sms(&mut b).await;
    // Twilio refused the first try: the text waits for a retry.
    p.twilio.wait_for(1).await;
    p.browser().post("/forgot", &[("username", "C-1001")]).await;
    assert_eq!(live_links(&p, "C-1001").await, 1);

    let changed = crate::portal::ROSTER.replace("(303) 658-2075", "(720) 555-0199");
    let clock: SharedClock = p.app.clock.clone();
    roster::import(&p.app.state.store, &clock, changed.as_bytes(), None)
        .await
        .expect("re-import");

    assert_eq!(live_links(&p, "C-1001").await, 0, "links voided");
    let id = p.contractor_id("C-1001").await;
    let account = accounts::by_contractor(p.app.state.store.pool(), id)
        .await
        .expect("read")
        .expect("account");
    assert!(
        account.temporary_hash.is_none(),
        "temporary password revoked"
    );
    let pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE recipient = '+13036582075' AND status = 'pending'",
    )
    .fetch_one(p.app.state.store.pool())
    .await
    .expect("count");
    assert_eq!(pending, 0, "the queued text to the old number is dropped");
    p.app.clock.advance(Duration::from_secs(3600));
    p.app.state.outbox_wake.notify_one();
    // Whatever the worker does now, nothing more reaches the old number.
    let requests = p.twilio.requests();
    assert_eq!(requests.len(), 1, "only the failed try went out");
}

/// Item 5: the worker checks the recipient is still on record right before sending, for a
/// change that skipped the revocation (made straight in the database, say).
#[tokio::test]
async fn the_worker_drops_a_message_whose_recipient_is_no_longer_on_record() {
    use helpline::outbox::Outcome;
    let db = crate::common::TestDb::new().await;
    let store = db.store().await;
    let clock = crate::common::test_clock();
    let shared: SharedClock = clock.clone();
    roster::import(&store, &shared, crate::portal::ROSTER.as_bytes(), None)
        .await
        .expect("roster");
    let c = contractors::by_number(store.pool(), "C-1001")
        .await
        .expect("read")
        .expect("on the roster");
    let twilio = crate::common::twilio::TwilioStandIn::start().await;
    let mut settings = db.settings();
    twilio.configure(&mut settings);
    let sms: Arc<dyn helpline::twilio::SmsTransport> =
        Arc::new(helpline::twilio::TwilioRest::from_settings(&settings).expect("sms"));
    let email: Arc<dyn helpline::mail::EmailTransport> =
        Arc::new(helpline::mail::SmtpTransport::from_url("smtp://127.0.0.1:9", 1).expect("smtp"));
    let w = crate::common::outbox::test_worker(&store, &clock, email, Some(sms), 3);
    let mut tx = store.begin_write().await.expect("tx");
    let phone = helpline::domain::phone::PhoneNumber::parse("+13036582075").expect("phone");
    let id = helpline::outbox::queue_sms(
        &mut tx,
        &phone,
        "temporary_password",
        "secret".into(),
        Some(c.id),
        Some(clock.now_ms() + 600_000),
        clock.now_ms(),
    )
    .await
    .expect("queue")
    .expect("not stopped");
    tx.commit().await.expect("commit");
    let mut fields = c.fields.clone();
    fields.phone = Some("+17205550199".into());
    let mut tx = store.begin_write().await.expect("tx");
    contractors::update(&mut tx, c.id, &fields, clock.now_ms())
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(
        w.run_once().await.expect("run"),
        Some(Outcome::Dropped { id })
    );
    assert!(twilio.requests().is_empty());
    let row = crate::common::outbox::outbox_row(&store, id).await;
    assert_eq!(row.status, "dead");
    assert!(row.body_text.is_none(), "the body is erased");
}

/// Item 6: six parallel sends gave six emails and five live links (the cap is 5 a day).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_reset_requests_send_one_link() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    // An earlier send makes the budget rows exist, so the parallel requests race on the same
    // rows (a first insert would serialise them by itself).
    p.browser().post("/forgot", &[("username", "C-1001")]).await;
    p.app.clock.advance(Duration::from_secs(6 * 60));
    let barrier = Arc::new(Barrier::new(6));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let mut b = p.browser();
        let csrf = b.csrf().await;
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let fields = [
                ("csrf".to_string(), csrf),
                ("username".to_string(), "C-1001".to_string()),
            ];
            barrier.wait().await;
            b.post_raw("/forgot", &fields).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), 303);
    }
    assert_eq!(
        live_links(&p, "C-1001").await,
        1,
        "a newer link voids the older"
    );
    assert_eq!(
        queued_count(&p.app.state.store).await,
        2,
        "one before, one of the six"
    );

    // Five a day, whatever the spacing.
    for _ in 0..6 {
        p.app.clock.advance(Duration::from_secs(5 * 60));
        p.browser().post("/forgot", &[("username", "C-1001")]).await;
    }
    assert_eq!(queued_count(&p.app.state.store).await, 5);
}

/// Item 7: a NUL in a field gave a 500 on PostgreSQL. Every form refuses control characters
/// with the field's error, and over-long fields likewise.
#[tokio::test]
async fn control_characters_and_overlong_fields_get_the_fields_error() {
    let p = Portal::start().await;
    let long = "A".repeat(5_000);
    // (path, fields, the field in error)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 5] = [
        (
            "/login",
            vec![("username", "C-1001\0"), ("password", OLD)],
            "username",
        ),
        ("/forgot", vec![("username", "C-1001\0")], "username"),
        (
            "/help",
            vec![("number", "C-1001\0"), ("phone", "3036582075")],
            "number",
        ),
        (
            "/register",
            vec![("license_number", "B-884512\0"), ("phone", "3036582075")],
            "license_number",
        ),
        (
            "/login",
            vec![("username", &long), ("password", OLD)],
            "username",
        ),
    ];
    for (path, fields, field) in cases {
        let mut b = p.browser();
        let mut page = b.post(path, &fields).await;
        if path == "/register" {
            // Registration errors come back through a redirect, so the page survives a
            // change of language.
            assert_eq!(page.location(), Some("/register"), "{}", page.body);
            page = b.get("/register").await;
        } else {
            assert_eq!(page.status, 422, "{path}: {}", page.body);
        }
        assert!(
            page.body.contains(&format!("id=\"{field}-error\"")),
            "{path}: the error is next to {field}: {}",
            page.body
        );
        assert!(
            page.body.contains("cannot be typed here") || page.body.contains("This is too long."),
            "{path}"
        );
    }
    assert_eq!(queued_count(&p.app.state.store).await, 0);
}

/// Item 8: a password typed in the username box reached the log and the attempts table.
#[tokio::test]
async fn unknown_usernames_are_kept_only_as_keyed_hashes() {
    let p = Portal::start().await;
    let typed = "Sup3r-Secret-Typo";
    login(&mut p.browser(), typed, "whatever").await;
    let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM attempts")
        .fetch_all(p.app.state.store.pool())
        .await
        .expect("subjects");
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(subjects[0].starts_with("password:unknown:"));
    assert!(!subjects[0].to_uppercase().contains(&typed.to_uppercase()));
    crate::portal::assert_logs_clean(&[typed, &typed.to_uppercase()]);
}

/// Item 8: the CSRF token is bound to the session: one taken before sign-in is refused after.
#[tokio::test]
async fn a_csrf_token_from_before_sign_in_is_refused_after() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut b = p.browser();
    let before = b.csrf().await;
    login(&mut b, "C-1001", OLD).await;
    let page = b
        .post_raw("/logout", &[("csrf".to_string(), before.clone())])
        .await;
    assert_eq!(page.status, 403);
    let now = b.csrf().await;
    assert_ne!(now, before);
    assert_eq!(
        b.post_raw("/logout", &[("csrf".to_string(), now)])
            .await
            .location(),
        Some("/login")
    );
}

/// Item 8: expired sessions, dead links and quiet counters are purged on a timer.
#[tokio::test]
async fn the_pruner_purges_expired_rows() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    login(&mut p.browser(), "C-1001", OLD).await;
    login(&mut p.browser(), "nobody", "x").await;
    p.browser().post("/forgot", &[("username", "C-1001")]).await;
    let count = |table: &'static str| {
        let pool = p.app.state.store.pool().clone();
        async move {
            // `table` is one of the test's own `&'static str` names.
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table}"
            )))
            .fetch_one(&pool)
            .await
            .expect("count")
        }
    };
    assert!(count("sessions").await >= 1);
    assert_eq!(count("attempts").await, 1);
    assert_eq!(count("reset_tokens").await, 1);
    assert_eq!(p.app.state.guard.purge_store().await.expect("purge"), 0);
    p.app.clock.advance(Duration::from_secs(3 * 24 * 3600));
    assert!(p.app.state.guard.purge_store().await.expect("purge") >= 3);
    assert_eq!(count("sessions").await, 0);
    assert_eq!(count("attempts").await, 0);
    assert_eq!(count("reset_tokens").await, 0);
}

/// Item 9: the roster is the account list: a contractor who never signed in gets a link.
#[tokio::test]
async fn forgot_sends_a_link_to_a_roster_contractor_who_never_signed_in() {
    let p = Portal::start().await;
    p.browser().post("/forgot", &[("username", "C-1002")]).await;
    let mails = p.smtp.wait_for(1).await;
    assert_eq!(mails[0].to, vec!["<sam@milehigh.example>".to_string()]);
    assert_eq!(live_links(&p, "C-1002").await, 1);
}

/// The flood goal: strangers' guesses lock the account, but the owner's own browser (a
/// device cookie from an earlier sign-in) still gets in, with a small budget of its own.
#[tokio::test]
async fn the_owners_known_browser_signs_in_while_strangers_are_locked_out() {
    let p = Portal::start().await;
    p.with_password("C-1001", OLD).await;
    let mut owner = p.browser();
    assert_eq!(
        login(&mut owner, "C-1001", OLD).await.location(),
        Some("/account")
    );
    assert!(owner.cookies.contains_key("helpline_device"));
    owner.post("/logout", &[]).await;

    for _ in 0..5 {
        p.app.clock.advance(Duration::from_secs(2));
        login(&mut p.browser(), "C-1001", "Wrong-Pa55").await;
    }
    p.app.clock.advance(Duration::from_secs(2));
    assert_refused(
        &login(&mut p.browser(), "C-1001", OLD).await,
        "a stranger's browser waits, even with the right password",
    );
    assert_eq!(
        login(&mut owner, "C-1001", OLD).await.location(),
        Some("/account"),
        "the known browser gets in"
    );
    owner.post("/logout", &[]).await;

    // A stolen device cookie has its own small budget, then waits too.
    for _ in 0..3 {
        p.app.clock.advance(Duration::from_secs(2));
        assert_refused(&login(&mut owner, "C-1001", "Wrong-Pa55").await, "wrong");
    }
    p.app.clock.advance(Duration::from_secs(2));
    assert_refused(
        &login(&mut owner, "C-1001", OLD).await,
        "a device past its own budget waits",
    );

    // A device cookie forged or made for someone else counts as no device cookie.
    let mut forger = p.browser();
    forger.cookies.insert(
        "helpline_device".into(),
        format!("{}.{}", "a".repeat(32), "b".repeat(64)),
    );
    assert_refused(
        &login(&mut forger, "C-1001", OLD).await,
        "a forged device cookie is no device cookie",
    );
}

/// Item 11: switching language on a page that shows a form's result gave 405, 410 or an
/// emptied form. Every step now ends in a page that can be fetched again.
#[tokio::test]
async fn switching_language_keeps_the_contractors_place() {
    let p = Portal::start().await;
    let mut b = p.browser();
    assert!(kiosk_verify(&mut b, "C-1001", "3036582075").await);
    let choose = b.get("/help/choose?lang=es").await;
    assert_eq!(choose.status, 200);
    assert!(
        choose.body.contains("lang=\"es\"") && choose.body.contains("***-***-2075"),
        "{}",
        choose.body
    );
    b.get("/help/choose?lang=en").await;
    let sent = kiosk_send_sms(&mut b).await;
    assert!(sent.contains("Sent to ***-***-2075"), "{sent}");
    let es = b.get("/done?lang=es").await;
    assert_eq!(es.status, 200);
    assert!(es.body.contains("Enviado a ***-***-2075"), "{}", es.body);
    // A browser with no result to show gets the "start again" page, not an error.
    assert_eq!(p.browser().get("/done").await.status, 410);
}

/// The send budget itself, straight against the store: six writers that hold their
/// transactions open while they race for the last send of an existing row. One wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_writers_racing_for_one_send_leave_one_winner() {
    use helpline::store::budgets::{self, Budget};
    let db = crate::common::TestDb::new().await;
    let store = db.store().await;
    let budget = Budget {
        every: 5 * 60 * 1000,
        per_day: 5,
    };
    let t0 = crate::common::T0;
    let mut tx = store.begin_write().await.expect("tx");
    assert!(
        budgets::spend(&mut tx, "k", budget, t0)
            .await
            .expect("spend")
    );
    tx.commit().await.expect("commit");
    let later = t0 + 6 * 60 * 1000;
    let barrier = Arc::new(Barrier::new(6));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut tx = store.begin_write().await.expect("tx");
            let won = budgets::spend(&mut tx, "k", budget, later)
                .await
                .expect("spend");
            // Hold the transaction open a moment, as a real send does while it queues.
            tokio::time::sleep(Duration::from_millis(20)).await;
            tx.commit().await.expect("commit");
            won
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.expect("task"));
    }
    assert_eq!(winners, 1);
}

/// Item 14: emails and texts were English only, even when asked for from a Spanish page.
/// The contractor's language is remembered and every message is written in it.
#[tokio::test]
async fn messages_asked_for_in_spanish_come_in_spanish() {
    let p = Portal::start().await;
    let mut b = p.browser();
    b.get("/help?lang=es").await;
    assert!(kiosk_verify(&mut b, "C-1001", "3036582075").await);
    kiosk_send_sms(&mut b).await;
    let texts = p.twilio.wait_for(1).await;
    let body = texts[0].field("Body").expect("body");
    assert!(body.contains("contraseña temporal"), "{body}");
    let id = p.contractor_id("C-1001").await;
    assert_eq!(
        contractors::language(p.app.state.store.pool(), id)
            .await
            .expect("read")
            .as_deref(),
        Some("es")
    );

    let mut b = p.browser();
    b.get("/forgot?lang=es").await;
    b.post("/forgot", &[("username", "C-1002")]).await;
    let mails = p.smtp.wait_for(2).await;
    let link = mails
        .iter()
        .find(|m| m.to == ["<sam@milehigh.example>"])
        .expect("the link to C-1002");
    let parsed = mail_parser::MessageParser::default()
        .parse(&link.data)
        .expect("parse");
    assert!(
        parsed.subject().unwrap_or("").contains("contraseña nueva"),
        "{:?}",
        parsed.subject()
    );

    // The same request from an English page is written in English.
    p.app.clock.advance(Duration::from_secs(6 * 60));
    p.browser().post("/forgot", &[("username", "C-1002")]).await;
    let mails = p.smtp.wait_for(3).await;
    let parsed = mail_parser::MessageParser::default()
        .parse(&mails[2].data)
        .expect("parse");
    assert!(
        parsed
            .subject()
            .unwrap_or("")
            .contains("reset your contractor portal password"),
        "{:?}",
        parsed.subject()
    );
}
