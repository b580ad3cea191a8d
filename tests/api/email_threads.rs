//! Replies and threads over real HTTP (`POST /email/inbound`) and real SMTP: a reply joins the
//! ticket of the email it answers, a reply to a reset link opens one ticket, "this wasn't me"
//! from the owner's address freezes the account (and from anyone else does not), one sender's
//! flood is one ticket, and a staff reply goes out threaded and its answer comes back to the
//! same ticket. Runs on SQLite, and on PostgreSQL when `HELPLINE_TEST_DATABASE_URL` names one.

use std::sync::Arc;

use helpline::domain::ids::TicketId;
use helpline::messages::Lang;
use helpline::recovery::StaffReplyOutcome;
use helpline::store::threads;
use helpline::store::tickets::{self, Ticket};
use mail_parser::MessageParser;
use tokio::sync::Barrier;

use crate::common::outbox::settled;
use crate::common::smtp::Received;
use crate::common::{http, logs};
use crate::portal::{Portal, assert_logs_clean, reset_token, text_of};

const TOKEN: &str = "inbound-test-token-5f1c0a9e73d24b68";
/// C-1001's email on record.
const PAT: &str = "pat@frontrange-roofing.example";
const STRANGER: &str = "someone@elsewhere.example";

async fn start() -> Portal {
    Portal::start_with(|s| s.mail.inbound_token = Some(TOKEN.to_string().into())).await
}

async fn deliver(p: &Portal, raw: String) -> String {
    let res = http()
        .post(p.app.url("/email/inbound"))
        .bearer_auth(TOKEN)
        .header("content-type", "message/rfc822")
        .body(raw)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    let body = res.text().await.expect("body");
    assert_eq!(status, 200, "{body}");
    body
}

/// An email from `from`; a reply to `in_reply_to` (`<…>`) when given.
fn email(from: &str, id: &str, in_reply_to: Option<&str>, subject: &str, text: &str) -> String {
    let thread = in_reply_to
        .map(|r| format!("In-Reply-To: {r}\r\nReferences: {r}\r\n"))
        .unwrap_or_default();
    format!(
        "From: Someone <{from}>\r\nTo: help@westminster.example.gov\r\nSubject: {subject}\r\n\
         Date: Thu, 3 Dec 2026 10:00:00 -0700\r\nMessage-ID: <{id}>\r\n{thread}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
}

/// The `<Message-ID>` of a message as it went over SMTP.
fn message_id(m: &Received) -> String {
    let msg = MessageParser::default().parse(&m.data).expect("parse");
    format!("<{}>", msg.message_id().expect("a Message-ID"))
}

fn header(m: &Received, name: &str) -> Option<String> {
    let msg = MessageParser::default().parse(&m.data).expect("parse");
    msg.headers_raw()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

async fn tickets_of(p: &Portal, kind: &str) -> Vec<Ticket> {
    tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets")
        .into_iter()
        .filter(|t| t.kind == kind)
        .collect()
}

async fn all_tickets(p: &Portal) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(p.app.state.store.pool())
        .await
        .expect("count")
}

/// `kind:author:text` of a ticket's timeline.
async fn timeline(p: &Portal, ticket: TicketId) -> Vec<String> {
    threads::timeline(p.app.state.store.pool(), ticket)
        .await
        .expect("timeline")
        .into_iter()
        .map(|e| format!("{}:{}:{}", e.kind, e.author, e.text))
        .collect()
}

/// A reset link to Pat over SMTP, requested by email: the mail and its token.
async fn reset_link_to_pat(p: &Portal, n: usize) -> (Received, String) {
    deliver(
        p,
        email(
            PAT,
            &format!("r{n}@frontrange-roofing.example"),
            None,
            "RESET C-1001",
            "",
        ),
    )
    .await;
    let mails = p.smtp.wait_for(n).await;
    let mail = mails[n - 1].clone();
    let token = reset_token(&text_of(&mail.data));
    (mail, token)
}

async fn link_works(p: &Portal, token: &str) -> bool {
    let mut b = p.browser();
    b.get(&format!("/reset/{token}")).await.location() == Some("/reset")
}

#[tokio::test]
async fn a_reply_to_the_acknowledgment_joins_its_ticket_and_reopens_it() {
    let p = start().await;
    deliver(
        &p,
        email(
            STRANGER,
            "q1@elsewhere.example",
            None,
            "Locked out",
            "I cannot sign in",
        ),
    )
    .await;
    let ack = p.smtp.wait_for(1).await[0].clone();
    let open = tickets_of(&p, "email_received").await;
    let [ticket] = &open[..] else {
        panic!("one ticket")
    };
    sqlx::query("UPDATE tickets SET status = 'resolved' WHERE id = $1")
        .bind(ticket.id)
        .execute(p.app.state.store.pool())
        .await
        .unwrap();

    let body = "Still locked out.\r\n\r\nOn Thu, Help wrote:\r\n> we received your email";
    let answer = deliver(
        &p,
        email(
            STRANGER,
            "q2@elsewhere.example",
            Some(&message_id(&ack)),
            "Re: Locked out",
            body,
        ),
    )
    .await;
    assert!(answer.contains("joined its ticket"), "{answer}");
    let open = tickets_of(&p, "email_received").await;
    assert_eq!(open.len(), 1, "reopened, no new ticket");
    assert_eq!(open[0].id, ticket.id);
    assert_eq!(all_tickets(&p).await, 1);
    let events = timeline(&p, ticket.id).await;
    assert_eq!(events[0], format!("email_in:{STRANGER}:I cannot sign in"));
    assert!(events[1].starts_with("email_out:Helpline"), "{events:?}");
    assert!(
        events.contains(&format!("email_in:{STRANGER}:Still locked out.")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.starts_with("reopened:")),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| e.contains("we received")),
        "quote stripped"
    );
    settled(&p.app.state.store).await;
    assert_eq!(p.smtp.received().len(), 1, "one acknowledgment an hour");
}

