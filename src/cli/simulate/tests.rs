//! The driver's pure parts: routing under `--send-to`, scripts, and what the terminal shows.

use super::*;

#[test]
fn requests_under_the_public_url_go_to_send_to() {
    let to = Url::parse("http://127.0.0.1:8080/").unwrap();
    let prefix = "https://help.example.gov/line";
    for (url, want) in [
        (
            "https://help.example.gov/line/twilio/voice?x=1",
            "http://127.0.0.1:8080/twilio/voice?x=1",
        ),
        (
            "https://help.example.gov/lines/x",
            "https://help.example.gov/lines/x",
        ),
        ("https://elsewhere.example/x", "https://elsewhere.example/x"),
    ] {
        let url = Url::parse(url).unwrap();
        assert_eq!(route(&url, prefix, Some(&to)).as_str(), want);
        assert_eq!(route(&url, prefix, None), url);
    }
}

#[test]
fn an_error_answer_is_told_in_one_line() {
    assert_eq!(
        gist("<!doctype html>\n<html><head><title>Page not\n found · Demo</title>").as_deref(),
        Some("Page not found · Demo")
    );
    assert_eq!(
        gist("\n  wrong signature  \nmore").as_deref(),
        Some("wrong signature")
    );
    assert_eq!(gist("  \n"), None);
}

#[test]
fn the_prefix_drops_query_and_trailing_slash() {
    let u = Url::parse("https://help.example.gov/line/?a=1#f").unwrap();
    assert_eq!(url_prefix(&u), "https://help.example.gov/line");
    let u = Url::parse("http://127.0.0.1:8080").unwrap();
    assert_eq!(url_prefix(&u), "http://127.0.0.1:8080");
}

#[test]
fn a_script_answers_in_order_then_runs_out() {
    let keys = Question::Keys {
        dtmf: true,
        speech: false,
        finish_on_key: Some('#'),
        num_digits: None,
        timeout: 5,
    };
    let mut script = Script::new("1, ,1900862#,hangup");
    let mut out = Vec::new();
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(script.answer(&keys, &mut out).unwrap());
    }
    assert_eq!(
        answers,
        [
            Reply::Line("1".into()),
            Reply::Line(String::new()),
            Reply::Line("1900862#".into()),
            Reply::HangUp
        ]
    );
    let Err(Failure::Other(reason)) = script.answer(&keys, &mut out) else {
        panic!("a fifth answer")
    };
    assert_eq!(
        reason,
        "the script ran out: a <Gather> asks for answer 5 and the script has 4"
    );
    let shown = String::from_utf8(out).unwrap();
    assert_eq!(
        shown, "⌨  1\n⌨  (silence)\n⌨  1900862#\n⌨  hangup\n",
        "a script shows its answers"
    );
}

#[test]
fn a_refused_script_answer_fails_the_call() {
    let mut script = Script::new("12a");
    let keys = Question::Keys {
        dtmf: true,
        speech: false,
        finish_on_key: Some('#'),
        num_digits: None,
        timeout: 5,
    };
    let mut out = Vec::new();
    script.answer(&keys, &mut out).unwrap();
    let Err(Failure::Other(reason)) = script.refused(InputError::NotAKey('a'), &mut out) else {
        panic!("a script cannot be asked again")
    };
    assert!(reason.starts_with("script answer 1 ('12a'): 'a' is not a phone key"));
}

#[test]
fn events_read_as_a_call_sounds() {
    let say = |l: Option<&str>| Event::Say {
        text: "Hola".into(),
        language: l.map(str::to_string),
    };
    assert_eq!(describe(&say(None)), "🔊 Hola");
    assert_eq!(describe(&say(Some("en-US"))), "🔊 Hola");
    assert_eq!(describe(&say(Some("es-MX"))), "🔊 [es-MX] Hola");
    assert_eq!(describe(&Event::Pause(3)), "...");
    assert_eq!(describe(&Event::Pause(0)), ".");
    assert_eq!(
        describe(&Event::Dialing {
            targets: vec!["+13035550199".into()],
            answered: false
        }),
        "☎  dialing +13035550199… no answer"
    );
    assert_eq!(
        describe(&Event::HungUp {
            by_caller: false,
            seconds: 4
        }),
        "📴 the line hangs up after 4 s"
    );
}

#[test]
fn prompts_say_how_to_answer() {
    let q = |num_digits, finish_on_key, speech| Question::Keys {
        dtmf: true,
        speech,
        finish_on_key,
        num_digits,
        timeout: 5,
    };
    assert_eq!(
        prompt(&q(Some(1), Some('#'), false)),
        "⌨  press a key; Enter alone = 5 s of silence"
    );
    assert_eq!(
        prompt(&q(None, Some('#'), true)),
        "⌨  keys, end with #; say:words to speak; Enter alone = 5 s of silence"
    );
    assert_eq!(
        prompt(&Question::Recording { max_length: 60 }),
        "🎙 recording (up to 60 s): type a message, or Enter for none"
    );
}
