//! A bounce for an address on record marks it undeliverable, and that is honoured everywhere:
//! nothing more is queued to it, a message queued before the bounce is dropped by the worker,
//! the kiosk offers a text instead and says why, the bounce ticket says so. It clears when the
//! roster changes the email on record and through the store function staff call. Also: the
//! Reply-To every email carries, and the email that tells a contractor a temporary password
//! went to their phone. Both databases, real HTTP and real SMTP.

use std::sync::Arc;

use helpline::clock::SharedClock;
use helpline::roster;
use helpline::store::email_undeliverable;
use helpline::store::outbox::{self as queue, Channel, NewMessage};
use mail_parser::MessageParser;
use tokio::sync::Barrier;

use crate::common::outbox::settled;
use crate::email_in::{TOKEN, deliver, fixture, header, start, templates, tickets_of};
use crate::portal::{Portal, ROSTER, assert_logs_clean, temporary_password_in, text_of};

/// C-1002's email on record, the failed recipient of `dsn_bounce.eml`.
const SAM: &str = "sam@milehigh.example";

async fn undeliverable(p: &Portal, address: &str) -> bool {
    email_undeliverable::is_undeliverable(p.app.state.store.pool(), address)
        .await
        .expect("read")
}

/// Every outbox row to `to`: `template:status`.
async fn sent_to(p: &Portal, to: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT template || ':' || status FROM outbox WHERE LOWER(recipient) = LOWER($1) \
         ORDER BY id",
    )
    .bind(to)
    .fetch_all(p.app.state.store.pool())
    .await
    .expect("outbox")
}

/// The kiosk's step two for C-1002 (Sam, phone 303.555.0142).
async fn kiosk_choices(p: &Portal) -> String {
    let mut b = p.browser();
    let page = b
        .post("/help", &[("number", "C-1002"), ("phone", "303.555.0142")])
        .await;
    assert_eq!(page.location(), Some("/help/choose"), "{}", page.body);
    b.get("/help/choose").await.body
}

#[tokio::test]
async fn a_bounce_marks_the_address_and_nothing_more_goes_to_it_until_it_is_cleared() {
    let p = start().await;
    assert!(kiosk_choices(&p).await.contains("s***@milehigh.example"));

    // A message queued before the bounce arrives (as if the worker had not reached it yet).
    let now = p.app.state.clock.now_ms();
    email_undeliverable::mark(p.app.state.store.pool(), "SAM@MileHigh.example", None, now)
        .await
        .expect("mark");
    let mut tx = p.app.state.store.begin_write().await.expect("tx");
    queue::enqueue(
        &mut tx,
        &NewMessage {
            channel: Channel::Email,
            template: "password_changed",
            contractor_id: Some(p.contractor_id("C-1002").await),
            recipient: SAM.into(),
            subject: "Westminster: your contractor portal password was changed".into(),
            body_text: "queued before the bounce".into(),
            body_html: None,
            message_id: "<queued-early@westminster.example.gov>".into(),
            secret_expires_at: None,
            in_reply_to: None,
        },
        now,
    )
    .await
    .expect("enqueue");
    tx.commit().await.expect("commit");
    p.app.state.outbox_wake.notify_one();
    settled(&p.app.state.store).await;
    assert_eq!(sent_to(&p, SAM).await, ["password_changed:dead"]);
    let why: String = sqlx::query_scalar("SELECT last_error FROM outbox WHERE recipient = $1")
        .bind(SAM)
        .fetch_one(p.app.state.store.pool())
        .await
        .expect("row");
    assert!(why.contains("cannot receive mail"), "{why}");
    assert!(
        email_undeliverable::clear(p.app.state.store.pool(), SAM)
            .await
            .expect("clear")
    );

    // The delivery report itself.
    let answer = deliver(&p, fixture("dsn_bounce.eml")).await;
    assert!(answer.contains("bounce"), "{answer}");
    assert!(undeliverable(&p, SAM).await);
    assert!(undeliverable(&p, "Sam@MILEHIGH.example").await, "any case");
    assert!(
        !undeliverable(&p, "someone@elsewhere.example").await,
        "only addresses on record"
    );
    let ticket = &tickets_of(&p, "email_bounced").await[0];
    assert!(
        ticket.detail.contains("marked undeliverable"),
        "{}",
        ticket.detail
    );
    let report: Option<String> =
        sqlx::query_scalar("SELECT report_id FROM email_undeliverable WHERE address = $1")
            .bind(SAM)
            .fetch_one(p.app.state.store.pool())
            .await
            .expect("row");
    assert_eq!(
        report.as_deref(),
        Some("<20261203160500.1A2B3C4D5E@mx.westminster.example.gov>")
    );

    // "Forgot password" queues nothing to it; the page tells nothing either way.
    let mut b = p.browser();
    let page = b.post("/forgot", &[("username", "C-1002")]).await;
    assert_eq!(page.location(), Some("/forgot?sent=1"));
    // An email to the help line from it is still a ticket, but the answer is not queued.
    deliver(
        &p,
        crate::email_in::email(
            SAM,
            "after-bounce@milehigh.example",
            "hello",
            "are you there",
        ),
    )
    .await;
    settled(&p.app.state.store).await;
    assert_eq!(
        sent_to(&p, SAM).await,
        ["password_changed:dead"],
        "nothing new"
    );

    // The kiosk offers the text instead, and says why.
    let page = kiosk_choices(&p).await;
    assert!(!page.contains("s***@milehigh.example"), "{page}");
    assert!(
        page.contains("The email on record cannot receive mail"),
        "{page}"
    );
    assert!(page.contains("***-***-0142"), "{page}");

    // Staff clear it (issue 12 calls this): the email is offered again.
    assert!(
        email_undeliverable::clear(p.app.state.store.pool(), SAM)
            .await
            .expect("clear")
    );
    assert!(!undeliverable(&p, SAM).await);
    assert!(kiosk_choices(&p).await.contains("s***@milehigh.example"));
    settled(&p.app.state.store).await;
    assert_logs_clean(&[TOKEN]);
}

