//! The staff dashboard and staff notifications (issue 12) over real HTTP and real SMTP, on
//! both databases: the figures per day and the median time to resolve, the charts as
//! well-formed SVG, the on-duty form, urgent-ticket emails to staff on duty only, and the
//! daily digest sent once however many runs race for it.

use std::time::Duration;

use helpline::domain::channel::Channel;
use helpline::domain::conversation::{Checks, ConversationKey};
use helpline::domain::ids::TicketId;
use helpline::domain::language::Lang;
use helpline::domain::office_hours::{CityZone, TimeOfDay};
use helpline::domain::ticket::TicketKind;
use helpline::staff::alerts::{StaffMail, open_ticket};
use helpline::staff::digest::{Digest, DigestOutcome};
use helpline::store::conversations::{self, NewConversation};
use helpline::store::tickets::NewTicket;
use helpline::store::{Store, staff, ticket_desk};

use crate::common::desk::*;
use crate::common::outbox::{queued_count, settled};
use crate::common::smtp::{Mode, SmtpSink};
use crate::common::{T0, TestDb, helpline, logs, run};
use crate::portal::text_of;

const HOUR: i64 = 3600 * 1000;
const DAY: i64 = 24 * HOUR;

/// T0 is 2026-01-05 09:00 UTC; with no zone configured, days are UTC days.
fn at(day_offset: i64, hour: i64) -> i64 {
    let midnight = T0 - 9 * HOUR;
    midnight + day_offset * DAY + hour * HOUR
}

async fn conversation(store: &Store, channel: Channel, key: &str, now: i64) {
    let key = ConversationKey::plain(key).expect("key");
    conversations::open(
        store.pool(),
        &NewConversation {
            channel,
            key: &key,
            contractor_id: None,
            checks: Checks::default(),
            language: Lang::En,
            state: "",
        },
        now + HOUR,
        now,
    )
    .await
    .expect("open a conversation");
}

async fn ticket_at(store: &Store, kind: TicketKind, channel: Channel, now: i64) -> TicketId {
    let mut tx = store.begin_write().await.expect("tx");
    let id = helpline::store::tickets::open(
        &mut tx,
        &NewTicket {
            kind,
            contractor_id: None,
            channel,
            summary: "seeded".into(),
            detail: String::new(),
            outbox_id: None,
        },
        now,
    )
    .await
    .expect("ticket");
    tx.commit().await.expect("commit");
    id
}

/// Resolves a ticket at `at` as the ticket page's resolve does.
async fn resolve(store: &Store, id: TicketId, by: i64, at: i64) {
    let mut tx = store.begin_write().await.expect("tx");
    assert!(
        ticket_desk::resolve(&mut tx, id, "answered", by, at)
            .await
            .expect("resolve")
    );
    tx.commit().await.expect("commit");
}

/// Every `<svg>…</svg>` of a page, each parsed as XML.
fn charts_of(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("a closed svg") + start + 6;
        let svg = &rest[start..end];
        let doc = roxmltree::Document::parse(svg)
            .unwrap_or_else(|e| panic!("the chart is not well-formed XML ({e}): {svg}"));
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        assert!(root.children().any(|n| n.has_tag_name("title")));
        assert!(root.children().any(|n| n.has_tag_name("desc")));
        out.push(svg.to_string());
        rest = &rest[end..];
    }
    out
}

