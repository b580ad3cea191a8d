//! The call's logic on strings: what it shows, requests and asks, verb by verb.

use super::*;

const VOICE: &str = "https://help.example.gov/twilio/voice";
const STATUS: &str = "https://help.example.gov/twilio/voice/status";

fn setup() -> CallSetup {
    CallSetup {
        call_sid: "CA0123456789abcdef0123456789abcdef".into(),
        account_sid: "AC0123456789abcdef0123456789abcdef".into(),
        from: "+13036582075".into(),
        to: "+13035550100".into(),
        stir_verstat: Some("TN-Validation-Passed-A".into()),
        voice_url: Url::parse(VOICE).unwrap(),
        status_callback: Some(Url::parse(STATUS).unwrap()),
        dial_answers: false,
    }
}

/// Everything the call does up to (and including) its next fetch, question or end.
fn until_blocked(call: &mut Call) -> Vec<Next> {
    let mut out = Vec::new();
    loop {
        let next = call.next();
        let blocked = matches!(next, Next::Fetch(_) | Next::Ask(_) | Next::Over);
        out.push(next);
        if blocked {
            return out;
        }
    }
}

/// A call that has made its first request and been answered `twiml`.
fn answered(twiml: &str) -> Call {
    let mut call = Call::new(setup());
    let Next::Fetch(_) = call.next() else {
        panic!("the call starts with a request")
    };
    call.twiml(twiml).unwrap();
    call
}

fn say(text: &str) -> Next {
    Next::Show(Event::Say {
        text: text.into(),
        language: None,
    })
}

fn fetched(next: Option<&Next>) -> &Request {
    match next {
        Some(Next::Fetch(r)) => r,
        other => panic!("expected a fetch, got {other:?}"),
    }
}

fn notified(next: Option<&Next>) -> &Request {
    match next {
        Some(Next::Notify(r)) => r,
        other => panic!("expected a callback, got {other:?}"),
    }
}

fn assert_hangs_up(steps: &[Next], by_caller: bool) {
    let n = steps.len();
    assert!(n >= 3, "{steps:?}");
    assert!(
        matches!(&steps[n - 3], Next::Show(Event::HungUp { by_caller: b, .. }) if *b == by_caller),
        "{steps:?}"
    );
    let status = notified(steps.get(n - 2));
    assert_eq!(status.url.as_str(), STATUS);
    assert_eq!(status.param("CallStatus"), Some("completed"));
    assert!(status.param("CallDuration").is_some());
    assert_eq!(steps[n - 1], Next::Over);
}

#[test]
fn the_first_request_is_the_incoming_call_as_twilio_posts_it() {
    let mut call = Call::new(setup());
    let first = call.next();
    let r = fetched(Some(&first));
    assert_eq!(r.method, Method::Post);
    assert_eq!(r.url.as_str(), VOICE);
    for (k, v) in [
        ("CallSid", "CA0123456789abcdef0123456789abcdef"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "+13036582075"),
        ("Caller", "+13036582075"),
        ("To", "+13035550100"),
        ("Called", "+13035550100"),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
        ("StirVerstat", "TN-Validation-Passed-A"),
    ] {
        assert_eq!(r.param(k), Some(v), "{k}");
    }
    assert_eq!(
        call.next(),
        first,
        "an unanswered fetch is handed out again"
    );
}

#[test]
fn says_are_shown_and_the_end_of_the_document_hangs_up() {
    let mut call = answered("<Response><Say>Hello.</Say><Pause length=\"2\"/></Response>");
    let steps = until_blocked(&mut call);
    assert_eq!(steps[0], say("Hello."));
    assert_eq!(steps[1], Next::Show(Event::Pause(2)));
    assert_hangs_up(&steps, false);
    assert_eq!(call.next(), Next::Over);
}

#[test]
fn hangup_ends_the_call_before_the_verbs_after_it() {
    let mut call = answered("<Response><Hangup/><Say>Never said.</Say></Response>");
    let steps = until_blocked(&mut call);
    assert!(!steps.contains(&say("Never said.")), "{steps:?}");
    assert_hangs_up(&steps, false);
}

