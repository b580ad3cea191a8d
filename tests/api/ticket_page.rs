//! The ticket page over real HTTP (issue 12): `GET /staff/tickets/{id}` for signed-in staff,
//! its timeline (call checks, emails in and out, notes, texts and their delivery, never a
//! secret), its forms (note, resolve, reopen, replies by email over real SMTP and by text to
//! the Twilio stand-in), the business-hours SLA that pauses while waiting on the contractor,
//! and one winner among staff resolving at once. SQLite, and PostgreSQL when asked.

use std::sync::Arc;
use std::time::Duration;

use helpline::domain::ids::TicketId;
use helpline::domain::ticket::TicketKind;
use helpline::recovery::phone_line::{CallContext, mask_number};
use helpline::store::audit::page as audit_page;
use helpline::store::{sms_opt_outs, staff, threads, ticket_desk, tickets};
use secrecy::SecretString;
use tokio::sync::Barrier;

use crate::common::browser::Browser;
use crate::common::desk::{PASSWORD, act, sign_in};
use crate::common::outbox::settled;
use crate::common::{http, logs};
use crate::portal::{Portal, assert_logs_clean, temporary_password_in, text_of};

const TOKEN: &str = "inbound-test-token-0c8d1e2f3a4b5c6d";
const PAT: &str = "pat@frontrange-roofing.example";

async fn start() -> Portal {
    Portal::start_with(|s| s.mail.inbound_token = Some(TOKEN.to_string().into())).await
}

