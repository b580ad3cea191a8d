//! The phone line: whole calls over real HTTP, signed as Twilio signs them, against the app
//! with the sample roster; texts go to the Twilio stand-in, emails to the loopback SMTP server,
//! and each delivery ends with the contractor signing in with what they received.

use std::sync::Arc;

use helpline::store::tickets;
use tokio::sync::Barrier;

use crate::common::browser::Page;
use crate::common::twilio::{AUTH_TOKEN, calls_path};
use crate::common::webhooks::{incoming_call, twilio_sign};
use crate::portal::{GOOD, Portal, assert_logs_clean, login, reset_token, temporary_password_in};

/// A caller ID that is nobody's on record.
pub(crate) const STRANGER: &str = "+17205550100";
/// C-1001's mobile on record, as keyed in.
pub(crate) const PHONE: &str = "3036582075";
pub(crate) const WRONG_PHONE: &str = "3035550000";

/// One call in progress: what Helpline said last, and where the next webhook goes.
pub(crate) struct Call<'a> {
    pub(crate) p: &'a Portal,
    pub(crate) sid: String,
    pub(crate) last: Page,
}

impl<'a> Call<'a> {
    pub(crate) async fn dial(p: &'a Portal, sid: &str, from: &str, stir: Option<&str>) -> Call<'a> {
        let mut params = incoming_call(sid, from);
        if let Some(s) = stir {
            params.push(("StirVerstat".into(), s.into()));
        }
        let last = p.app.post_signed_owned("/twilio/voice", &params).await;
        assert_eq!(last.status, 200, "{}", last.body);
        Call {
            p,
            sid: sid.to_string(),
            last,
        }
    }

    /// The URL the caller's next keys go to (a `<Gather>`, `<Record>` or `<Dial>` action).
    pub(crate) fn action(&self) -> String {
        let body = &self.last.body;
        let at = body
            .find(" action=\"")
            .unwrap_or_else(|| panic!("no action to answer: {body}"));
        let rest = &body[at + 9..];
        rest[..rest.find('"').expect("attribute ends")].replace("&amp;", "&")
    }

    /// The URL Twilio goes on to after silence.
    pub(crate) fn redirect(&self) -> String {
        let body = &self.last.body;
        let at = body
            .find("<Redirect method=\"POST\">")
            .unwrap_or_else(|| panic!("no redirect: {body}"));
        let rest = &body[at + 24..];
        rest[..rest.find('<').expect("element ends")].replace("&amp;", "&")
    }

    pub(crate) async fn post(&mut self, path: &str, extra: &[(&str, &str)]) -> &Page {
        let mut params: Vec<(&str, &str)> = vec![("CallSid", &self.sid), ("From", STRANGER)];
        params.extend_from_slice(extra);
        self.last = self.p.app.post_signed(path, &params).await;
        assert_eq!(self.last.status, 200, "{}", self.last.body);
        &self.last
    }

    pub(crate) async fn press(&mut self, digits: &str) -> &Page {
        let to = self.action();
        self.post(&to, &[("Digits", digits)]).await
    }

    pub(crate) async fn silence(&mut self) -> &Page {
        let to = self.redirect();
        self.post(&to, &[]).await
    }

    /// Everything said in the last answer, as text.
    pub(crate) fn said(&self) -> String {
        let mut out = String::new();
        let mut rest = self.last.body.as_str();
        while let Some(at) = rest.find("<Say") {
            let open_end = rest[at..].find('>').expect("tag ends") + at + 1;
            let close = rest[open_end..].find("</Say>").expect("say ends") + open_end;
            out.push_str(&rest[open_end..close]);
            out.push(' ');
            rest = &rest[close..];
        }
        out
    }

    /// Language (English), main menu, the number read back and confirmed.
    pub(crate) async fn identify(&mut self, number: &str) {
        self.press("1").await;
        assert!(self.said().contains("press 1"), "{}", self.said());
        self.press("1").await;
        assert!(self.said().contains("contractor number"), "{}", self.said());
        self.press(number).await;
        let spoken: Vec<String> = number.chars().map(String::from).collect();
        assert!(
            self.said().contains(&spoken.join(", ")),
            "read back digit by digit: {}",
            self.said()
        );
        self.press("1").await;
    }
}

#[tokio::test]
async fn a_text_chosen_on_the_phone_lets_the_contractor_sign_in() {
    let p = Portal::start().await;
    let mut call = Call::dial(&p, "CA00000000000000000000000000000001", STRANGER, None).await;
    assert!(
        call.said().contains("For English, press 1"),
        "{}",
        call.said()
    );
    call.identify("1001").await;
    assert!(
        call.said().contains("phone number we have on record"),
        "{}",
        call.said()
    );
    call.press(PHONE).await;
    let menu = call.said();
    assert!(menu.contains("text message"), "{menu}");
    assert!(menu.contains("by email"), "{menu}");
    assert!(menu.contains("call back"), "{menu}");
    call.press("1").await;
    let said = call.said();
    assert!(
        said.contains("your mobile phone ending in 2, 0, 7, 5"),
        "{said}"
    );
    assert!(
        said.contains("for 10 minutes"),
        "the lifetime is said: {said}"
    );
    assert!(call.last.body.contains("<Hangup/>"), "{}", call.last.body);

    let sent = p.twilio.wait_for(1).await;
    assert_eq!(sent[0].field("To"), Some("+13036582075"));
    let temp = temporary_password_in(sent[0].field("Body").expect("body"));
    let mut b = p.browser();
    let page = login(&mut b, "C-1001", &temp).await;
    assert_eq!(page.location(), Some("/login/change"));
    assert_logs_clean(&[&temp, PHONE]);
}

#[tokio::test]
async fn a_reset_link_chosen_in_spanish_arrives_in_spanish_and_works() {
    let p = Portal::start().await;
    let mut call = Call::dial(&p, "CA00000000000000000000000000000002", STRANGER, None).await;
    call.press("2").await;
    assert!(
        call.last.body.contains("language=\"es-MX\""),
        "{}",
        call.last.body
    );
    assert!(!call.said().contains("press 1"), "{}", call.said());
    call.press("1").await;
    call.press("1001").await;
    assert!(call.said().contains("1, 0, 0, 1"), "{}", call.said());
    call.press("1").await;
    call.press(PHONE).await;
    call.press("2").await;
    assert!(
        call.said().contains("frontrange-roofing.example"),
        "{}",
        call.said()
    );

    let mail = p.smtp.wait_for(1).await;
    let text = crate::portal::text_of(&mail[0].data);
    assert!(
        text.contains("Content-Language: es") || text.contains("contraseña"),
        "{text}"
    );
    let token = reset_token(&text);
    let mut b = p.browser();
    let page = b.get(&format!("/reset/{token}")).await;
    assert_eq!(page.location(), Some("/reset"));
    b.get("/reset").await;
    let page = b
        .post(
            "/reset",
            &[
                ("password", GOOD),
                ("confirm", GOOD),
                ("question", "first_pet"),
                ("answer", "Blue heron"),
                ("answer_again", "Blue heron"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<h1>Password changed</h1>"),
        "{}",
        page.body
    );
    let page = login(&mut b, "C-1001", GOOD).await;
    assert_eq!(page.location(), Some("/account"));
}

#[tokio::test]
async fn an_unknown_number_and_a_wrong_phone_get_the_same_answer() {
    let p = Portal::start().await;
    let mut unknown = Call::dial(&p, "CA00000000000000000000000000000003", STRANGER, None).await;
    unknown.identify("9999").await;
    unknown.press(PHONE).await;
    let mut wrong = Call::dial(&p, "CA00000000000000000000000000000004", STRANGER, None).await;
    wrong.identify("1001").await;
    wrong.press(WRONG_PHONE).await;
    assert!(
        unknown.said().contains("does not match our records"),
        "{}",
        unknown.said()
    );
    assert_eq!(unknown.last.body, wrong.last.body);
    assert!(p.twilio.requests().is_empty());
}

#[tokio::test]
async fn three_wrong_phones_leave_a_message_and_open_a_ticket() {
    let p = Portal::start().await;
    let mut call = Call::dial(&p, "CA00000000000000000000000000000005", STRANGER, None).await;
    call.identify("1001").await;
    for _ in 0..2 {
        call.press(WRONG_PHONE).await;
        assert!(call.said().contains("does not match"), "{}", call.said());
        // Back to the number: keyed and confirmed again.
        call.press("1001").await;
        call.press("1").await;
    }
    call.press(WRONG_PHONE).await;
    // No staff line in this app: the caller is asked to leave a message.
    assert!(call.last.body.contains("<Record "), "{}", call.last.body);
    let to = call.action();
    call.post(
        &to,
        &[(
            "RecordingUrl",
            "https://api.twilio.example/Recordings/RE0001",
        )],
    )
    .await;
    assert!(
        call.said().contains("Staff will call you back"),
        "{}",
        call.said()
    );

    let open = tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets");
    assert_eq!(open.len(), 1, "{open:?}");
    let t = &open[0];
    assert_eq!(t.kind, "phone_call");
    assert_eq!(t.contractor_id, Some(p.contractor_id("C-1001").await));
    assert!(t.detail.contains("Mismatches: 3"), "{}", t.detail);
    assert!(
        t.detail.contains(STRANGER),
        "staff can call back: {}",
        t.detail
    );
    assert!(
        t.detail.contains("RE0001"),
        "the message is linked: {}",
        t.detail
    );
    assert!(!t.detail.contains(WRONG_PHONE), "{}", t.detail);
    assert!(
        !t.detail.contains("1001\n"),
        "the number is masked: {}",
        t.detail
    );
    assert_logs_clean(&[WRONG_PHONE]);
}

#[tokio::test]
async fn a_replayed_webhook_changes_nothing_and_sends_one_text() {
    let p = Portal::start().await;
    let mut call = Call::dial(&p, "CA00000000000000000000000000000006", STRANGER, None).await;
    call.identify("1001").await;
    call.press(PHONE).await;
    let to = call.action();
    let params = [
        ("CallSid", call.sid.as_str()),
        ("From", STRANGER),
        ("Digits", "1"),
    ];
    // Twilio retries: twice at once, then once more later.
    let (a, b) = tokio::join!(
        p.app.post_signed(&to, &params),
        p.app.post_signed(&to, &params)
    );
    let c = p.app.post_signed(&to, &params).await;
    for page in [&a, &b, &c] {
        assert_eq!(page.status, 200, "{}", page.body);
    }
    let answers = [&a, &b, &c];
    let sent: Vec<_> = answers
        .iter()
        .filter(|page| page.body.contains("ending in"))
        .collect();
    assert!(!sent.is_empty(), "{}\n{}", a.body, b.body);
    assert_eq!(c.body, sent[0].body, "a later retry gets the same answer");
    p.twilio.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        p.twilio.requests().len(),
        1,
        "one text, however often Twilio asks"
    );

    // The first webhook of a call, retried, starts nothing new either.
    let again = p
        .app
        .post_signed_owned("/twilio/voice", &incoming_call(&call.sid, STRANGER))
        .await;
    assert_eq!(again.status, 200);
    assert!(!again.body.contains("For English"), "{}", again.body);
}

/// Four copies of one webhook posted at once (tasks released together by a barrier), signed
/// as Twilio signs them: status and body of each answer.
async fn four_at_once(p: &Portal, path: &str, params: &[(String, String)]) -> Vec<(u16, String)> {
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let signature = twilio_sign(&p.app.twilio_url(path), &borrowed, AUTH_TOKEN);
    let barrier = Arc::new(Barrier::new(4));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (barrier, url, params, signature) = (
            barrier.clone(),
            p.app.url(path),
            params.to_vec(),
            signature.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let req = crate::common::http()
                .post(url)
                .form(&params)
                .header("x-twilio-signature", signature);
            barrier.wait().await;
            let answer = req.send().await.expect("the app answers");
            let status = answer.status().as_u16();
            (status, answer.text().await.expect("a body"))
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    answers
}

/// A retried webhook that lands while the first copy is still being answered: the first
/// webhook of a call (which opens its conversation holding the answer) and a key press at a
/// menu (answered from one read and one conditional write) each move the call once, and every
/// copy gets the same TwiML, on both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_of_a_webhook_at_once_get_one_answer_and_move_the_call_once() {
    let p = Portal::start().await;
    for round in 0..5 {
        let sid = format!("CA000000000000000000000000000001{round:02}");
        let params = incoming_call(&sid, STRANGER);
        let answers = four_at_once(&p, "/twilio/voice", &params).await;
        for (status, body) in &answers {
            assert_eq!(*status, 200, "round {round}: {body}");
            assert_eq!(body, &answers[0].1, "round {round}: the same answer");
        }
        assert!(answers[0].1.contains("For English"), "{}", answers[0].1);
        assert!(
            answers[0].1.contains("/twilio/voice/step?n=1"),
            "{}",
            answers[0].1
        );
        let calls: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE external_key = $1")
                .bind(&sid)
                .fetch_one(p.app.state.store.pool())
                .await
                .expect("count");
        assert_eq!(calls, 1, "round {round}: one conversation");

        // English: the main menu, once.
        let mut press = params.clone();
        press.push(("Digits".into(), "1".into()));
        let answers = four_at_once(&p, "/twilio/voice/step?n=1", &press).await;
        for (status, body) in &answers {
            assert_eq!(*status, 200, "round {round}: {body}");
            assert_eq!(body, &answers[0].1, "round {round}: the same answer");
        }
        let menu = &answers[0].1;
        assert!(menu.contains("press 1"), "round {round}: {menu}");
        assert!(
            menu.contains("/twilio/voice/step?n=3"),
            "round {round}: {menu}"
        );

        // The call went on from the menu as if the key had been pressed once.
        let mut call = Call {
            p: &p,
            sid: sid.clone(),
            last: Page {
                status: 200,
                headers: Default::default(),
                body: menu.clone(),
            },
        };
        call.press("1").await;
        assert!(
            call.said().contains("contractor number"),
            "round {round}: {}",
            call.said()
        );
    }
}

#[tokio::test]
async fn a_call_continues_on_a_restarted_server() {
    let mut p = Portal::start().await;
    let sid = "CA00000000000000000000000000000007";
    let first = {
        let mut call = Call::dial(&p, sid, STRANGER, None).await;
        call.identify("1001").await;
        call.action()
    };
    p.app.restart().await;
    let page = p
        .app
        .post_signed(
            &first,
            &[("CallSid", sid), ("From", STRANGER), ("Digits", PHONE)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("text message"), "{}", page.body);
}

#[tokio::test]
async fn the_caller_id_on_record_with_full_attestation_skips_the_phone_question() {
    let p = Portal::start().await;
    let mut call = Call::dial(
        &p,
        "CA00000000000000000000000000000008",
        "+13036582075",
        Some("TN-Validation-Passed-A"),
    )
    .await;
    call.identify("1001").await;
    assert!(call.said().contains("text message"), "{}", call.said());

    // The same caller ID without the carrier's attestation is asked for the phone.
    let mut call = Call::dial(
        &p,
        "CA00000000000000000000000000000009",
        "+13036582075",
        Some("TN-Validation-Passed-B"),
    )
    .await;
    call.identify("1001").await;
    assert!(
        call.said().contains("phone number we have on record"),
        "{}",
        call.said()
    );
}

#[tokio::test]
async fn odd_keys_get_a_spoken_retry_never_an_error() {
    let p = Portal::start().await;
    let mut call = Call::dial(&p, "CA00000000000000000000000000000010", STRANGER, None).await;
    call.press("1").await;
    call.press("1").await;
    let nine_hundred = "9".repeat(200);
    let odd = ["*#", &nine_hundred, "12<Say>Dial</Say>", "1 0 0 1", ""];
    for (i, keys) in odd.iter().enumerate() {
        // Two retries per prompt: a fresh call for each pair of odd answers.
        let sid = format!("CA0000000000000000000000000001{i:04}");
        let mut call = Call::dial(&p, &sid, STRANGER, None).await;
        call.press("1").await;
        call.press("1").await;
        call.press(keys).await;
        let said = call.said();
        let expected = if keys.is_empty() {
            "did not hear"
        } else {
            "not one of the choices"
        };
        assert!(said.contains(expected), "{keys}: {said}");
        assert!(said.contains("contractor number"), "asked again: {said}");
        assert!(!call.last.body.contains("<Say>Dial"), "{}", call.last.body);
    }
    // Silence re-prompts twice, then (retries used up) the caller goes to staff.
    call.silence().await;
    assert!(call.said().contains("did not hear"), "{}", call.said());
    call.silence().await;
    call.silence().await;
    assert!(call.last.body.contains("<Record "), "{}", call.last.body);
    assert!(
        call.said().contains("Office hours are on the"),
        "{}",
        call.said()
    );
}

#[tokio::test]
async fn webhooks_for_an_unknown_call_say_goodbye() {
    let p = Portal::start().await;
    let page = p
        .app
        .post_signed(
            "/twilio/voice/step?n=3",
            &[
                ("CallSid", "CA0000000000000000000000000000dead"),
                ("Digits", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Goodbye"), "{}", page.body);
    assert!(page.body.contains("<Hangup/>"));
}

#[tokio::test]
async fn staff_take_the_call_in_office_hours_and_a_message_after_hours() {
    let p = Portal::start_with(|s| {
        s.staff_phone = Some("+13035550199".into());
        s.staff_hours = Some(helpline::domain::office_hours::OfficeHours {
            zone: helpline::domain::office_hours::CityZone::parse("America/Denver").expect("zone"),
            weekly: helpline::domain::office_hours::WeeklyHours::parse("Mon-Fri 08:00-17:00")
                .expect("hours"),
            holidays: Default::default(),
        });
    })
    .await;
    // T0 is a Monday, 2 am in Denver: after hours.
    let mut call = Call::dial(&p, "CA00000000000000000000000000000020", STRANGER, None).await;
    call.press("1").await;
    call.press("2").await;
    assert!(call.last.body.contains("<Record "), "{}", call.last.body);
    assert!(!call.last.body.contains("<Dial"), "{}", call.last.body);

    // 9 am in Denver: the staff line rings, with the call's ticket already open.
    p.app
        .clock
        .advance(std::time::Duration::from_secs(7 * 3600));
    let mut call = Call::dial(&p, "CA00000000000000000000000000000021", STRANGER, None).await;
    call.press("1").await;
    call.press("2").await;
    assert!(
        call.last.body.contains("<Number>+13035550199</Number>"),
        "{}",
        call.last.body
    );
    let open = tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets");
    assert_eq!(open.len(), 1, "{open:?}");
    // Nobody answers: the caller may leave a message, which joins the same ticket.
    let to = call.action();
    call.post(&to, &[("DialCallStatus", "no-answer")]).await;
    assert!(call.last.body.contains("<Record "), "{}", call.last.body);
    let to = call.action();
    call.post(
        &to,
        &[("RecordingUrl", "https://api.twilio.example/RE0002")],
    )
    .await;
    let open = tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets");
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(open[0].detail.contains("RE0002"), "{}", open[0].detail);
}

/// What a call back said between "password is:" and the next sentence, read back into the
/// password: "capital H, as in Hotel, small q, as in Quebec, 7. dash. …" → "Hq7-…".
pub(crate) fn heard_password(said: &str, lead: &str, end: &str) -> String {
    let at = said
        .find(lead)
        .unwrap_or_else(|| panic!("no password in: {said}"))
        + lead.len();
    let spoken = &said[at..at + said[at..].find(end).expect("sentence ends")];
    let mut out = String::new();
    for group in spoken.split(". ") {
        for item in group.split(", ") {
            let words: Vec<&str> = item.split_whitespace().collect();
            match words.as_slice() {
                ["dash"] | ["guion"] => out.push('-'),
                ["capital", l] | [l, "mayúscula"] => out.push_str(&l.to_uppercase()),
                ["small", l] | [l, "minúscula"] => out.push_str(&l.to_lowercase()),
                [d] if d.len() == 1 && d.chars().all(|c| c.is_ascii_digit()) => out.push_str(d),
                ["as", "in", _] | ["de", _] => {}
                other => panic!("cannot read {other:?} in: {spoken}"),
            }
        }
    }
    out
}

impl<'a> Call<'a> {
    /// The call back Helpline placed (the stand-in's last call), answered on the phone on
    /// record: Twilio fetches its TwiML, signed, with the new call's sid.
    pub(crate) async fn answer_call_back(p: &'a Portal, sid: &str) -> Call<'a> {
        let placed = p.twilio.calls();
        let call = placed.last().expect("a call back was placed");
        assert_eq!(
            call.field("To"),
            Some("+13036582075"),
            "to the phone on record"
        );
        let url = call.field("Url").expect("Url");
        let path = &url[url
            .find("/twilio/voice/callback?c=cb-")
            .expect("callback path")..];
        let last = p
            .app
            .post_signed_owned(path, &incoming_call(sid, "+13036582075"))
            .await;
        assert_eq!(last.status, 200, "{}", last.body);
        Call {
            p,
            sid: sid.to_string(),
            last,
        }
    }
}

#[tokio::test]
async fn a_call_back_reads_the_password_again_on_1_and_it_signs_the_contractor_in() {
    let p = Portal::start().await;
    let mut call = Call::dial(&p, "CA00000000000000000000000000000030", STRANGER, None).await;
    call.identify("1001").await;
    call.press(PHONE).await;
    call.press("3").await;
    let said = call.said();
    assert!(said.contains("your phone ending in 2, 0, 7, 5"), "{said}");
    assert!(
        said.contains("for 10 minutes"),
        "the lifetime is said: {said}"
    );
    assert!(call.last.body.contains("<Hangup/>"), "{}", call.last.body);
    let placed = p.twilio.wait_for(1).await;
    assert_eq!(placed[0].path, calls_path());
    assert!(p.twilio.texts().is_empty(), "a call, not a text");

    let mut back = Call::answer_call_back(&p, "CA00000000000000000000000000000031").await;
    let intro = back.said();
    assert!(intro.contains("To hear it, press 1"), "{intro}");
    assert!(
        !intro.contains("password is"),
        "nothing secret before 1: {intro}"
    );
    back.press("1").await;
    let lead = "Your temporary password is: ";
    let temp = heard_password(&back.said(), lead, ". It works once");
    assert_eq!(temp.len(), 9, "{temp}: {}", back.said());
    assert!(back.said().contains("for 10 minutes"), "{}", back.said());

    // "Press 1 to hear it again": the same password, though it is stored nowhere in clear.
    let again_url = back.action();
    back.press("1").await;
    assert_eq!(heard_password(&back.said(), lead, ". It works once"), temp);
    // Twilio retrying a webhook already answered is read the password again, nothing more.
    let retry = p
        .app
        .post_signed(
            &again_url,
            &[("CallSid", back.sid.as_str()), ("Digits", "1")],
        )
        .await;
    assert_eq!(retry.status, 200);
    assert!(retry.body.contains("<Gather"), "{}", retry.body);
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM conversations")
        .fetch_all(p.app.state.store.pool())
        .await
        .expect("conversations");
    assert!(states.iter().all(|s| !s.contains(&temp)), "{states:?}");

    let mut b = p.browser();
    let page = login(&mut b, "C-1001", &temp).await;
    assert_eq!(page.location(), Some("/login/change"));
    assert_logs_clean(&[&temp, PHONE]);
}

#[tokio::test]
async fn a_call_back_to_voicemail_makes_no_password_and_spanish_callers_hear_spanish() {
    let p = Portal::start().await;
    let mut call = Call::dial(&p, "CA00000000000000000000000000000032", STRANGER, None).await;
    call.press("2").await;
    call.press("1").await;
    call.press("1001").await;
    call.press("1").await;
    call.press(PHONE).await;
    assert!(call.said().contains("oprima 3"), "{}", call.said());
    call.press("3").await;
    assert!(call.said().contains("10 minutos"), "{}", call.said());
    p.twilio.wait_for(1).await;

    // A voicemail greeting: silence, then goodbye; no password was made.
    let mut back = Call::answer_call_back(&p, "CA00000000000000000000000000000033").await;
    assert!(back.said().contains("oprima 1"), "{}", back.said());
    assert!(back.last.body.contains("es-MX"), "{}", back.last.body);
    back.silence().await;
    back.silence().await;
    back.silence().await;
    assert!(back.last.body.contains("<Hangup/>"), "{}", back.last.body);
    let issued: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'temporary_password_issued'",
    )
    .fetch_one(p.app.state.store.pool())
    .await
    .expect("audit");
    assert_eq!(issued, 0);

    // Asking again at once: the account's send budget says not yet, and nothing is placed.
    let spanish_call = |sid: &'static str| {
        let p = &p;
        async move {
            let mut call = Call::dial(p, sid, STRANGER, None).await;
            call.press("2").await;
            call.press("1").await;
            call.press("1001").await;
            call.press("1").await;
            call.press(PHONE).await;
            call.press("3").await;
            call.said()
        }
    };
    let said = spanish_call("CA00000000000000000000000000000038").await;
    assert!(said.contains("no podemos enviar"), "{said}");
    assert_eq!(p.twilio.calls().len(), 1);

    // Later, another call back, answered: spelled in Spanish.
    p.app.clock.advance(std::time::Duration::from_secs(6 * 60));
    spanish_call("CA00000000000000000000000000000034").await;
    p.twilio.wait_for(2).await;
    let mut back = Call::answer_call_back(&p, "CA00000000000000000000000000000035").await;
    back.press("1").await;
    let temp = heard_password(
        &back.said(),
        "Su contraseña temporal es: ",
        ". Sirve una sola vez",
    );
    let mut b = p.browser();
    let page = login(&mut b, "C-1001", &temp).await;
    assert_eq!(page.location(), Some("/login/change"));
}

#[tokio::test]
async fn a_call_back_url_names_only_a_live_call_back() {
    let p = Portal::start().await;
    for c in [
        "CA00000000000000000000000000000036",
        "cb-short",
        &format!("cb-{}", "ab".repeat(16)),
    ] {
        let page = p
            .app
            .post_signed_owned(
                &format!("/twilio/voice/callback?c={c}"),
                &incoming_call("CA00000000000000000000000000000037", STRANGER),
            )
            .await;
        assert_eq!(page.status, 200, "{c}: {}", page.body);
        assert!(page.body.contains("Goodbye"), "{c}: {}", page.body);
        assert!(!page.body.contains("password"), "{c}: {}", page.body);
    }
    let page = p
        .app
        .post_signed(
            "/twilio/voice/step?n=1&c=CA00000000000000000000000000000037",
            &[
                ("CallSid", "CA00000000000000000000000000000037"),
                ("Digits", "1"),
            ],
        )
        .await;
    assert!(page.body.contains("Goodbye"), "{}", page.body);
}

#[tokio::test]
async fn a_message_left_before_hanging_up_reaches_one_ticket_with_its_transcription() {
    let p = Portal::start().await;
    let sid = "CA00000000000000000000000000000040";
    let mut call = Call::dial(&p, sid, STRANGER, None).await;
    call.press("1").await;
    call.press("2").await;
    // No staff line here: a message, with the file and its words reported back.
    let body = &call.last.body;
    assert!(
        body.contains(r#"recordingStatusCallback="/twilio/voice/recording""#),
        "{body}"
    );
    assert!(
        body.contains(r#"transcribe="true" transcribeCallback="/twilio/voice/transcription""#)
            || (body.contains(r#"transcribe="true""#)
                && body.contains(r#"transcribeCallback="/twilio/voice/transcription""#)),
        "{body}"
    );
    // The caller hangs up while recording: the call ends before its ticket step ran.
    let ended = p
        .app
        .post_signed(
            "/twilio/voice/status",
            &[("CallSid", sid), ("CallStatus", "completed")],
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    let recording = [
        ("CallSid", sid),
        ("RecordingStatus", "completed"),
        (
            "RecordingUrl",
            "https://api.twilio.example/Recordings/RE0040",
        ),
    ];
    let words = "This is Pat at Front Range, my license is 1900862, call me at 303 555 0100";
    let transcription = [
        ("CallSid", sid),
        ("TranscriptionStatus", "completed"),
        ("TranscriptionText", words),
    ];
    // Twilio may report each more than once, and the two in either order.
    for _ in 0..2 {
        let (a, b) = tokio::join!(
            p.app.post_signed("/twilio/voice/recording", &recording),
            p.app
                .post_signed("/twilio/voice/transcription", &transcription)
        );
        assert_eq!((a.status, b.status), (200, 200), "{} {}", a.body, b.body);
    }
    let open = tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets");
    assert_eq!(open.len(), 1, "{open:?}");
    let detail = &open[0].detail;
    assert_eq!(detail.matches("RE0040").count(), 1, "{detail}");
    assert_eq!(detail.matches(words).count(), 1, "{detail}");
    assert!(detail.contains(STRANGER), "{detail}");

    // A report for a call Helpline never had changes nothing.
    let stray = p
        .app
        .post_signed(
            "/twilio/voice/recording",
            &[
                ("CallSid", "CA0000000000000000000000000000beef"),
                ("RecordingStatus", "completed"),
                (
                    "RecordingUrl",
                    "https://api.twilio.example/Recordings/RE0041",
                ),
            ],
        )
        .await;
    assert_eq!(stray.status, 200);
    let open = tickets::open_tickets(p.app.state.store.pool())
        .await
        .expect("tickets");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_logs_clean(&["1900862", "Front Range"]);
}
