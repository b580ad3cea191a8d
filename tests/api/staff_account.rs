//! The account actions staff take from a ticket (issue 12), over real HTTP with the loopback
//! SMTP server and the Twilio stand-in: sends that end in a sign-in, the security-answer
//! check, contact changes, registration decisions (once, under concurrency), unlock, and the
//! refusals (no session, bad CSRF, no contractor). Both databases.

use std::time::Duration;

use helpline::domain::ids::TicketId;
use helpline::domain::secret::token_digest;
use helpline::domain::ticket::TicketKind;
use helpline::store::tokens::{self, Purpose};
use helpline::store::{contractors, threads};
use secrecy::SecretString;

use crate::common::browser::{Browser, Page};
use crate::common::desk::{self, Desk, PASSWORD, signed_in};
use crate::common::logs;
use crate::common::smtp::SmtpSink;
use crate::common::twilio::TwilioStandIn;
use crate::portal::{GOOD, Portal, login, reset_token, temporary_password_in, text_of};

struct Counter {
    d: Desk,
    smtp: SmtpSink,
    twilio: TwilioStandIn,
}

async fn start() -> Counter {
    let Portal { app, smtp, twilio } = Portal::start().await;
    let hash = app
        .state
        .hasher
        .hash(&SecretString::from(PASSWORD.to_string()))
        .await
        .expect("hash");
    let d = Desk { app, hash };
    d.add("pat@city.example", "Pat Lee", "staff").await;
    Counter { d, smtp, twilio }
}

impl Counter {
    async fn staff(&self) -> Browser {
        signed_in(&self.d, "pat@city.example").await
    }

    async fn ticket(&self, number: Option<&str>) -> TicketId {
        self.d
            .ticket(TicketKind::PhoneCall, number, "Caller cannot log in")
            .await
    }

    /// Gives the contractor a password and the answer "rex" to a security question.
    async fn with_password(&self, number: &str, password: &str) {
        crate::portal::give_password(&self.d.app, number, password).await;
    }

    async fn timeline(&self, t: TicketId) -> Vec<String> {
        threads::timeline(self.d.app.state.store.pool(), t)
            .await
            .expect("timeline")
            .into_iter()
            .filter(|e| e.kind == "account")
            .map(|e| format!("{}: {}", e.author, e.text))
            .collect()
    }
}

async fn act(b: &mut Browser, t: TicketId, action: &str, fields: &[(&str, &str)]) -> Page {
    desk::post(b, &format!("/staff/tickets/{t}/account/{action}"), fields).await
}

fn done(page: &Page, t: TicketId, code: &str) {
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        page.location(),
        Some(format!("/staff/tickets/{t}?account={code}").as_str())
    );
}

fn email_text(sink: &SmtpSink, to: &str) -> Vec<String> {
    sink.received()
        .into_iter()
        .filter(|m| {
            m.to.iter()
                .any(|r| r.trim_matches(['<', '>']).eq_ignore_ascii_case(to))
        })
        .map(|m| text_of(&m.data).replace("\r\n", "\n"))
        .collect()
}

async fn wait_for_email(sink: &SmtpSink, to: &str, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let found = email_text(sink, to);
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "no email to {to}: {:?}",
        sink.received()
            .iter()
            .map(|m| m.to.clone())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_staff_action_that_sends_a_temporary_password_ends_in_the_contractor_logging_in() {
    let c = start().await;
    let t = c.ticket(Some("C-1001")).await;
    let mut b = c.staff().await;

    // The panel shows the contacts masked, never in full.
    let panel = b.get(&format!("/staff/tickets/{t}")).await;
    assert_eq!(panel.status, 200, "{}", panel.body);
    assert!(panel.body.contains("***-***-2075"), "{}", panel.body);
    assert!(panel.body.contains("p***@frontrange-roofing.example"));
    assert!(!panel.body.contains("pat@frontrange-roofing.example"));
    assert!(!panel.body.contains("303-658-2075") && !panel.body.contains("6582075"));

    let page = act(&mut b, t, "send_temporary_sms", &[]).await;
    done(&page, t, "temporary_texted");
    let sent = c.twilio.wait_for(1).await;
    assert_eq!(sent[0].field("To"), Some("+13036582075"));
    let temp = temporary_password_in(sent[0].field("Body").expect("body"));

    let after = b
        .get(&format!("/staff/tickets/{t}?account=temporary_texted"))
        .await;
    assert!(after.body.contains("You cannot see it"), "{}", after.body);
    for shown in [&page.body, &after.body, page.location().unwrap_or_default()] {
        assert!(!shown.contains(&temp), "staff never see the secret");
    }

    // A second send at once is refused by the budget, with a clear message.
    let again = act(&mut b, t, "send_temporary_sms", &[]).await;
    assert_eq!(again.status, 429, "{}", again.body);
    assert!(
        again.body.contains("less than 5 minutes ago"),
        "{}",
        again.body
    );

    let mut contractor = Browser::new(&c.d.app.base);
    let page = login(&mut contractor, "C-1001", &temp).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), Some("/login/change"));

    let audit = c.d.audit_lines().await;
    assert!(
        audit.iter().any(|l| l.contains("temporary_password_issued")
            && l.contains("Pat Lee")
            && l.starts_with("staff:")),
        "{audit:?}"
    );
    let timeline = c.timeline(t).await;
    assert!(
        timeline
            .iter()
            .any(|e| e.starts_with("Pat Lee: temporary password issued: by SMS to ***-***-2075")),
        "{timeline:?}"
    );
    assert!(!timeline.iter().any(|e| e.contains(&temp)));
    assert!(
        !logs::captured().contains(&temp),
        "the secret is never logged"
    );
}