#[tokio::test]
async fn a_roster_import_that_changes_the_email_clears_the_mark() {
    let p = start().await;
    deliver(&p, fixture("dsn_bounce.eml")).await;
    assert!(undeliverable(&p, SAM).await);
    let clock: SharedClock = p.app.clock.clone();
    // The same roster again: nothing changed, the mark stays.
    roster::import(&p.app.state.store, &clock, ROSTER.as_bytes(), None)
        .await
        .expect("roster");
    assert!(undeliverable(&p, SAM).await);
    let changed = ROSTER.replace(SAM, "office@milehigh.example");
    roster::import(&p.app.state.store, &clock, changed.as_bytes(), None)
        .await
        .expect("roster");
    assert!(!undeliverable(&p, SAM).await);
    assert!(kiosk_choices(&p).await.contains("o***@milehigh.example"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bounces_at_once_mark_the_address_once() {
    let p = Arc::new(start().await);
    let raw = String::from_utf8(fixture("dsn_bounce.eml")).expect("ascii");
    let barrier = Arc::new(Barrier::new(4));
    let mut tasks = Vec::new();
    for i in 0..4 {
        let (p, barrier) = (p.clone(), barrier.clone());
        // Four reports of the same failure, each with its own Message-ID.
        let raw = raw.replace("20261203160500.1A2B3C4D5E", &format!("concurrent-{i}"));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            deliver(&p, raw).await
        }));
    }
    for t in tasks {
        assert!(t.await.expect("task").contains("bounce"));
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_undeliverable")
        .fetch_one(p.app.state.store.pool())
        .await
        .expect("count");
    assert_eq!(rows, 1);
    // Marking again is a no-op that says so.
    let now = p.app.state.clock.now_ms();
    assert!(
        !email_undeliverable::mark(p.app.state.store.pool(), SAM, None, now)
            .await
            .expect("mark")
    );
}

#[tokio::test]
async fn every_email_carries_reply_to_the_help_address() {
    let p = Portal::start_with(|s| {
        s.mail.inbound_token = Some(TOKEN.to_string().into());
        s.mail.reply_to = "Westminster Building Help <help@westminster.example.gov>"
            .parse()
            .expect("mailbox");
    })
    .await;
    let mut b = p.browser();
    b.post("/forgot", &[("username", "C-1001")]).await;
    let mails = p.smtp.wait_for(1).await;
    let msg = MessageParser::default()
        .parse(&mails[0].data)
        .expect("parse");
    assert_eq!(
        header(&msg, "Reply-To").as_deref(),
        Some("\"Westminster Building Help\" <help@westminster.example.gov>")
    );
    assert_ne!(header(&msg, "From"), header(&msg, "Reply-To"));

    // Without the setting, replies go to the From address.
    let p = Portal::start().await;
    let mut b = p.browser();
    b.post("/forgot", &[("username", "C-1001")]).await;
    let mails = p.smtp.wait_for(1).await;
    let msg = MessageParser::default()
        .parse(&mails[0].data)
        .expect("parse");
    let from = msg.from().and_then(|f| f.first()).and_then(|a| a.address());
    let reply_to = msg
        .reply_to()
        .and_then(|f| f.first())
        .and_then(|a| a.address());
    assert!(from.is_some());
    assert_eq!(reply_to, from);
}

#[tokio::test]
async fn a_temporary_password_by_text_is_told_by_email_without_the_secret() {
    let p = Portal::start().await;
    let mut b = p.browser();
    b.post("/help", &[("number", "c-1001"), ("phone", "303.658.2075")])
        .await;
    b.post("/help/send", &[("destination", "sms")]).await;
    let texts = p.twilio.wait_for(1).await;
    let temp = temporary_password_in(texts[0].field("Body").expect("body"));
    let mails = p.smtp.wait_for(1).await;
    let msg = MessageParser::default()
        .parse(&mails[0].data)
        .expect("parse");
    assert_eq!(
        mails[0].to,
        vec!["<pat@frontrange-roofing.example>".to_string()]
    );
    assert_eq!(
        msg.subject(),
        Some("Westminster: a temporary password was sent to your phone")
    );
    let text = text_of(&mails[0].data);
    assert!(text.contains("phone ending in 2075"), "{text}");
    assert!(text.contains("/not-me/"), "{text}");
    assert!(
        !String::from_utf8_lossy(&mails[0].data).contains(&temp),
        "no secret"
    );
    assert!(msg.body_html(0).is_some(), "an HTML part too");
    assert_eq!(
        templates(&p).await,
        ["email:temporary_password_sent", "sms:temporary_password"]
    );
    settled(&p.app.state.store).await;
    assert_logs_clean(&[&temp]);

    // The "this wasn't me" link in it freezes the account.
    let start = text.find("/not-me/").expect("link");
    let path = &text[start..start + "/not-me/".len() + 64];
    let mut owner = p.browser();
    let page = owner.get(path).await;
    assert!(page.body.contains("Freeze my account"), "{}", page.body);
    let page = owner.post(path, &[]).await;
    assert!(
        page.body.contains("Your account is frozen"),
        "{}",
        page.body
    );
}
