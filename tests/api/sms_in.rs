//! Texts to the help line (`POST /twilio/sms`) over real HTTP, signed as Twilio signs them,
//! against the app with the sample roster; temporary passwords go to the Twilio stand-in and
//! end with the contractor signing in with them. What must not be sent is checked in the
//! outbox itself, not by waiting for a stand-in that may simply not have been reached yet.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{Clock, SharedClock};
use helpline::domain::phone::PhoneNumber;
use helpline::outbox::queue_sms;
use helpline::roster;
use helpline::store::sms_opt_outs;
use tokio::sync::Barrier;

use crate::common::browser::Page;
use crate::common::metric;
use crate::common::outbox::{outbox_row, queued_count, settled};
use crate::common::twilio::{ACCOUNT_SID, AUTH_TOKEN, FROM};
use crate::common::webhooks::twilio_sign;
use crate::portal::{Portal, assert_logs_clean, login, temporary_password_in};
use crate::voice::Call;

/// C-1001's mobile on record, as Twilio writes a `From`.
const MOBILE: &str = "+13036582075";
/// A phone that is nobody's on record.
const STRANGER: &str = "+17205550100";
/// C-1001's license number: what the contractor texts after RESET.
const LICENSE: &str = "B-884512";
/// The reply to RESET, sent or not.
const RESET_REPLY: &str = "if that number and this phone match our records, a temporary \
                           password is on its way by text. It works once, for 10 minutes.";
const INSTRUCTIONS_EN: &str = "Text RESET and your contractor or license number";
const INSTRUCTIONS_ES: &str = "Envie CLAVE y su numero de contratista o licencia";

/// The `n`th made-up message sid.
fn sid(n: u32) -> String {
    format!("SM{n:032x}")
}

/// The fields of an incoming text, as Twilio posts them.
fn text_fields<'a>(sid: &'a str, from: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", FROM),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ]
}

/// Texts `body` from `from` as message `sid`; the answer must be TwiML.
async fn text(p: &Portal, sid: &str, from: &str, body: &str) -> Page {
    let page = p
        .app
        .post_signed("/twilio/sms", &text_fields(sid, from, body))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/xml; charset=utf-8"),
        "{}",
        page.body
    );
    page
}