#[tokio::test]
async fn the_dashboard_needs_a_session_and_says_no_data_yet_without_nan() {
    let d = Desk::start().await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let mut stranger = d.browser();
    let page = stranger.get("/staff/dashboard").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/staff/login"));
    let page = stranger
        .post_raw(
            "/staff/duty",
            &[("csrf".into(), "x".into()), ("duty".into(), "on".into())],
        )
        .await;
    assert_eq!(page.status, 403, "a forged form is refused: {}", page.body);

    let mut b = signed_in(&d, "pat@city.example").await;
    let page = b.get("/staff/dashboard").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("No data yet"), "{}", page.body);
    assert!(!page.body.contains("NaN") && !page.body.contains("inf%"));
    assert!(
        page.body
            .contains("href=\"/staff/dashboard\" aria-current=\"page\"")
    );
    assert!(page.body.contains("no tickets resolved yet"));
    assert!(page.body.contains("calendar days in UTC"));
    assert_eq!(charts_of(&page.body).len(), 3);
    let queue = b.get("/staff").await;
    assert!(
        queue.body.contains("href=\"/staff/dashboard\""),
        "linked from the navigation"
    );
}

#[tokio::test]
async fn the_dashboard_counts_each_day_by_channel_the_share_settled_and_the_median() {
    let d = Desk::start().await;
    let pat = d.add("pat@city.example", "Pat Lee", "staff").await;
    let store = &d.app.state.store;
    // Two days ago: 3 calls and a text, one ticket from a call (and one more below).
    for (i, ch) in [Channel::Voice, Channel::Voice, Channel::Voice, Channel::Sms]
        .into_iter()
        .enumerate()
    {
        conversation(store, ch, &format!("two-{i}"), at(-2, 10 + i as i64)).await;
    }
    ticket_at(store, TicketKind::PhoneCall, Channel::Voice, at(-2, 15)).await;
    // Yesterday: 2 emails and a kiosk visit, no ticket: 100 %. A staff ticket never counts.
    conversation(store, Channel::Email, "y-1", at(-1, 8)).await;
    conversation(store, Channel::Email, "y-2", at(-1, 9)).await;
    conversation(store, Channel::Kiosk, "y-3", at(-1, 23)).await;
    ticket_at(store, TicketKind::Registration, Channel::Staff, at(-1, 12)).await;
    // The same key started afresh after its end is a second conversation.
    conversation(store, Channel::Sms, "again", at(-1, 1)).await;
    conversation(store, Channel::Sms, "again", at(-1, 5)).await;
    // Outside the 14 days: not shown.
    conversation(store, Channel::Voice, "old", at(-20, 10)).await;

    // Resolved within 30 days after 1 h, 2 h and 10 h (median 2 h); one 40 days ago.
    for (hours, opened) in [(1, at(-3, 1)), (2, at(-5, 1)), (10, at(-10, 1))] {
        let id = ticket_at(store, TicketKind::EmailReceived, Channel::Email, opened).await;
        resolve(store, id, pat, opened + hours * HOUR).await;
    }
    let old = ticket_at(store, TicketKind::EmailReceived, Channel::Email, at(-45, 0)).await;
    resolve(store, old, pat, at(-40, 0)).await;
    // Open now: one urgent of 2 hours, one of 2 days.
    ticket_at(store, TicketKind::NotMe, Channel::Web, T0 - 2 * HOUR).await;
    ticket_at(store, TicketKind::PhoneCall, Channel::Voice, T0 - 2 * DAY).await;

    let mut b = signed_in(&d, "pat@city.example").await;
    let page = b.get("/staff/dashboard").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(!body.contains("No data yet"));
    assert!(!body.contains("NaN"));
    for row in [
        // Day, calls, texts, emails, kiosk, all.
        "<tr><th scope=\"row\">2026-01-03</th><td>3</td><td>1</td><td>0</td><td>0</td><td>4</td></tr>",
        "<tr><th scope=\"row\">2026-01-04</th><td>0</td><td>2</td><td>2</td><td>1</td><td>5</td></tr>",
        // Day, conversations, tickets, share.
        // The open phone-call ticket of two days ago is that day's second ticket.
        "<tr><th scope=\"row\">2026-01-03</th><td>4</td><td>2</td><td>50 %</td></tr>",
        "<tr><th scope=\"row\">2026-01-04</th><td>5</td><td>0</td><td>100 %</td></tr>",
        // A ticket on a day without conversations: no share, no division by zero.
        "<tr><th scope=\"row\">2025-12-31</th><td>0</td><td>1</td><td>no conversations</td></tr>",
        "<tr><th scope=\"row\">1 to 4 hours</th><td>1</td></tr>",
        // Every seeded ticket not resolved is open: the staff one of yesterday noon, the
        // phone call of two days ago and the one of 48 hours.
        "<tr><th scope=\"row\">4 to 24 hours</th><td>1</td></tr>",
        "<tr><th scope=\"row\">1 to 3 days</th><td>2</td></tr>",
        "<td id=\"resolved-count\">3</td>",
        "<td id=\"median-resolve\">2 h 0 min</td>",
    ] {
        assert!(body.contains(row), "{row} in {body}");
    }
    assert!(
        body.contains("(conversations − tickets) ÷ conversations"),
        "the definition"
    );
    assert!(
        !body.contains("2025-12-15"),
        "20 days ago is outside the window"
    );
    assert!(
        body.contains("<th scope=\"row\">2026-01-05</th>"),
        "today is the last day"
    );
    assert!(
        body.contains("<th scope=\"row\">2025-12-23</th>"),
        "14 days in all"
    );
    let charts = charts_of(body);
    assert_eq!(charts.len(), 3);
    assert!(
        charts[0].contains("<title>01-03: 4</title>"),
        "{}",
        charts[0]
    );
    assert!(
        charts[1].contains("<title>01-03: 50%</title>"),
        "{}",
        charts[1]
    );
}