#[tokio::test]
async fn replies_to_a_reset_link_open_one_ticket_and_later_ones_join_it() {
    let p = start().await;
    let (link, token) = reset_link_to_pat(&p, 1).await;
    let quoted = |words: &str| format!("{words}\r\n\r\n-- \r\nPat\r\n> {}", text_of(&link.data));
    let first = deliver(
        &p,
        email(
            PAT,
            "p1@frontrange-roofing.example",
            Some(&message_id(&link)),
            "Re: reset",
            &quoted("The link says expired?"),
        ),
    )
    .await;
    assert!(first.contains("message for staff"), "{first}");
    let second = deliver(
        &p,
        email(
            PAT,
            "p2@frontrange-roofing.example",
            Some(&message_id(&link)),
            "Re: reset",
            &quoted("Never mind, it works"),
        ),
    )
    .await;
    assert!(second.contains("joined its ticket"), "{second}");
    let tickets = tickets_of(&p, "email_received").await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert!(
        tickets[0].contractor_id.is_some(),
        "the contractor the link went to"
    );
    let events = timeline(&p, tickets[0].id).await;
    let received: Vec<_> = events
        .iter()
        .filter(|e| e.starts_with("email_in"))
        .collect();
    assert_eq!(received.len(), 2, "{events:?}");
    assert!(
        !events.iter().any(|e| e.contains(&token)),
        "no quoted link: {events:?}"
    );
    assert!(!tickets[0].detail.contains(&token));
    assert!(
        link_works(&p, &token).await,
        "an ordinary reply voids nothing"
    );
    settled(&p.app.state.store).await;
    assert_logs_clean(&[TOKEN, &token]);
}