#[test]
fn no_status_callback_means_no_request_at_the_end() {
    let mut s = setup();
    s.status_callback = None;
    let mut call = Call::new(s);
    let _ = call.next();
    call.twiml("<Response/>").unwrap();
    let steps = until_blocked(&mut call);
    assert!(matches!(steps[0], Next::Show(Event::HungUp { .. })));
    assert_eq!(steps[1], Next::Over);
}

const MENU: &str = r#"<Response>
    <Gather action="/twilio/voice/number" numDigits="1"><Say>Press 1.</Say></Gather>
    <Say>We did not hear you.</Say>
</Response>"#;

#[test]
fn a_gather_says_its_prompts_then_asks() {
    let mut call = answered(MENU);
    let steps = until_blocked(&mut call);
    assert_eq!(steps[0], say("Press 1."));
    assert_eq!(
        steps[1],
        Next::Ask(Question::Keys {
            dtmf: true,
            speech: false,
            finish_on_key: Some('#'),
            num_digits: Some(1),
            timeout: 5
        })
    );
    assert_eq!(call.next(), steps[1], "the question stands until answered");
}

#[test]
fn digits_are_posted_to_the_action_without_the_finish_key() {
    let mut call =
        answered(r#"<Response><Gather action="number"><Say>Number?</Say></Gather></Response>"#);
    until_blocked(&mut call);
    call.answer(Reply::Line(" 1900862 # ".into())).unwrap();
    let steps = until_blocked(&mut call);
    let r = fetched(steps.last());
    assert_eq!(r.url.as_str(), "https://help.example.gov/twilio/number");
    assert_eq!(r.param("Digits"), Some("1900862"));
    assert_eq!(r.param("FinishedOnKey"), Some("#"));
    assert_eq!(r.param("CallStatus"), Some("in-progress"));
    assert_eq!(r.param("StirVerstat"), Some("TN-Validation-Passed-A"));
}

#[test]
fn num_digits_ends_the_input_and_later_keys_are_dropped() {
    let mut call = answered(MENU);
    until_blocked(&mut call);
    call.answer(Reply::Line("12#".into())).unwrap();
    let steps = until_blocked(&mut call);
    assert_eq!(steps[0], Next::Show(Event::KeysIgnored("2#".into())));
    let r = fetched(steps.last());
    assert_eq!(r.param("Digits"), Some("1"));
    assert_eq!(r.param("FinishedOnKey"), Some(""));
}

#[test]
fn keys_without_the_finish_key_are_sent_at_the_timeout() {
    let mut call = answered("<Response><Gather/></Response>");
    until_blocked(&mut call);
    call.answer(Reply::Line("3036582075".into())).unwrap();
    let steps = until_blocked(&mut call);
    let r = fetched(steps.last());
    assert_eq!(r.url.as_str(), VOICE, "the default action is the document");
    assert_eq!(r.param("Digits"), Some("3036582075"));
    assert_eq!(r.param("FinishedOnKey"), Some(""));
}

#[test]
fn silence_goes_on_to_the_next_verb() {
    for silence in ["", "   ", "#"] {
        let mut call = answered(MENU);
        until_blocked(&mut call);
        call.answer(Reply::Line(silence.into())).unwrap();
        let steps = until_blocked(&mut call);
        assert_eq!(steps[0], say("We did not hear you."), "{silence:?}");
        assert_hangs_up(&steps, false);
    }
}

#[test]
fn action_on_empty_result_posts_empty_digits() {
    let mut call = answered(
        r#"<Response><Gather action="again" actionOnEmptyResult="true"/><Say>Not said.</Say></Response>"#,
    );
    until_blocked(&mut call);
    call.answer(Reply::Line(String::new())).unwrap();
    let steps = until_blocked(&mut call);
    assert_eq!(steps.len(), 1, "{steps:?}");
    let r = fetched(steps.last());
    assert_eq!(r.url.path(), "/twilio/again");
    assert_eq!(r.param("Digits"), Some(""));
}

#[test]
fn a_wrong_key_is_refused_and_the_question_stands() {
    let mut call = answered(MENU);
    let asked = until_blocked(&mut call).pop();
    assert_eq!(
        call.answer(Reply::Line("1a".into())),
        Err(InputError::NotAKey('a'))
    );
    assert_eq!(Some(call.next()), asked);
    assert_eq!(
        call.answer(Reply::Line("say:one".into())),
        Err(InputError::NoSpeech)
    );
    call.answer(Reply::Line("1".into())).unwrap();
    assert!(matches!(call.next(), Next::Fetch(_)));
}

#[test]
fn speech_is_posted_as_speech_result() {
    let mut call = answered(r#"<Response><Gather input="speech" action="/heard"/></Response>"#);
    until_blocked(&mut call);
    assert_eq!(
        call.answer(Reply::Line("1".into())),
        Err(InputError::NoKeys)
    );
    call.answer(Reply::Line("say: reset my password".into()))
        .unwrap();
    let steps = until_blocked(&mut call);
    let r = fetched(steps.last());
    assert_eq!(r.param("SpeechResult"), Some("reset my password"));
    assert_eq!(r.param("Digits"), None);
}

#[test]
fn a_redirect_replaces_the_rest_of_the_document() {
    let mut call = answered(
        r#"<Response><Say>One.</Say><Redirect method="GET">/next?a=1</Redirect><Say>Gone.</Say></Response>"#,
    );
    let steps = until_blocked(&mut call);
    assert_eq!(steps[0], say("One."));
    let r = fetched(steps.last()).clone();
    assert_eq!(r.method, Method::Get);
    let (url, body) = r.wire();
    assert!(body.is_empty(), "GET posts nothing");
    assert!(
        url.as_str()
            .starts_with("https://help.example.gov/next?a=1&AccountSid=AC"),
        "{url}"
    );
    assert!(url.as_str().contains("&From=%2B13036582075"), "{url}");
    call.twiml("<Response><Say>Two.</Say></Response>").unwrap();
    let steps = until_blocked(&mut call);
    assert_eq!(steps[0], say("Two."));
    assert!(!steps.contains(&say("Gone.")));
}

#[test]
fn a_dial_reports_no_answer_to_its_action() {
    let mut call = answered(
        r#"<Response><Dial action="/after" timeout="20">+13035550199</Dial><Say>Skipped.</Say></Response>"#,
    );
    let steps = until_blocked(&mut call);
    assert_eq!(
        steps[0],
        Next::Show(Event::Dialing {
            targets: vec!["+13035550199".into()],
            answered: false
        })
    );
    let r = fetched(steps.last());
    assert_eq!(r.url.path(), "/after");
    assert_eq!(r.param("DialCallStatus"), Some("no-answer"));
    assert!(r.param("DialCallSid").is_some_and(|s| s.len() == 34));
}

#[test]
fn an_answered_dial_reports_completed_and_one_without_action_goes_on() {
    let mut s = setup();
    s.dial_answers = true;
    let mut call = Call::new(s.clone());
    let _ = call.next();
    call.twiml(
        r#"<Response><Dial action="/after"><Number>+13035550199</Number></Dial></Response>"#,
    )
    .unwrap();
    let steps = until_blocked(&mut call);
    let r = fetched(steps.last());
    assert_eq!(r.param("DialCallStatus"), Some("completed"));
    assert!(r.param("DialCallDuration").is_some());

    let mut call = Call::new(s);
    let _ = call.next();
    call.twiml("<Response><Dial>+13035550199</Dial><Say>After.</Say></Response>")
        .unwrap();
    let steps = until_blocked(&mut call);
    assert_eq!(steps[1], say("After."));
    assert_hangs_up(&steps, false);
}

const RECORD: &str = r#"<Response>
    <Record action="/recorded" maxLength="60" recordingStatusCallback="/rec-status"
            transcribeCallback="/transcribed"/>
    <Say>No message.</Say>
</Response>"#;

#[test]
fn a_recording_is_posted_with_its_callbacks() {
    let mut call = answered(RECORD);
    let steps = until_blocked(&mut call);
    assert_eq!(steps[0], Next::Show(Event::Beep));
    assert_eq!(steps[1], Next::Ask(Question::Recording { max_length: 60 }));
    call.answer(Reply::Line("please call me back at the office".into()))
        .unwrap();
    let steps = until_blocked(&mut call);
    let r = fetched(steps.last());
    assert_eq!(r.url.path(), "/recorded");
    let sid = r.param("RecordingSid").unwrap().to_string();
    assert!(sid.starts_with("RE") && sid.len() == 34, "{sid}");
    let url = r.param("RecordingUrl").unwrap().to_string();
    assert!(
        url.starts_with("https://api.twilio.example/") && url.ends_with(&sid),
        "{url}"
    );
    assert_eq!(r.param("RecordingDuration"), Some("2"));
    call.twiml("<Response><Say>Thanks.</Say><Hangup/></Response>")
        .unwrap();
    let steps = until_blocked(&mut call);
    let status = notified(steps.first());
    assert_eq!(status.url.path(), "/rec-status");
    assert_eq!(status.param("RecordingStatus"), Some("completed"));
    assert_eq!(status.param("RecordingSid"), Some(sid.as_str()));
    let t = notified(steps.get(1));
    assert_eq!(t.url.path(), "/transcribed");
    assert_eq!(
        t.param("TranscriptionText"),
        Some("please call me back at the office")
    );
    assert_eq!(steps[2], say("Thanks."));
    assert_hangs_up(&steps, false);
}

#[test]
fn an_empty_recording_goes_on_to_the_next_verb() {
    let mut call = answered(RECORD);
    until_blocked(&mut call);
    call.answer(Reply::Line(" ".into())).unwrap();
    let steps = until_blocked(&mut call);
    assert_eq!(steps[0], say("No message."));
    assert_hangs_up(&steps, false);
}

#[test]
fn the_caller_can_hang_up_at_a_question() {
    let mut call = answered(MENU);
    until_blocked(&mut call);
    call.answer(Reply::HangUp).unwrap();
    let steps = until_blocked(&mut call);
    assert!(!steps.contains(&say("We did not hear you.")));
    assert_hangs_up(&steps, true);
}

#[test]
fn unsupported_verbs_are_shown_and_skipped() {
    let mut call = answered("<Response><Enqueue>q</Enqueue><Say>Next.</Say></Response>");
    let steps = until_blocked(&mut call);
    assert_eq!(steps[0], Next::Show(Event::Skipped("Enqueue".into())));
    assert_eq!(steps[1], say("Next."));
}

#[test]
fn bad_twiml_names_the_request_it_answered() {
    let mut call = Call::new(setup());
    let _ = call.next();
    let e = call
        .twiml("<Response><Say>unclosed</Response>")
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "the answer to POST {VOICE} is not TwiML Twilio would follow: not XML"
        )),
        "{text}"
    );
}

#[test]
fn a_redirect_loop_is_stopped() {
    let mut call = Call::new(setup());
    let mut result = Ok(());
    for _ in 0..=LOOP_LIMIT {
        let Next::Fetch(_) = call.next() else {
            panic!("a redirect fetches")
        };
        result = call.twiml("<Response><Redirect>/twilio/voice</Redirect></Response>");
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(CallError::Loop(LOOP_LIMIT)));
}

#[test]
fn answering_resets_the_loop_count() {
    let mut call = Call::new(setup());
    for _ in 0..(3 * LOOP_LIMIT) {
        let Next::Fetch(_) = call.next() else {
            panic!("a gather answered fetches")
        };
        call.twiml("<Response><Gather/></Response>").unwrap();
        assert!(matches!(call.next(), Next::Ask(_)));
        call.answer(Reply::Line("1".into())).unwrap();
    }
}