#[tokio::test]
async fn days_are_the_city_calendar_days_when_a_zone_is_set() {
    let d = Desk::start_with(|s| {
        s.staff_time_zone = Some(CityZone::parse("America/Denver").expect("zone"));
    })
    .await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    // 2026-01-05 05:00 UTC is 2026-01-04 22:00 in Denver.
    conversation(&d.app.state.store, Channel::Voice, "late", at(0, 5)).await;
    let mut b = signed_in(&d, "pat@city.example").await;
    let body = b.get("/staff/dashboard").await.body;
    assert!(body.contains("calendar days in America/Denver"));
    assert!(
        body.contains(
            "<tr><th scope=\"row\">2026-01-04</th><td>1</td><td>0</td><td>0</td><td>0</td><td>1</td></tr>"
        ),
        "{body}"
    );
}

/// A desk whose mail goes to a loopback SMTP server.
async fn desk_with_smtp(adjust: impl FnOnce(&mut helpline::config::Settings)) -> (Desk, SmtpSink) {
    let sink = SmtpSink::start(Mode::Accept).await;
    let url = sink.url();
    let d = Desk::start_with(move |s| {
        s.mail.dir = None;
        s.mail.smtp_url = Some(url.into());
        adjust(s);
    })
    .await;
    (d, sink)
}