#[tokio::test]
async fn a_temporary_password_by_email_and_a_reset_link_go_to_the_address_on_record() {
    let c = start().await;
    let t = c.ticket(Some("C-1002")).await;
    let mut b = c.staff().await;
    let page = act(&mut b, t, "send_temporary_email", &[]).await;
    done(&page, t, "temporary_emailed");
    let mail = wait_for_email(&c.smtp, "sam@milehigh.example", 1).await;
    let temp = mail[0]
        .split("\n\n")
        .nth(2)
        .expect("the password paragraph")
        .trim()
        .to_string();
    assert_eq!(temp.len(), 9, "{}", mail[0]);
    let mut contractor = Browser::new(&c.d.app.base);
    let page = login(&mut contractor, "C-1002", &temp).await;
    assert_eq!(page.location(), Some("/login/change"), "{}", page.body);
    assert!(!logs::captured().contains(&temp));

    // Two staff sending at once: the budget lets exactly one through, on either database.
    c.d.add("kim@city.example", "Kim Ruiz", "staff").await;
    let mut kim = signed_in(&c.d, "kim@city.example").await;
    let t2 = c.ticket(Some("C-1002")).await;
    let (a, k) = tokio::join!(
        act(&mut b, t, "send_reset_link", &[]),
        act(&mut kim, t2, "send_reset_link", &[])
    );
    let mut statuses = [a.status, k.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [303, 429],
        "{:?} / {:?}",
        a.location(),
        k.location()
    );

    // A contractor with no email on record: a clear refusal.
    let none = c.ticket(Some("C-1003")).await;
    let page = act(&mut b, none, "send_reset_link", &[]).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("no email on record"), "{}", page.body);

    // An address that bounced gets nothing.
    helpline::store::email_undeliverable::mark(
        c.d.app.state.store.pool(),
        "pat@frontrange-roofing.example",
        None,
        0,
    )
    .await
    .expect("mark");
    let t1 = c.ticket(Some("C-1001")).await;
    let page = act(&mut b, t1, "send_reset_link", &[]).await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains("bounced"), "{}", page.body);
}

#[tokio::test]
async fn the_security_check_says_matches_or_not_counts_on_its_own_and_never_echoes() {
    let c = start().await;
    c.with_password("C-1001", GOOD).await;
    let t = c.ticket(Some("C-1001")).await;
    let mut b = c.staff().await;

    let page = act(&mut b, t, "check_answer", &[("answer", "  REX ")]).await;
    done(&page, t, "answer_matches");
    let shown = b
        .get(&format!("/staff/tickets/{t}?account=answer_matches"))
        .await;
    assert!(shown.body.contains("Security answer: matches."));
    assert!(shown.body.contains("What was the name of your first pet?"));

    const WRONG: &str = "Tabby-Whiskers-9";
    for _ in 0..3 {
        c.d.app.clock.advance(Duration::from_secs(2));
        let page = act(&mut b, t, "check_answer", &[("answer", WRONG)]).await;
        done(&page, t, "answer_differs");
        assert!(!page.body.contains(WRONG));
    }
    c.d.app.clock.advance(Duration::from_secs(2));
    let page = act(&mut b, t, "check_answer", &[("answer", "rex")]).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Too many checks"), "{}", page.body);
    assert!(page.body.contains("another way"));

    // Two factors, two counters: the password still works.
    let mut contractor = Browser::new(&c.d.app.base);
    assert_eq!(
        login(&mut contractor, "C-1001", GOOD).await.location(),
        Some("/account")
    );

    let audit = c.d.audit_lines().await;
    let checks: Vec<_> = audit
        .iter()
        .filter(|l| l.contains("security_answer_checked"))
        .collect();
    assert_eq!(checks.len(), 4, "{audit:?}");
    assert!(checks.iter().all(|l| l.contains("Pat Lee")));
    assert!(checks[0].contains("answer matches"));
    assert!(checks[1].contains("does not match"));
    let log = logs::captured();
    assert!(!log.contains(WRONG) && !log.contains("REX"), "{log}");
    assert!(!audit.iter().any(|l| l.contains(WRONG)));
    assert!(!c.timeline(t).await.iter().any(|e| e.contains(WRONG)));
}