/// The reply's words (one `<Message>`), unescaped; `None` for an empty `<Response/>`.
fn reply(page: &Page) -> Option<String> {
    let body = &page.body;
    let open = body.find("<Message>")?;
    assert_eq!(body.matches("<Message>").count(), 1, "one reply: {body}");
    let start = open + "<Message>".len();
    let end = body[start..].find("</Message>").expect("message ends") + start;
    Some(
        body[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// True when the answer texts nothing back.
fn is_silent(page: &Page) -> bool {
    !page.body.contains("<Message") && page.body.contains("<Response")
}

fn temporary_password_es(body: &str) -> String {
    let lead = "contraseña temporal del portal de contratistas es ";
    let at = body.find(lead).expect("a temporary password") + lead.len();
    body[at..at + 9].to_string()
}

#[tokio::test]
async fn reset_from_the_mobile_on_record_texts_a_password_that_signs_in() {
    let p = Portal::start().await;
    let page = text(&p, &sid(1), MOBILE, &format!("RESET {LICENSE}")).await;
    assert_eq!(
        reply(&page).as_deref(),
        Some(format!("Westminster help line: {RESET_REPLY}").as_str())
    );

    let sent = p.twilio.wait_for(1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].field("To"), Some(MOBILE));
    assert_eq!(sent[0].field("ValidityPeriod"), Some("600"));
    let body = sent[0].field("Body").expect("body");
    assert!(body.contains("for 10 minutes"), "the lifetime: {body}");
    let temp = temporary_password_in(body);
    let mut b = p.browser();
    let page = login(&mut b, "C-1001", &temp).await;
    assert_eq!(page.location(), Some("/login/change"));
    settled(&p.app.state.store).await;
    assert_logs_clean(&[&temp, "884512", "3036582075"]);
}

#[tokio::test]
async fn reset_from_any_other_phone_gets_the_same_reply_and_sends_nothing() {
    let p = Portal::start().await;
    // A contractor whose alternate phone (a landline, perhaps) is on record as well.
    let clock: SharedClock = p.app.clock.clone();
    let extra = "contractor_number,license_number,business_name,contact_name,phone,alt_phone,email\n\
                 C-1004,B-120044,Alt Phone Builders,Jo Lee,303-555-0188,303-555-0199,\n";
    roster::import(&p.app.state.store, &clock, extra.as_bytes(), None)
        .await
        .expect("roster");

    // Sent first: the refusals that follow wait out the identity counter's quick-failure
    // rule (the test clock stands still), and a refusal reads the same either way.
    let sent = text(&p, &sid(6), MOBILE, &format!("Reset {LICENSE}")).await;
    assert_eq!(texts_queued(&p.app.state.store).await, 1);
    let stranger = text(&p, &sid(1), STRANGER, &format!("RESET {LICENSE}")).await;
    let unknown = text(&p, &sid(2), STRANGER, "RESET 99999999").await;
    let unknown_from_mobile = text(&p, &sid(3), MOBILE, "reset C-9999").await;
    let alternate = text(&p, &sid(4), "+13035550199", "RESET C-1004").await;
    let not_a_phone = text(&p, &sid(5), "HELPLINE", &format!("RESET {LICENSE}")).await;
    let answers = [
        &stranger,
        &unknown,
        &unknown_from_mobile,
        &alternate,
        &not_a_phone,
    ];
    for page in answers {
        assert_eq!(page.body, stranger.body, "one reply for every refusal");
    }
    assert!(
        reply(&stranger).is_some_and(|r| r.ends_with(RESET_REPLY)),
        "{}",
        stranger.body
    );
    assert_eq!(sent.body, stranger.body, "the same reply when it is sent");
    assert_eq!(
        texts_queued(&p.app.state.store).await,
        1,
        "nothing more sent"
    );
    let texts = p.twilio.wait_for(1).await;
    assert_eq!(texts[0].field("To"), Some(MOBILE));
    settled(&p.app.state.store).await;
    assert_eq!(p.twilio.requests().len(), 1);
}

#[tokio::test]
async fn clave_answers_and_texts_in_spanish() {
    let p = Portal::start().await;
    let page = text(&p, &sid(1), MOBILE, "Clave: 1001").await;
    let words = reply(&page).expect("a reply");
    assert!(
        words.starts_with("Westminster, linea de ayuda: si ese numero y este telefono"),
        "{words}"
    );
    assert!(words.contains("durante 10 minutos"), "{words}");
    let sent = p.twilio.wait_for(1).await;
    assert_eq!(sent[0].field("To"), Some(MOBILE));
    let body = sent[0].field("Body").expect("body");
    let temp = temporary_password_es(body);
    assert!(body.contains("durante 10 minutos"), "{body}");
    let mut b = p.browser();
    let page = login(&mut b, "C-1001", &temp).await;
    assert_eq!(page.location(), Some("/login/change"));
    settled(&p.app.state.store).await;
    assert_logs_clean(&[&temp, "3036582075"]);
}

#[tokio::test]
async fn help_gives_the_line_number_and_office_hours_in_either_language() {
    let p = Portal::start_with(|s| {
        s.staff_office_hours = Some("Monday–Friday 8 am–5 pm".into());
    })
    .await;
    for (n, word) in ["HELP", "info", "help me please"].iter().enumerate() {
        let page = text(&p, &sid(n as u32 + 1), STRANGER, word).await;
        let words = reply(&page).expect("a reply");
        assert!(
            words.starts_with("Westminster contractor help line. Text RESET"),
            "{word}: {words}"
        );
        assert!(
            words.contains("Call (303) 555-0100, Monday-Friday 8 am-5 pm."),
            "the line's number and hours, in GSM-7: {words}"
        );
    }
    let page = text(&p, &sid(9), STRANGER, "Ayuda").await;
    let words = reply(&page).expect("a reply");
    assert!(
        words.starts_with("Linea de ayuda para contratistas de Westminster. Envie CLAVE"),
        "{words}"
    );
    assert!(words.contains("Llame al (303) 555-0100"), "{words}");
    assert_eq!(queued_count(&p.app.state.store).await, 0);
}

#[tokio::test]
async fn without_office_hours_help_says_to_call_during_office_hours() {
    let p = Portal::start().await;
    let page = text(&p, &sid(1), STRANGER, "HELP").await;
    let words = reply(&page).expect("a reply");
    assert!(
        words.contains("Call (303) 555-0100, during office hours."),
        "{words}"
    );
}

#[tokio::test]
async fn stop_is_remembered_until_start_and_nothing_is_texted_meanwhile() {
    let p = Portal::start().await;
    let page = text(&p, &sid(1), MOBILE, "STOP").await;
    assert!(
        reply(&page).is_some_and(|r| r.contains("you will get no more texts")),
        "the STOP is confirmed once: {}",
        page.body
    );
    // Stopped: no reply to anything but START, and no password by text.
    for (n, body) in [
        (2, format!("RESET {LICENSE}")),
        (3, "HELP".to_string()),
        (4, "stop".to_string()),
        (5, "what?".to_string()),
    ] {
        let page = text(&p, &sid(n), MOBILE, &body).await;
        assert!(is_silent(&page), "{body}: {}", page.body);
    }
    assert_eq!(queued_count(&p.app.state.store).await, 0, "nothing sent");

    // The kiosk and the phone line no longer offer a text to that mobile.
    let mut b = p.browser();
    let page = b
        .post("/help", &[("number", "C-1001"), ("phone", "303-658-2075")])
        .await;
    assert_eq!(page.location(), Some("/help/choose"));
    let choose = b.get("/help/choose").await;
    assert!(choose.body.contains("value=\"email\""), "{}", choose.body);
    assert!(!choose.body.contains("value=\"sms\""), "{}", choose.body);
    let mut call = Call::dial(&p, "CA0000000000000000000000000000a001", STRANGER, None).await;
    call.identify("1001").await;
    call.press("3036582075").await;
    let menu = call.said();
    assert!(menu.contains("by email"), "{menu}");
    assert!(!menu.contains("text message"), "{menu}");

    // START: texts are on again.
    let page = text(&p, &sid(6), MOBILE, "start").await;
    assert!(
        reply(&page).is_some_and(|r| r.contains("texts are on again")),
        "{}",
        page.body
    );
    let page = text(&p, &sid(7), MOBILE, &format!("RESET {LICENSE}")).await;
    assert!(
        reply(&page).is_some_and(|r| r.ends_with(RESET_REPLY)),
        "{}",
        page.body
    );
    let sent = p.twilio.wait_for(1).await;
    assert_eq!(sent[0].field("To"), Some(MOBILE));
    settled(&p.app.state.store).await;
    assert_eq!(p.twilio.requests().len(), 1);
}

#[tokio::test]
async fn the_outbox_refuses_and_drops_texts_to_a_stopped_number() {
    let p = Portal::start().await;
    let store = &p.app.state.store;
    let now = p.app.clock.now_ms();
    let phone = PhoneNumber::parse("+13035550142").expect("phone");
    sms_opt_outs::stop(store.pool(), phone.as_str(), now)
        .await
        .expect("stop");
    let mut tx = store.begin_write().await.expect("tx");
    let refused = queue_sms(
        &mut tx,
        &phone,
        "password_changed",
        "x".into(),
        None,
        None,
        now,
    )
    .await
    .expect("queue");
    tx.commit().await.expect("commit");
    assert_eq!(refused, None, "nothing is queued to a stopped number");
    assert_eq!(queued_count(store).await, 0);

    // A text queued before a STOP is dropped when its turn comes.
    sms_opt_outs::start(store.pool(), phone.as_str())
        .await
        .expect("start");
    let mut tx = store.begin_write().await.expect("tx");
    let id = queue_sms(
        &mut tx,
        &phone,
        "password_changed",
        "x".into(),
        None,
        None,
        now,
    )
    .await
    .expect("queue")
    .expect("queued");
    // The STOP lands with it: no worker can take the text before the number is stopped.
    sms_opt_outs::stop(&mut *tx, phone.as_str(), now)
        .await
        .expect("stop");
    tx.commit().await.expect("commit");
    p.app.state.outbox_wake.notify_one();
    settled(store).await;
    let row = outbox_row(store, id).await;
    assert_eq!(row.status, "dead", "{row:?}");
    assert_eq!(
        row.last_error.as_deref(),
        Some("dropped: the number texted STOP")
    );
    assert_eq!(row.body_text, None, "the body is erased");
    assert!(p.twilio.requests().is_empty());
}

#[tokio::test]
async fn a_second_reset_too_soon_is_told_to_the_mobile_on_record_only() {
    let p = Portal::start().await;
    let first = text(&p, &sid(1), MOBILE, "RESET 1001").await;
    assert!(reply(&first).is_some_and(|r| r.ends_with(RESET_REPLY)));
    // Within the send budget's 5 minutes: nothing more goes, and the mobile is told so.
    let again = text(&p, &sid(2), MOBILE, "RESET 1001").await;
    let words = reply(&again).expect("a reply");
    assert!(
        words.starts_with("Westminster help line: we cannot send a temporary password right now")
            && words.contains("call (303) 555-0100 (during office hours)"),
        "{words}"
    );
    // Anyone else still reads the one reply for every refusal.
    let stranger = text(&p, &sid(3), STRANGER, "RESET 1001").await;
    assert_eq!(stranger.body, first.body);
    assert_eq!(texts_queued(&p.app.state.store).await, 1);
    settled(&p.app.state.store).await;
}

#[tokio::test]
async fn a_replayed_message_sid_changes_nothing_and_sends_one_text() {
    let p = Portal::start().await;
    let first = text(&p, &sid(1), MOBILE, &format!("RESET {LICENSE}")).await;
    assert!(reply(&first).is_some(), "{}", first.body);
    // Past the send budget's spacing: only the sid can keep a retry from sending again.
    p.app.clock.advance(Duration::from_secs(6 * 60));
    let again = text(&p, &sid(1), MOBILE, &format!("RESET {LICENSE}")).await;
    assert_eq!(again.body, first.body, "a retry gets the same reply");
    assert_eq!(texts_queued(&p.app.state.store).await, 1);
    // A new text is a new request.
    let next = text(&p, &sid(2), MOBILE, &format!("RESET {LICENSE}")).await;
    assert_eq!(next.body, first.body);
    assert_eq!(texts_queued(&p.app.state.store).await, 2);
    settled(&p.app.state.store).await;
    assert_eq!(p.twilio.requests().len(), 2);
}

/// Twilio's retries of one text, landing together on a multi-threaded server: one text out.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn identical_webhooks_at_once_send_one_text() {
    const COPIES: usize = 6;
    let p = Arc::new(Portal::start().await);
    for round in 0..3u32 {
        let message = sid(100 + round);
        let barrier = Arc::new(Barrier::new(COPIES));
        let mut tasks = Vec::new();
        for _ in 0..COPIES {
            let (p, barrier, message) = (p.clone(), barrier.clone(), message.clone());
            tasks.push(tokio::spawn(async move {
                let body = format!("RESET {LICENSE}");
                let fields = text_fields(&message, MOBILE, &body);
                barrier.wait().await;
                p.app.post_signed("/twilio/sms", &fields).await
            }));
        }
        let mut replied = 0;
        for t in tasks {
            let page = t.await.expect("task");
            assert_eq!(page.status, 200, "{}", page.body);
            match reply(&page) {
                Some(words) => {
                    assert!(words.ends_with(RESET_REPLY), "{words}");
                    replied += 1;
                }
                None => assert!(is_silent(&page), "{}", page.body),
            }
        }
        assert!(replied >= 1, "round {round}: the text was answered");
        let texts = texts_queued(&p.app.state.store).await;
        assert_eq!(
            texts,
            i64::from(round) + 1,
            "round {round}: one text per sid"
        );
        p.app.clock.advance(Duration::from_secs(6 * 60));
    }
    settled(&p.app.state.store).await;
}

#[tokio::test]
async fn unsigned_or_badly_signed_texts_are_refused_before_anything() {
    let p = Portal::start().await;
    let body = format!("RESET {LICENSE}");
    let message = sid(1);
    let fields = text_fields(&message, MOBILE, &body);
    let missing = p.app.post_twilio("/twilio/sms", &fields, None).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    let wrong = twilio_sign(&p.app.twilio_url("/twilio/sms"), &fields, "not-the-token");
    let page = p
        .app
        .post_twilio("/twilio/sms", &fields, Some(&wrong))
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    // Signed over other words than those posted.
    let signed_for = text_fields(&message, MOBILE, "HELP");
    let right = twilio_sign(&p.app.twilio_url("/twilio/sms"), &signed_for, AUTH_TOKEN);
    let page = p
        .app
        .post_twilio("/twilio/sms", &fields, Some(&right))
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert_eq!(queued_count(&p.app.state.store).await, 0);
    let remembered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE channel = 'sms'")
            .fetch_one(p.app.state.store.pool())
            .await
            .expect("count");
    assert_eq!(remembered, 0, "nothing was stored");
    // Then the same text, signed, goes through.
    let page = text(&p, &message, MOBILE, &body).await;
    assert!(reply(&page).is_some(), "{}", page.body);
}

#[tokio::test]
async fn without_an_auth_token_texts_are_refused() {
    let p = Portal::start_with(|s| s.twilio.auth_token = None).await;
    let message = sid(1);
    let fields = text_fields(&message, MOBILE, "HELP");
    let sig = twilio_sign(&p.app.twilio_url("/twilio/sms"), &fields, AUTH_TOKEN);
    let page = p.app.post_twilio("/twilio/sms", &fields, Some(&sig)).await;
    assert_eq!(page.status, 503, "{}", page.body);
}

#[tokio::test]
async fn anything_unclear_gets_the_short_instructions_in_both_languages() {
    let p = Portal::start().await;
    let long = "1".repeat(1600);
    let long_reset = format!("RESET {}", "9".repeat(400));
    let bodies = [
        "",
        "   ",
        "hello",
        "RESET",
        "clave  ",
        "<Response><Message>free text</Message></Response>",
        "]]><Redirect>https://evil.example</Redirect>",
        "&amp; &lt;",
        "🙂🙂",
        long.as_str(),
        long_reset.as_str(),
        "\u{0}\u{7}",
    ];
    for (n, body) in bodies.iter().enumerate() {
        let page = text(&p, &sid(n as u32 + 1), STRANGER, body).await;
        let words = reply(&page).unwrap_or_else(|| panic!("{body:?}: {}", page.body));
        assert!(
            words.starts_with(INSTRUCTIONS_EN) && words.contains(INSTRUCTIONS_ES),
            "{body:?}: {words}"
        );
        for markup in ["<Redirect", "<Response><Message>free", "evil.example"] {
            assert!(!page.body.contains(markup), "{body:?}: {}", page.body);
        }
        assert_eq!(page.body.matches("<Response>").count(), 1, "{}", page.body);
    }
    assert_eq!(queued_count(&p.app.state.store).await, 0);
}

#[tokio::test]
async fn a_number_that_texts_too_often_gets_no_answer() {
    const BURST: u32 = 3;
    let p = Portal::start_with(|s| {
        s.guard.texts_per_number_burst = BURST;
        s.guard.texts_per_number_per_hour = 1;
    })
    .await;
    for n in 0..BURST {
        let page = text(&p, &sid(n + 1), MOBILE, "HELP").await;
        assert!(reply(&page).is_some(), "within the burst: {}", page.body);
    }
    let over = text(&p, &sid(10), MOBILE, &format!("RESET {LICENSE}")).await;
    assert!(is_silent(&over), "over the limit: {}", over.body);
    assert_eq!(queued_count(&p.app.state.store).await, 0, "nothing sent");
    assert_eq!(
        metric(&p.app.base, "helpline_sms_throttled_total").await,
        1.0
    );
    // Another number is not held back by it.
    let other = text(&p, &sid(11), STRANGER, "HELP").await;
    assert!(reply(&other).is_some(), "{}", other.body);
}

/// Texts queued, whatever became of them (a temporary password also queues an email to the
/// email on record telling of it; that is tested in `email_undeliverable`).
async fn texts_queued(store: &helpline::store::Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'sms'")
        .fetch_one(store.pool())
        .await
        .expect("count texts")
}