#[tokio::test]
async fn an_urgent_ticket_is_emailed_to_enabled_staff_on_duty_only() {
    let (d, sink) = desk_with_smtp(|_| {}).await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    let kim = d.add("kim@city.example", "Kim Ruiz", "staff").await;
    d.add("lee@city.example", "Lee Ortiz", "staff").await;
    let st = &d.app.state;

    // Pat goes on duty with the form; Kim is on duty but then disabled; Lee stays off.
    let mut b = signed_in(&d, "pat@city.example").await;
    let page = post(&mut b, "/staff/duty", &[("duty", "on")]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location(), Some("/staff/dashboard?done=on"));
    let page = b.get("/staff/dashboard?done=on").await;
    assert!(page.body.contains("You are <strong>on duty</strong>"));
    assert!(page.body.contains("Go off duty"));
    let bad = post(&mut b, "/staff/duty", &[("duty", "maybe")]).await;
    assert_eq!(bad.status, 422);
    let mut tx = st.store.begin_write().await.expect("tx");
    staff::set_on_duty(&mut tx, kim, true, st.clock.now_ms())
        .await
        .expect("duty");
    tx.commit().await.expect("commit");
    helpline::staff::disable(
        &st.store,
        &st.clock,
        "kim@city.example",
        "cli",
        Channel::Cli,
    )
    .await
    .expect("disable");
    assert!(
        d.audit_lines()
            .await
            .iter()
            .any(|l| l.starts_with("Pat Lee staff_on_duty staff:pat@city.example")),
        "{:?}",
        d.audit_lines().await
    );

    let mail = StaffMail::of(&st.settings);
    let open = |kind: TicketKind, summary: &str| {
        let t = NewTicket {
            kind,
            contractor_id: None,
            channel: Channel::Email,
            summary: summary.into(),
            detail: String::new(),
            outbox_id: None,
        };
        let (store, mail, now) = (st.store.clone(), mail.clone(), st.clock.now_ms());
        async move {
            let mut tx = store.begin_write().await.expect("tx");
            let out = open_ticket(&mut tx, &mail, &t, now).await.expect("open");
            tx.commit().await.expect("commit");
            out
        }
    };
    // A normal ticket sends nothing.
    let (_, alerted) = open(TicketKind::Registration, "a registration").await;
    assert_eq!(alerted, 0);
    assert_eq!(queued_count(&st.store).await, 0);

    let (id, alerted) = open(TicketKind::NotMe, "Contractor C-1001 reports <a change>").await;
    assert_eq!(alerted, 1);
    st.outbox_wake.notify_one();
    let got = sink.wait_for(1).await;
    settled(&st.store).await;
    let got = if got.len() == 1 { sink.received() } else { got };
    assert_eq!(
        got.len(),
        1,
        "only Pat: {:?}",
        got.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    assert_eq!(got[0].to, ["<pat@city.example>"]);
    let text = text_of(&got[0].data);
    assert!(
        text.contains(&format!("http://127.0.0.1/staff/tickets/{id}")),
        "{text}"
    );
    assert!(text.contains("Came in by: email"), "{text}");
    assert!(
        text.contains("Contractor C-1001 reports <a change>"),
        "{text}"
    );

    // Pat goes off duty: the next urgent ticket alerts nobody.
    let page = post(&mut b, "/staff/duty", &[("duty", "off")]).await;
    assert_eq!(page.status, 303);
    let (_, alerted) = open(TicketKind::NotMe, "again").await;
    assert_eq!(alerted, 0);
    assert!(
        d.audit_lines()
            .await
            .iter()
            .any(|l| l.starts_with("Pat Lee staff_off_duty staff:pat@city.example"))
    );
    let log = logs::captured();
    assert!(!log.contains(PASSWORD), "no staff password in the logs");
}

fn digest_of(store: Store, st: &helpline::app::AppState) -> Digest {
    Digest {
        store,
        clock: st.clock.clone(),
        mail: StaffMail::of(&st.settings),
        hours: st.hours.clone(),
        settings: st.settings.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_digest_runs_at_once_send_one_set_of_emails() {
    let (d, sink) = desk_with_smtp(|_| {}).await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    d.add("lee@city.example", "Lee Ortiz", "admin").await;
    d.add("kim@city.example", "Kim Ruiz", "staff").await;
    let st = &d.app.state;
    helpline::staff::disable(
        &st.store,
        &st.clock,
        "kim@city.example",
        "cli",
        Channel::Cli,
    )
    .await
    .expect("disable");
    ticket_at(&st.store, TicketKind::NotMe, Channel::Web, T0 - 3 * HOUR).await;
    ticket_at(&st.store, TicketKind::PhoneCall, Channel::Voice, at(-1, 3)).await;

    // Two instances: two pools on one database, racing.
    let one = digest_of(d.app.db.store().await, st);
    let two = digest_of(d.app.db.store().await, st);
    let (a, b) = tokio::join!(
        tokio::spawn(async move { one.send_once().await.expect("run one") }),
        tokio::spawn(async move { two.send_once().await.expect("run two") })
    );
    let mut outcomes = [a.expect("task"), b.expect("task")];
    outcomes.sort_by_key(|o| matches!(o, DigestOutcome::AlreadySent));
    assert_eq!(
        outcomes,
        [DigestOutcome::Sent { to: 2 }, DigestOutcome::AlreadySent]
    );
    st.outbox_wake.notify_one();
    sink.wait_for(2).await;
    settled(&st.store).await;
    let got = sink.received();
    let mut to: Vec<_> = got.iter().map(|m| m.to.join(",")).collect();
    to.sort();
    assert_eq!(to, ["<lee@city.example>", "<pat@city.example>"]);
    let text = text_of(&got[0].data);
    for line in [
        "Open tickets: 2",
        "Urgent: 1",
        "Oldest open ticket: 1 d 6 h",
        "Open for more than 24 hours: 1",
        "Opened yesterday (2026-01-04): 1",
        "Resolved yesterday (2026-01-04): 0",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    // A third run the same day sends nothing; the CLI's send-now does.
    assert_eq!(
        digest_of(st.store.clone(), st)
            .send_once()
            .await
            .expect("run"),
        DigestOutcome::AlreadySent
    );
    assert_eq!(
        digest_of(st.store.clone(), st)
            .send_now()
            .await
            .expect("now"),
        2
    );
}

#[tokio::test]
async fn the_server_sends_the_digest_once_a_day_at_the_set_time_across_restarts() {
    // T0 is 09:00 UTC: past 08:00, so the digest is due as the server starts.
    let (mut d, sink) = desk_with_smtp(|s| {
        s.staff_digest_at = Some(TimeOfDay::parse("08:00").expect("time"));
    })
    .await;
    d.add("pat@city.example", "Pat Lee", "staff").await;
    // The server started before Pat was added (its first look may have sent to nobody):
    // restart, as another instance would, and let it claim the day.
    sqlx::query("DELETE FROM notification_runs")
        .execute(d.app.state.store.pool())
        .await
        .expect("clear");
    d.app.restart().await;
    let got = sink.wait_for(1).await;
    assert_eq!(got[0].to, ["<pat@city.example>"]);
    d.app.restart().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    settled(&d.app.state.store).await;
    assert_eq!(
        sink.received().len(),
        1,
        "one digest a day, whatever the restarts"
    );
    let runs: Vec<String> = sqlx::query_scalar("SELECT name FROM notification_runs")
        .fetch_all(d.app.state.store.pool())
        .await
        .expect("runs");
    assert_eq!(runs, ["digest:2026-01-05"]);
}

#[tokio::test]
async fn helpline_staff_digest_queues_one_now_and_says_so() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (code, _, err) = run(helpline(db.dir())
        .env("HELPLINE_DATABASE_URL", db.url())
        .args(["staff", "digest"]));
    assert_eq!(code, 1);
    assert!(err.contains("no enabled staff login"), "{err}");

    let mut tx = store.begin_write().await.expect("tx");
    staff::insert(&mut tx, "pat@city.example", "Pat Lee", "staff", "x", T0)
        .await
        .expect("staff");
    tx.commit().await.expect("commit");
    let (code, out, err) = run(helpline(db.dir())
        .env("HELPLINE_DATABASE_URL", db.url())
        .args(["staff", "digest"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("queued to 1 staff member"), "{out}");
    let queued: Vec<(String, String)> = sqlx::query_as("SELECT template, recipient FROM outbox")
        .fetch_all(store.pool())
        .await
        .expect("outbox");
    assert_eq!(
        queued,
        [("queue_digest".to_string(), "pat@city.example".to_string())]
    );
    let (_, help, _) = run(helpline(db.dir()).args(["staff", "--help"]));
    assert!(help.contains("digest"), "{help}");
}