#[tokio::test]
async fn a_contact_change_tells_the_old_contact_and_voids_a_live_reset_link() {
    let c = start().await;
    let t = c.ticket(Some("C-1001")).await;
    let mut b = c.staff().await;
    let page = act(&mut b, t, "send_reset_link", &[]).await;
    done(&page, t, "reset_sent");
    let mail = wait_for_email(&c.smtp, "pat@frontrange-roofing.example", 1).await;
    let token = reset_token(&mail[0]);
    let live = |token: String| {
        let st = c.d.app.state.clone();
        async move {
            tokens::live_account(
                st.store.pool(),
                &token_digest(&token),
                Purpose::Reset,
                st.clock.now_ms(),
            )
            .await
            .expect("read")
            .is_some()
        }
    };
    assert!(live(token.clone()).await);

    // Specific errors first.
    let page = act(
        &mut b,
        t,
        "change_email",
        &[("email", "nope"), ("reason", "caller verified")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("not an email address"), "{}", page.body);
    let page = act(
        &mut b,
        t,
        "change_phone",
        &[("phone", "555-12"), ("reason", "caller verified")],
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("has 5 digits"), "{}", page.body);
    let page = act(&mut b, t, "change_email", &[("email", "pat@new.example")]).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Give a reason"), "{}", page.body);

    let page = act(
        &mut b,
        t,
        "change_email",
        &[
            ("email", "pat@new-roofing.example"),
            ("reason", "verified by call back to the phone on record"),
        ],
    )
    .await;
    done(&page, t, "email_changed");
    assert!(!live(token).await, "the earlier link no longer works");
    let old = wait_for_email(&c.smtp, "pat@frontrange-roofing.example", 2).await;
    let notice = old
        .iter()
        .find(|m| m.contains("changed the email"))
        .expect("notice");
    assert!(notice.contains("p***@new-roofing.example"), "{notice}");
    assert!(notice.contains("If this was not you, call the Building Division"));
    let texts = c.twilio.wait_for(1).await;
    assert!(
        texts
            .iter()
            .any(|s| s.field("Body").is_some_and(|b| b.contains("was changed"))),
        "the phone on record is told too"
    );

    let now = contractors::by_number(c.d.app.state.store.pool(), "C-1001")
        .await
        .expect("read")
        .expect("there");
    assert_eq!(now.fields.email.as_deref(), Some("pat@new-roofing.example"));
    let audit = c.d.audit_lines().await;
    let line = audit
        .iter()
        .find(|l| l.contains("contact_changed"))
        .expect("audited");
    assert!(line.contains("from p***@frontrange-roofing.example to p***@new-roofing.example"));
    assert!(line.contains("reason: verified by call back") && line.contains("Pat Lee"));
    assert!(!line.contains("pat@new-roofing.example"), "masked: {line}");

    // A phone change texts the old phone.
    let page = act(
        &mut b,
        t,
        "change_phone",
        &[
            ("phone", "(720) 555-0199"),
            ("reason", "new mobile, verified"),
        ],
    )
    .await;
    done(&page, t, "phone_changed");
    let texts = c.twilio.wait_for(2).await;
    let to_old: Vec<_> = texts
        .iter()
        .filter(|s| s.field("To") == Some("+13036582075"))
        .collect();
    assert_eq!(to_old.len(), 2, "both notices went to the old phone");
    assert!(
        to_old[1]
            .field("Body")
            .unwrap_or_default()
            .contains("***-***-0199")
    );
}

fn registration(license: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("license_number", license),
        ("business_name", "Aspen Framing"),
        ("contact_name", "Lee Park"),
        ("phone", "(720) 555-0150"),
        ("email", "lee@aspen-framing.example"),
        ("password", GOOD),
        ("confirm", GOOD),
        ("question", "birth_city"),
        ("answer", "Denver"),
        ("answer_again", "Denver"),
    ]
}

async fn registration_ticket(c: &Counter, license: &'static str) -> TicketId {
    let page = Browser::new(&c.d.app.base)
        .post("/register", &registration(license))
        .await;
    assert!(page.status < 400, "{}", page.body);
    let id: i64 =
        sqlx::query_scalar("SELECT ticket_id FROM registrations WHERE license_number = $1")
            .bind(license)
            .fetch_one(c.d.app.state.store.pool())
            .await
            .expect("a registration");
    TicketId(id)
}

