//! What the phone line says, state by state: the TwiML of every state of `flows/voice.toml`
//! in which a call waits, transfers or ends, as snapshots (`tests/api/snapshots/`, reviewed
//! with `cargo insta review`, or `INSTA_UPDATE=always cargo test twiml` then `git diff`).
//! The calls are real ones over HTTP; the state each answer leaves the call in is read from
//! its conversation, and the test fails if a state was never reached. The call back's random
//! key and its password (spelled) are replaced before the snapshot: no secret is kept here.

use std::collections::{BTreeMap, BTreeSet};

use helpline::flows::{Action, Input};

use crate::portal::Portal;
use crate::voice::{Call, PHONE, STRANGER, WRONG_PHONE, heard_password};

/// The answers seen: snapshot name → state the call was left in.
#[derive(Default)]
struct Shots {
    states: BTreeMap<String, String>,
}

impl Shots {
    /// Snapshots the call's last answer as `name` and notes the state it left the call in.
    async fn take(&mut self, name: &str, call: &Call<'_>, key: &str) {
        let state: String =
            sqlx::query_scalar("SELECT state FROM conversations WHERE external_key = $1")
                .bind(key)
                .fetch_one(call.p.app.state.store.pool())
                .await
                .expect("the call's conversation");
        let state: serde_json::Value = serde_json::from_str(&state).expect("call state");
        let cursor = state["cursor"]["state"]
            .as_str()
            .expect("cursor state")
            .to_string();
        insta::with_settings!({
            snapshot_path => "snapshots",
            prepend_module_to_snapshot => false,
            description => format!("the call waits in, transfers from or ends at: {cursor}"),
        }, {
            insta::assert_snapshot!(format!("voice_{name}"), readable(&call.last.body));
        });
        self.states.insert(name.to_string(), cursor);
    }
}

/// One element per line, the call back's key and a spelled password replaced.
fn readable(twiml: &str) -> String {
    let mut out = twiml.replace("><", ">\n<");
    let mut from = 0;
    while let Some(at) = out[from..].find("c=cb-").map(|i| from + i + 5) {
        out.replace_range(at..at + 32, "{call back key}");
        from = at;
    }
    for (lead, end) in [
        ("Your temporary password is: ", ". It works once"),
        ("Su contraseña temporal es: ", ". Sirve una sola vez"),
    ] {
        if let Some(at) = out.find(lead) {
            let from = at + lead.len();
            let to = from + out[from..].find(end).expect("sentence ends");
            out.replace_range(from..to, "{the password, spelled}");
        }
    }
    out
}