#[tokio::test]
async fn this_wasnt_me_from_the_owner_voids_a_live_link_and_from_anyone_else_does_not() {
    let p = start().await;
    let (link, token) = reset_link_to_pat(&p, 1).await;
    let thread = message_id(&link);

    // Someone else says it, in a reply to the same message: an ordinary reply.
    let other = deliver(
        &p,
        email(
            STRANGER,
            "n1@elsewhere.example",
            Some(&thread),
            "Re: reset",
            "This wasn't me",
        ),
    )
    .await;
    assert!(!other.contains("frozen"), "{other}");
    assert!(tickets_of(&p, "not_me").await.is_empty());
    assert!(
        link_works(&p, &token).await,
        "no freeze from another address"
    );

    // Pat says it, from the address the link went to.
    let own = deliver(
        &p,
        email(
            PAT,
            "n2@frontrange-roofing.example",
            Some(&thread),
            "Re: reset",
            "No fui yo. Gracias.\r\n\r\n> the link",
        ),
    )
    .await;
    assert!(own.contains("account frozen"), "{own}");
    assert!(
        !link_works(&p, &token).await,
        "the live link stopped working at once"
    );
    let urgent = tickets_of(&p, "not_me").await;
    assert_eq!(urgent.len(), 1);
    assert_eq!(urgent[0].priority, "urgent");
    assert!(
        timeline(&p, urgent[0].id)
            .await
            .iter()
            .any(|e| e.contains("No fui yo")),
        "the reply is on the ticket"
    );

    let mails = p.smtp.wait_for(3).await;
    let answer = mails
        .iter()
        .find(|m| m.to == [format!("<{PAT}>")] && m.data != link.data)
        .expect("answer");
    let text = text_of(&answer.data);
    assert!(
        text.contains("congelado la cuenta"),
        "in Pat's language: {text}"
    );
    assert!(!text.contains("/reset/"), "no secret: {text}");
    assert_eq!(
        header(answer, "In-Reply-To").as_deref(),
        Some("<n2@frontrange-roofing.example>")
    );
    let frozen: i64 = sqlx::query_scalar("SELECT frozen FROM accounts a JOIN contractors c ON c.id = a.contractor_id WHERE c.contractor_number = 'C-1001'")
        .fetch_one(p.app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(frozen, 1);

    // Helpline's own answer fed back is not answered.
    let raw = String::from_utf8_lossy(&answer.data).into_owned();
    let looped = deliver(&p, raw).await;
    assert!(looped.contains("not answered"), "{looped}");
    settled(&p.app.state.store).await;
    assert_eq!(p.smtp.received().len(), 3);
    assert_logs_clean(&[TOKEN, &token]);
}

#[tokio::test]
async fn a_flood_from_one_address_is_one_ticket_and_its_answers_are_not_answered() {
    let p = Arc::new(start().await);
    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (p, barrier) = (p.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            deliver(
                &p,
                email(
                    STRANGER,
                    &format!("f{i}@elsewhere.example"),
                    None,
                    "help",
                    &format!("message {i}"),
                ),
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for i in 8..12 {
        deliver(
            &p,
            email(
                STRANGER,
                &format!("f{i}@elsewhere.example"),
                None,
                "help",
                "again",
            ),
        )
        .await;
    }
    let tickets = tickets_of(&p, "email_received").await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let received = timeline(&p, tickets[0].id)
        .await
        .into_iter()
        .filter(|e| e.starts_with("email_in"))
        .count();
    assert_eq!(received, 12);
    let ack = p.smtp.wait_for(1).await[0].clone();
    let fed_back = deliver(&p, String::from_utf8_lossy(&ack.data).into_owned()).await;
    assert!(fed_back.contains("not answered"), "{fed_back}");
    settled(&p.app.state.store).await;
    assert_eq!(p.smtp.received().len(), 1, "one acknowledgment");
}

#[tokio::test]
async fn concurrent_replies_in_one_thread_open_one_ticket() {
    let p = Arc::new(start().await);
    let (link, _) = reset_link_to_pat(&p, 1).await;
    let thread = message_id(&link);
    let barrier = Arc::new(Barrier::new(6));
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (p, barrier, thread) = (p.clone(), barrier.clone(), thread.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            // From different addresses, so the sender's thread plays no part.
            let from = format!("crew{i}@frontrange-roofing.example");
            deliver(
                &p,
                email(
                    &from,
                    &format!("c{i}@frontrange-roofing.example"),
                    Some(&thread),
                    "Re: reset",
                    "question",
                ),
            )
            .await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let tickets = tickets_of(&p, "email_received").await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(all_tickets(&p).await, 1);
    let received = timeline(&p, tickets[0].id)
        .await
        .into_iter()
        .filter(|e| e.starts_with("email_in"))
        .count();
    assert_eq!(received, 6);
    settled(&p.app.state.store).await;
}

#[tokio::test]
async fn a_staff_reply_goes_out_threaded_and_the_answer_joins_the_same_ticket() {
    let p = start().await;
    deliver(
        &p,
        email(
            STRANGER,
            "s1@elsewhere.example",
            None,
            "Question",
            "Which form do I need?",
        ),
    )
    .await;
    p.smtp.wait_for(1).await;
    let open = tickets_of(&p, "email_received").await;
    let [ticket] = &open[..] else {
        panic!("one ticket")
    };
    let recovery = p.app.state.recovery.in_lang(Lang::En);
    let done = recovery
        .staff_email_reply(ticket.id, "Dana Ortiz", "Use form B-2.\n<b>Thanks</b>")
        .await
        .unwrap();
    assert!(matches!(done, StaffReplyOutcome::Queued { .. }), "{done:?}");
    assert_eq!(
        recovery
            .staff_email_reply(ticket.id, "Dana Ortiz", "  ")
            .await
            .unwrap(),
        StaffReplyOutcome::Empty
    );
    assert_eq!(
        recovery
            .staff_email_reply(TicketId(999_999), "Dana Ortiz", "hi")
            .await
            .unwrap(),
        StaffReplyOutcome::NoTicket
    );

    let mails = p.smtp.wait_for(2).await;
    let staff = &mails[1];
    assert_eq!(staff.to, vec![format!("<{STRANGER}>")]);
    assert_eq!(
        header(staff, "In-Reply-To").as_deref(),
        Some("<s1@elsewhere.example>")
    );
    let text = text_of(&staff.data);
    assert!(
        text.contains("Use form B-2.")
            && text.contains("<b>Thanks</b>")
            && text.contains("Dana Ortiz"),
        "{text}"
    );
    let html = MessageParser::default()
        .parse(&staff.data)
        .unwrap()
        .body_html(0)
        .unwrap()
        .into_owned();
    assert!(!html.contains("<b>Thanks"), "escaped: {html}");

    let answer = deliver(
        &p,
        email(
            STRANGER,
            "s2@elsewhere.example",
            Some(&message_id(staff)),
            "Re: Question",
            "Thank you!\r\n\r\n> Use form B-2.",
        ),
    )
    .await;
    assert!(answer.contains("joined its ticket"), "{answer}");
    assert_eq!(all_tickets(&p).await, 1);
    let events = timeline(&p, ticket.id).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.split(':').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "email_in",
            "email_out",
            "email_out",
            "waiting",
            "email_in",
            "waiting"
        ],
        "{events:?}"
    );
    assert!(
        events[2].starts_with("email_out:Dana Ortiz:Use form B-2."),
        "{events:?}"
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'staff_email_reply' AND actor = 'staff:Dana Ortiz'",
    )
    .fetch_one(p.app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);
    settled(&p.app.state.store).await;
    assert!(
        !logs::captured().contains("Use form B-2"),
        "a reply's words stay out of the logs"
    );
}