#[tokio::test]
async fn an_approved_registration_signs_in_and_two_approvals_make_one_contractor() {
    let c = start().await;
    c.d.add("kim@city.example", "Kim Ruiz", "staff").await;
    let t = registration_ticket(&c, "Z-55501").await;
    let mut pat = c.staff().await;
    let mut kim = signed_in(&c.d, "kim@city.example").await;
    let panel = pat.get(&format!("/staff/tickets/{t}")).await;
    assert!(panel.body.contains("Z-55501") && panel.body.contains("l***@aspen-framing.example"));
    assert!(!panel.body.contains("lee@aspen-framing.example"));

    let (a, k) = tokio::join!(
        act(&mut pat, t, "approve", &[]),
        act(&mut kim, t, "approve", &[])
    );
    let mut statuses = [a.status, k.status];
    statuses.sort();
    assert_eq!(statuses, [303, 409], "{} / {}", a.body, k.body);
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM contractors WHERE contractor_number = $1")
            .bind("Z-55501")
            .fetch_one(c.d.app.state.store.pool())
            .await
            .expect("count");
    assert_eq!(n, 1);

    let mut applicant = Browser::new(&c.d.app.base);
    let page = login(&mut applicant, "Z-55501", GOOD).await;
    assert_eq!(page.location(), Some("/account"), "{}", page.body);
    let audit = c.d.audit_lines().await;
    assert_eq!(
        audit
            .iter()
            .filter(|l| l.contains("registration_approved"))
            .count(),
        1
    );

    // Rejecting another sends the applicant a notice; a second decision is refused.
    let r = registration_ticket(&c, "Z-55502").await;
    done(&act(&mut pat, r, "reject", &[]).await, r, "rejected");
    let notice = wait_for_email(&c.smtp, "lee@aspen-framing.example", 1).await;
    assert!(notice[0].contains("could not approve"), "{}", notice[0]);
    let again = act(&mut kim, r, "approve", &[]).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already rejected"), "{}", again.body);
    let mut applicant = Browser::new(&c.d.app.base);
    assert_eq!(login(&mut applicant, "Z-55502", GOOD).await.status, 200);
}

#[tokio::test]
async fn unlock_lets_a_locked_contractor_sign_in_again() {
    let c = start().await;
    c.with_password("C-1002", GOOD).await;
    let mut contractor = Browser::new(&c.d.app.base);
    for _ in 0..3 {
        login(&mut contractor, "C-1002", "Wrong-Pa55").await;
    }
    assert_eq!(
        login(&mut contractor, "C-1002", GOOD).await.status,
        200,
        "locked: refused"
    );
    let t = c.ticket(Some("C-1002")).await;
    let mut b = c.staff().await;
    let panel = b.get(&format!("/staff/tickets/{t}")).await;
    assert!(
        panel.body.contains("<strong>Locked</strong>"),
        "{}",
        panel.body
    );
    done(&act(&mut b, t, "unlock", &[]).await, t, "unlocked");
    assert_eq!(
        login(&mut contractor, "C-1002", GOOD).await.location(),
        Some("/account")
    );
    let audit = c.d.audit_lines().await;
    assert!(
        audit
            .iter()
            .any(|l| l.contains("account_unlocked") && l.contains("Pat Lee")),
        "{audit:?}"
    );

    // Unfreezing needs the box ticked, and a frozen account.
    let page = act(&mut b, t, "unfreeze", &[]).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Tick the box"));
    let page = act(&mut b, t, "unfreeze", &[("confirm", "yes")]).await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains("not frozen"));
}

#[tokio::test]
async fn no_session_bad_csrf_and_no_contractor_are_refused() {
    let c = start().await;
    let t = c.ticket(Some("C-1001")).await;
    let mut stranger = c.d.browser();
    let page = act(&mut stranger, t, "send_reset_link", &[]).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/staff/login"));
    assert_eq!(
        stranger
            .get(&format!("/staff/tickets/{t}"))
            .await
            .location(),
        Some("/staff/login")
    );

    let mut b = c.staff().await;
    let forged = b
        .post_raw(
            &format!("/staff/tickets/{t}/account/send_reset_link"),
            &[("csrf".to_string(), "forged".to_string())],
        )
        .await;
    assert_eq!(forged.status, 403);

    let orphan = c.ticket(None).await;
    let page = act(&mut b, orphan, "send_temporary_sms", &[]).await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains("names no contractor"), "{}", page.body);
    let page = act(&mut b, TicketId(9999), "unlock", &[]).await;
    assert_eq!(page.status, 404);
    let page = act(&mut b, t, "explode", &[]).await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("no account action"));
    assert_eq!(c.twilio.texts().len(), 0);
    assert!(
        c.d.audit_lines()
            .await
            .iter()
            .all(|l| !l.contains("_issued"))
    );
}