#[tokio::test]
async fn twiml_of_every_state_a_call_can_wait_or_end_in() {
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
    let mut shots = Shots::default();
    let sid = |n: u32| format!("CA{n:032}");

    // A text, English, after hours (the test clock starts Monday, 2 am in Denver).
    let a = sid(1);
    let mut call = Call::dial(&p, &a, STRANGER, None).await;
    shots.take("language", &call, &a).await;
    call.press("1").await;
    shots.take("main_menu", &call, &a).await;
    call.press("1").await;
    shots.take("ask_number", &call, &a).await;
    call.press("1001").await;
    shots.take("read_back", &call, &a).await;
    call.press("1").await;
    shots.take("ask_phone", &call, &a).await;
    call.press(PHONE).await;
    shots.take("choose_delivery", &call, &a).await;
    call.press("1").await;
    shots.take("sms_sent", &call, &a).await;

    // Silence, a key not offered, a wrong phone; then staff, after hours: a message.
    let b = sid(2);
    let mut call = Call::dial(&p, &b, STRANGER, None).await;
    call.press("1").await;
    call.silence().await;
    shots.take("main_menu_silence", &call, &b).await;
    call.press("7").await;
    shots.take("main_menu_not_offered", &call, &b).await;
    call.press("1").await;
    call.press("1001").await;
    call.press("1").await;
    call.press(WRONG_PHONE).await;
    shots.take("no_match", &call, &b).await;
    let c = sid(3);
    let mut call = Call::dial(&p, &c, STRANGER, None).await;
    call.press("1").await;
    call.press("2").await;
    shots.take("leave_message", &call, &c).await;
    let to = call.action();
    call.post(&to, &[("RecordingUrl", "https://api.twilio.example/RE1")])
        .await;
    shots.take("message_taken", &call, &c).await;

    // A reset link; then a text again too soon: not sent, and a message for staff.
    let d = sid(4);
    let mut call = Call::dial(&p, &d, STRANGER, None).await;
    call.identify("1001").await;
    call.press(PHONE).await;
    call.press("2").await;
    shots.take("email_sent", &call, &d).await;
    let e = sid(5);
    let mut call = Call::dial(&p, &e, STRANGER, None).await;
    call.identify("1001").await;
    call.press(PHONE).await;
    call.press("1").await;
    shots.take("sms_not_sent", &call, &e).await;

    // Spanish.
    let f = sid(6);
    let mut call = Call::dial(&p, &f, STRANGER, None).await;
    call.press("2").await;
    shots.take("es_main_menu", &call, &f).await;
    call.press("1").await;
    call.press("1001").await;
    shots.take("es_read_back", &call, &f).await;

    // A call back: placed, answered, read, and the goodbye after silence.
    let g = sid(7);
    let mut call = Call::dial(&p, &g, STRANGER, None).await;
    call.identify("1001").await;
    call.press(PHONE).await;
    call.press("3").await;
    shots.take("callback_placed", &call, &g).await;
    p.twilio.wait_for(2).await;
    let mut back = Call::answer_call_back(&p, &sid(8)).await;
    let key = callback_key(&back.action());
    shots.take("callback_intro", &back, &key).await;
    back.press("1").await;
    let temp = heard_password(&back.said(), "Your temporary password is: ", ". It works");
    shots.take("say_secret", &back, &key).await;
    back.silence().await;
    shots.take("callback_goodbye", &back, &key).await;

    // In office hours: the staff line rings; answered, the caller hears goodbye at the end.
    p.app
        .clock
        .advance(std::time::Duration::from_secs(7 * 3600));
    let h = sid(9);
    let mut call = Call::dial(&p, &h, STRANGER, None).await;
    call.press("1").await;
    call.press("2").await;
    shots.take("transfer", &call, &h).await;
    let to = call.action();
    call.post(&to, &[("DialCallStatus", "completed")]).await;
    shots.take("goodbye", &call, &h).await;

    // A call back whose account was frozen before 1 was pressed reads nothing.
    let i = sid(10);
    let mut call = Call::dial(&p, &i, STRANGER, None).await;
    call.identify("1001").await;
    call.press(PHONE).await;
    call.press("3").await;
    p.twilio.wait_for(3).await;
    let mut back = Call::answer_call_back(&p, &sid(11)).await;
    let key = callback_key(&back.action());
    sqlx::query("UPDATE accounts SET frozen = 1 WHERE contractor_id = $1")
        .bind(p.contractor_id("C-1001").await)
        .execute(p.app.state.store.pool())
        .await
        .expect("freeze");
    back.press("1").await;
    shots.take("callback_not_sent", &back, &key).await;
    assert!(!back.said().contains("password is"), "{}", back.said());

    // Every state a call can wait, transfer or end in was answered above.
    let flow = p.app.state.flows.voice();
    let stops: BTreeSet<&str> = flow
        .states
        .iter()
        .filter(|(_, s)| {
            s.end || !matches!(s.input, Input::None) || s.action == Some(Action::DialStaff)
        })
        .map(|(name, _)| name.as_str())
        .collect();
    let reached: BTreeSet<&str> = shots.states.values().map(String::as_str).collect();
    let missing: Vec<&&str> = stops.difference(&reached).collect();
    assert!(missing.is_empty(), "no snapshot of {missing:?}");
    crate::portal::assert_logs_clean(&[&temp, PHONE, WRONG_PHONE]);
}

/// The call back's conversation key, from the URL its next step goes to.
fn callback_key(url: &str) -> String {
    let at = url.find("c=cb-").expect("a call back URL") + 2;
    url[at..at + 35].to_string()
}