/// A staff login; a browser signed in with it.
async fn staff_member(p: &Portal, email: &str, name: &str) -> Browser {
    let st = &p.app.state;
    let hash = st
        .hasher
        .hash(&SecretString::from(PASSWORD.to_string()))
        .await
        .expect("hash");
    let mut tx = st.store.begin_write().await.expect("tx");
    staff::insert(&mut tx, email, name, "staff", &hash, st.clock.now_ms())
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let mut b = p.browser();
    let page = sign_in(&mut b, email, PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    b
}

async fn ticket_for(p: &Portal, number: Option<&str>) -> TicketId {
    let st = &p.app.state;
    let contractor_id = match number {
        Some(_) => Some(p.contractor_id(number.unwrap()).await),
        None => None,
    };
    let mut tx = st.store.begin_write().await.expect("tx");
    let id = tickets::open(
        &mut tx,
        &tickets::NewTicket {
            kind: TicketKind::PhoneCall,
            contractor_id,
            channel: helpline::domain::channel::Channel::Voice,
            summary: "Help line call for staff: the caller asked".into(),
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

async fn ticket_page(b: &mut Browser, t: TicketId) -> String {
    let page = b.get(&format!("/staff/tickets/{t}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

async fn audit_lines(p: &Portal) -> Vec<String> {
    audit_page(p.app.state.store.pool(), 0, 10_000)
        .await
        .expect("audit")
        .into_iter()
        .map(|r| format!("{} {} {} {}", r.actor, r.action, r.subject, r.detail))
        .collect()
}

async fn kinds(p: &Portal, t: TicketId) -> Vec<String> {
    threads::timeline(p.app.state.store.pool(), t)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

async fn deliver(p: &Portal, raw: String) {
    let res = http()
        .post(p.app.url("/email/inbound"))
        .bearer_auth(TOKEN)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 200);
}

fn email(id: &str, in_reply_to: Option<&str>, subject: &str, text: &str) -> String {
    let thread = in_reply_to
        .map(|r| format!("In-Reply-To: {r}\r\nReferences: {r}\r\n"))
        .unwrap_or_default();
    format!(
        "From: Pat Alvarez <{PAT}>\r\nTo: help@westminster.example.gov\r\nSubject: {subject}\r\n\
         Date: Thu, 3 Dec 2026 10:00:00 -0700\r\nMessage-ID: <{id}>\r\n{thread}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
}

fn header(data: &[u8], name: &str) -> Option<String> {
    let msg = mail_parser::MessageParser::default().parse(data)?;
    msg.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

#[tokio::test]
async fn the_ticket_page_needs_a_session_and_a_ticket_and_the_queue_links_to_it() {
    let p = start().await;
    let t = ticket_for(&p, Some("C-1001")).await;
    let mut anonymous = p.browser();
    let page = anonymous.get(&format!("/staff/tickets/{t}")).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/staff/login"));
    let forged = anonymous
        .post_raw(
            &format!("/staff/tickets/{t}/note"),
            &[("text".into(), "x".into())],
        )
        .await;
    assert!(
        forged.status == 403 || forged.status == 303,
        "{}",
        forged.status
    );

    let mut b = staff_member(&p, "pat@city.example", "Pat Lee").await;
    for bad in ["999999", "abc", "0", "-4"] {
        let page = b.get(&format!("/staff/tickets/{bad}")).await;
        assert_eq!(page.status, 404, "{bad}: {}", page.body);
        assert!(page.body.contains("There is no ticket"), "{}", page.body);
    }
    let note = act(&mut b, TicketId(999_999), "note", &[("text", "hello")]).await;
    assert_eq!(note.status, 404);
    let queue = b.get("/staff").await;
    assert!(
        queue.body.contains(&format!("href=\"/staff/tickets/{t}\"")),
        "{}",
        queue.body
    );
    let body = ticket_page(&mut b, t).await;
    assert!(body.contains("<ol class=\"timeline\">"), "{body}");
    // The contacts on record are masked: enough to compare with what a caller says.
    assert!(
        body.contains("Front Range Roofing") && body.contains("p***@frontrange-roofing.example"),
        "{body}"
    );
    assert!(!body.contains(PAT) && !body.contains("6582075"), "{body}");
    // Claim from the ticket page comes back to it.
    let claimed = act(&mut b, t, "claim", &[("back", "ticket")]).await;
    assert_eq!(claimed.status, 303);
    assert_eq!(
        claimed.location(),
        Some(format!("/staff/tickets/{t}?done=claimed").as_str())
    );
    assert!(ticket_page(&mut b, t).await.contains("Release this ticket"));
    let release = act(&mut b, t, "release", &[]).await;
    assert_eq!(release.location(), Some("/staff?done=released"));
}

#[tokio::test]
async fn the_timeline_shows_the_call_texts_and_notes_but_never_a_secret() {
    let p = start().await;
    let recovery = p.app.state.recovery();
    let call = CallContext {
        contractor: Some(p.contractor_id("C-1001").await),
        callback_number: "+13036582075".into(),
        number_entered: Some(mask_number("7319001")),
        checks: "number".into(),
        mismatches: 2,
        reason: "the phone on record did not match".into(),
        recording: None,
    };
    let t = recovery.escalate_call(&call).await.expect("ticket");
    recovery
        .add_recording(t, "https://api.twilio.com/2010-04-01/Recordings/RE123")
        .await
        .unwrap();
    recovery
        .add_transcription(t, "please call me back about my login")
        .await
        .unwrap();

    // A temporary password by text, through the kiosk, while the ticket is open.
    let mut kiosk = p.browser();
    kiosk
        .post("/help", &[("number", "C-1001"), ("phone", "303.658.2075")])
        .await;
    let sent = kiosk.post("/help/send", &[("destination", "sms")]).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let texts = p.twilio.wait_for(1).await;
    let body = texts[0].field("Body").expect("body").to_string();
    let temp = temporary_password_in(&body);
    settled(&p.app.state.store).await;

    let mut b = staff_member(&p, "dana@city.example", "Dana Ortiz").await;
    let added = act(&mut b, t, "note", &[("text", "Called back, no answer.")]).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(
        added.location(),
        Some(format!("/staff/tickets/{t}?done=note").as_str())
    );
    let empty = act(&mut b, t, "note", &[("text", "   ")]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Write the note"), "{}", empty.body);
    let long = "x".repeat(helpline::staff::MAX_NOTE + 1);
    let too_long = act(&mut b, t, "note", &[("text", &long)]).await;
    assert_eq!(too_long.status, 422);

    let shown = ticket_page(&mut b, t).await;
    for expected in [
        "Checks passed: number",
        "Mismatches: 2",
        "••••001",
        "Recorded message",
        "https://api.twilio.com/2010-04-01/Recordings/RE123",
        "please call me back about my login",
        "Called back, no answer.",
        "By Dana Ortiz",
        "Temporary password to ***-***-2075: sent",
    ] {
        assert!(shown.contains(expected), "«{expected}» missing: {shown}");
    }
    assert!(!shown.contains("7319001"), "a keyed-in number in full");
    assert!(
        !shown.contains(&temp),
        "the temporary password is on the page"
    );
    assert!(
        !shown.contains("password is"),
        "a text's body is on the page"
    );
    assert!(!shown.contains(&body));
    let json = serde_json::to_string(
        &helpline::staff::ticket_view(&p.app.state.store, t, p.app.state.clock.now_ms(), None)
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert!(
        !json.contains(&temp) && json.contains("\"kind\":\"recording\""),
        "{json}"
    );
    assert_logs_clean(&[&temp]);
    assert!(!logs::captured().contains("7319001"));
}

#[tokio::test]
async fn note_resolve_and_reopen_are_audited_and_resolving_needs_the_csrf_token() {
    let p = start().await;
    let t = ticket_for(&p, Some("C-1002")).await;
    let mut b = staff_member(&p, "pat@city.example", "Pat Lee").await;
    let path = format!("/staff/tickets/{t}/resolve");
    let forged = b
        .post_raw(
            &path,
            &[
                ("csrf".into(), "forged".into()),
                ("resolution".into(), "answered".into()),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let unknown = act(&mut b, t, "resolve", &[("resolution", "fixed")]).await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.body.contains("Choose how the ticket was resolved"));
    let bare_other = act(
        &mut b,
        t,
        "resolve",
        &[("resolution", "other"), ("note", "")],
    )
    .await;
    assert_eq!(bare_other.status, 422);
    assert!(
        bare_other.body.contains("say in the note"),
        "{}",
        bare_other.body
    );
    assert!(
        bare_other
            .body
            .contains("<option value=\"other\" selected>")
    );
    assert_eq!(tickets_status(&p, t).await, "open");

    let note = act(&mut b, t, "note", &[("text", "Asked for the license.")]).await;
    assert_eq!(note.status, 303);
    let done = act(
        &mut b,
        t,
        "resolve",
        &[("resolution", "answered"), ("note", "Told them form B-2.")],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let shown = ticket_page(&mut b, t).await;
    assert!(shown.contains("Question answered, by Pat Lee"), "{shown}");
    assert!(shown.contains("Resolved: Question answered. Told them form B-2."));
    assert!(shown.contains("Reopen this ticket"));
    let again = act(&mut b, t, "resolve", &[("resolution", "answered")]).await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already resolved"));
    let reopened = act(&mut b, t, "reopen", &[]).await;
    assert_eq!(reopened.status, 303);
    assert_eq!(tickets_status(&p, t).await, "open");
    let not_resolved = act(&mut b, t, "reopen", &[]).await;
    assert_eq!(not_resolved.status, 409);

    let lines = audit_lines(&p).await;
    for action in ["ticket_note", "ticket_resolved", "ticket_reopened"] {
        let line = format!("staff:Pat Lee {action} ticket:{t}");
        assert!(
            lines.iter().filter(|l| l.starts_with(&line)).count() == 1,
            "{line}: {lines:?}"
        );
    }
    assert_eq!(kinds(&p, t).await, ["note", "resolved", "reopened"]);
}

async fn tickets_status(p: &Portal, t: TicketId) -> String {
    ticket_desk::ticket(p.app.state.store.pool(), t)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn of_staff_resolving_at_once_exactly_one_wins() {
    let p = start().await;
    let t = ticket_for(&p, Some("C-1001")).await;
    let mut browsers = Vec::new();
    for (i, name) in ["Ana", "Ben", "Cy", "Di"].iter().enumerate() {
        browsers.push(staff_member(&p, &format!("s{i}@city.example"), name).await);
    }
    let barrier = Arc::new(Barrier::new(browsers.len()));
    let mut tasks = Vec::new();
    for mut b in browsers {
        let token = crate::common::desk::csrf(&mut b).await;
        let barrier = barrier.clone();
        let path = format!("/staff/tickets/{t}/resolve");
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            b.post_raw(
                &path,
                &[
                    ("csrf".into(), token),
                    ("resolution".into(), "duplicate".into()),
                ],
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [303, 409, 409, 409]);
    assert_eq!(kinds(&p, t).await, ["resolved"]);
    let audited = audit_lines(&p)
        .await
        .into_iter()
        .filter(|l| l.contains("ticket_resolved"))
        .count();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn a_text_reply_reaches_twilio_and_a_phone_that_texted_stop_gets_none() {
    let p = start().await;
    let t = ticket_for(&p, Some("C-1001")).await;
    let mut b = staff_member(&p, "pat@city.example", "Pat Lee").await;
    let sent = act(
        &mut b,
        t,
        "reply-sms",
        &[("text", "Your account is unlocked.")],
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let texts = p.twilio.wait_for(1).await;
    assert_eq!(texts[0].field("To"), Some("+13036582075"));
    let body = texts[0].field("Body").unwrap();
    assert!(
        body.contains("Your account is unlocked.") && body.contains("Pat Lee"),
        "{body}"
    );
    settled(&p.app.state.store).await;
    let shown = ticket_page(&mut b, t).await;
    assert!(
        shown.contains("Text sent") && shown.contains("Staff reply to ***-***-2075"),
        "{shown}"
    );
    assert!(shown.contains("Waiting on the contractor"));
    assert!(
        audit_lines(&p)
            .await
            .iter()
            .any(|l| l.starts_with("staff:Pat Lee staff_sms_reply"))
    );

    let long = "y".repeat(helpline::recovery::MAX_STAFF_SMS + 1);
    assert_eq!(
        act(&mut b, t, "reply-sms", &[("text", &long)]).await.status,
        422
    );
    sms_opt_outs::stop(p.app.state.store.pool(), "+13036582075", 1)
        .await
        .unwrap();
    let refused = act(&mut b, t, "reply-sms", &[("text", "Hello again")]).await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("texted STOP"), "{}", refused.body);
    assert!(
        refused.body.contains("Hello again"),
        "what was typed is kept"
    );
    let nobody = ticket_for(&p, None).await;
    let no_phone = act(&mut b, nobody, "reply-sms", &[("text", "Hi")]).await;
    assert_eq!(no_phone.status, 409);
    assert!(no_phone.body.contains("no phone on record"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(p.twilio.texts().len(), 1, "nothing more was texted");
}

#[tokio::test]
async fn a_staff_email_waits_on_the_contractor_and_their_reply_restarts_the_clock() {
    let p = start().await;
    deliver(
        &p,
        email(
            "q1@frontrange-roofing.example",
            None,
            "Login",
            "I cannot log in.",
        ),
    )
    .await;
    p.smtp.wait_for(1).await;
    let t = tickets::open_tickets(p.app.state.store.pool())
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == "email_received")
        .expect("a ticket")
        .id;
    let mut b = staff_member(&p, "pat@city.example", "Pat Lee").await;
    let empty = act(&mut b, t, "reply-email", &[("text", "")]).await;
    assert_eq!(empty.status, 422);
    let sent = act(
        &mut b,
        t,
        "reply-email",
        &[("text", "Which browser do you use?")],
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let mails = p.smtp.wait_for(2).await;
    let staff_mail = &mails[1];
    assert_eq!(
        header(&staff_mail.data, "In-Reply-To").as_deref(),
        Some("<q1@frontrange-roofing.example>")
    );
    assert!(text_of(&staff_mail.data).contains("Which browser do you use?"));
    let staff_id = header(&staff_mail.data, "Message-ID").expect("message id");
    let row = ticket_desk::ticket(p.app.state.store.pool(), t)
        .await
        .unwrap()
        .unwrap();
    assert!(row.waiting_since.is_some());

    p.app.clock.advance(Duration::from_secs(3 * 3600));
    // Three hours idle end a staff session: sign in again.
    assert_eq!(
        sign_in(&mut b, "pat@city.example", PASSWORD).await.status,
        303
    );
    let queue = b.get("/staff").await;
    assert!(
        queue.body.contains("Waiting on contractor"),
        "{}",
        queue.body
    );
    assert!(!queue.body.contains("Overdue"));
    deliver(
        &p,
        email(
            "q2@frontrange-roofing.example",
            Some(&staff_id),
            "Re: Login",
            "Firefox.",
        ),
    )
    .await;
    let row = ticket_desk::ticket(p.app.state.store.pool(), t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.waiting_since, None);
    assert_eq!(
        row.waited_ms,
        3 * 3600 * 1000,
        "no office hours: every hour of the wait"
    );
    settled(&p.app.state.store).await;
    let shown = ticket_page(&mut b, t).await;
    for expected in [
        "Email received",
        "I cannot log in.",
        "Email sent",
        "Which browser do you use?",
        "Staff reply to p***@frontrange-roofing.example: sent",
    ] {
        assert!(shown.contains(expected), "«{expected}» missing: {shown}");
    }
    assert!(
        shown.contains("Firefox.") && shown.contains("The contractor answered"),
        "{shown}"
    );
    assert!(
        shown.contains("Age in business hours</dt><dd>0 min"),
        "{shown}"
    );

    // Eight hours later (none of them waiting) it is overdue.
    p.app.clock.advance(Duration::from_secs(8 * 3600));
    assert_eq!(
        sign_in(&mut b, "pat@city.example", PASSWORD).await.status,
        303
    );
    let queue = b.get("/staff").await;
    assert!(queue.body.contains("Overdue"), "{}", queue.body);
    assert!(ticket_page(&mut b, t).await.contains("8 h 0 min"));
    // Staff can end a wait by hand.
    act(&mut b, t, "reply-email", &[("text", "Try again now.")]).await;
    let ended = act(&mut b, t, "not-waiting", &[]).await;
    assert_eq!(ended.status, 303);
    assert_eq!(act(&mut b, t, "not-waiting", &[]).await.status, 409);
    settled(&p.app.state.store).await;
}
