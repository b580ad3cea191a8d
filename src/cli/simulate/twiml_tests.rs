//! TwiML read as Twilio reads it: defaults, URL resolution, SSML, and what is refused.

use super::*;

fn base() -> Url {
    Url::parse("https://help.example.gov/twilio/voice/step?n=1").unwrap()
}

fn one(xml: &str) -> Verb {
    let verbs = parse(&format!("<Response>{xml}</Response>"), &base()).unwrap();
    assert_eq!(verbs.len(), 1, "{verbs:?}");
    verbs.into_iter().next().unwrap()
}

fn err(xml: &str) -> String {
    parse(xml, &base()).unwrap_err().to_string()
}

#[test]
fn a_document_becomes_its_verbs_in_order() {
    let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
        <Response>
          <Say language="es-MX">Hola &amp; bienvenido</Say>
          <Pause length="2"/>
          <Play>https://cdn.example/tone.mp3</Play>
          <Hangup/>
        </Response>"#;
    assert_eq!(
        parse(doc, &base()).unwrap(),
        vec![
            Verb::Say {
                text: "Hola & bienvenido".into(),
                language: Some("es-MX".into())
            },
            Verb::Pause { seconds: 2 },
            Verb::Play {
                url: "https://cdn.example/tone.mp3".into()
            },
            Verb::Hangup,
        ]
    );
    assert_eq!(parse("<Response/>", &base()).unwrap(), vec![]);
}

#[test]
fn say_reads_ssml_as_spoken_words() {
    let v = one(
        r#"<Say>Your code is <say-as interpret-as="characters">AB</say-as>,<break time="1s"/>
        <sub alias="Building Division">BD</sub>.</Say>"#,
    );
    assert_eq!(
        v,
        Verb::Say {
            text: "Your code is AB, Building Division.".into(),
            language: None
        }
    );
}

#[test]
fn gather_takes_twilios_defaults() {
    let Verb::Gather(g) = one("<Gather><Say>Press 1.</Say><Pause/></Gather>") else {
        panic!("not a gather")
    };
    assert_eq!(g.action, base(), "the document's own URL");
    assert_eq!(g.method, Method::Post);
    assert!(g.dtmf && !g.speech);
    assert_eq!(g.finish_on_key, Some('#'));
    assert_eq!(g.num_digits, None);
    assert_eq!(g.timeout, 5);
    assert!(!g.action_on_empty_result);
    assert_eq!(g.prompts.len(), 2);
}

#[test]
fn gather_reads_every_attribute_and_resolves_its_action() {
    let Verb::Gather(g) = one(
        r#"<Gather action="next?x=a&amp;y=b" method="get" input="speech dtmf" finishOnKey="*"
             numDigits="4" timeout="9" actionOnEmptyResult="true"/>"#,
    ) else {
        panic!("not a gather")
    };
    assert_eq!(
        g.action.as_str(),
        "https://help.example.gov/twilio/voice/next?x=a&y=b"
    );
    assert_eq!(g.method, Method::Get);
    assert!(g.dtmf && g.speech);
    assert_eq!(g.finish_on_key, Some('*'));
    assert_eq!(g.num_digits, Some(4));
    assert_eq!(g.timeout, 9);
    assert!(g.action_on_empty_result);
    let Verb::Gather(g) = one(r#"<Gather finishOnKey="" action="/abs"/>"#) else {
        panic!("not a gather")
    };
    assert_eq!(g.finish_on_key, None);
    assert_eq!(g.action.as_str(), "https://help.example.gov/abs");
}

#[test]
fn urls_resolve_as_a_browser_would() {
    for (target, want) in [
        ("menu", "https://help.example.gov/twilio/voice/menu"),
        ("/twilio/voice", "https://help.example.gov/twilio/voice"),
        ("?n=2", "https://help.example.gov/twilio/voice/step?n=2"),
        ("../sms", "https://help.example.gov/twilio/sms"),
        ("http://other.example/x", "http://other.example/x"),
    ] {
        let Verb::Redirect { url, method } = one(&format!("<Redirect>{target}</Redirect>")) else {
            panic!("not a redirect")
        };
        assert_eq!(url.as_str(), want, "{target}");
        assert_eq!(method, Method::Post);
    }
}

#[test]
fn dial_collects_its_numbers_and_nouns() {
    let Verb::Dial(d) = one(
        r#"<Dial action="/after" timeout="20"><Number>+13035550199</Number><Client>desk</Client></Dial>"#,
    ) else {
        panic!("not a dial")
    };
    assert_eq!(d.targets, ["+13035550199", "client:desk"]);
    assert_eq!(
        d.action.map(String::from).as_deref(),
        Some("https://help.example.gov/after")
    );
    assert_eq!(d.timeout, 20);
    let Verb::Dial(d) = one("<Dial> +13035550199 </Dial>") else {
        panic!("not a dial")
    };
    assert_eq!(d.targets, ["+13035550199"]);
    assert_eq!(d.action, None);
}

#[test]
fn record_reads_its_callbacks() {
    let Verb::Record(r) = one(r#"<Record action="done" maxLength="60" playBeep="false"
             recordingStatusCallback="/rec" transcribeCallback="/tr"/>"#)
    else {
        panic!("not a record")
    };
    assert_eq!(r.action.path(), "/twilio/voice/done");
    assert_eq!(r.max_length, 60);
    assert!(!r.play_beep);
    assert_eq!(r.recording_status_callback.unwrap().path(), "/rec");
    assert_eq!(r.transcribe_callback.unwrap().path(), "/tr");
    let Verb::Record(r) = one("<Record/>") else {
        panic!("not a record")
    };
    assert_eq!(r.action, base());
    assert_eq!(r.max_length, 3600);
    assert!(r.play_beep);
}

#[test]
fn unknown_verbs_are_kept_to_be_skipped() {
    assert_eq!(
        one("<Enqueue>support</Enqueue>"),
        Verb::Unsupported("Enqueue".into())
    );
    assert_eq!(
        one(r#"<Reject reason="busy"/>"#),
        Verb::Reject {
            reason: "busy".into()
        }
    );
}

#[test]
fn what_twilio_would_refuse_is_named() {
    assert!(err("<Response><Say>unclosed</Response>").starts_with("not XML: "));
    assert!(err("").starts_with("not XML: "));
    assert_eq!(err("<html/>"), "the root element is <html>, not <Response>");
    assert_eq!(
        err("<Response><Gather><Dial>+13035550199</Dial></Gather></Response>"),
        "<Gather> cannot contain <Dial>"
    );
    assert_eq!(
        err(r#"<Response><Gather numDigits="four"/></Response>"#),
        r#"<Gather numDigits="four">: not a whole number"#
    );
    assert_eq!(
        err(r#"<Response><Gather finishOnKey="*1"/></Response>"#),
        r#"<Gather finishOnKey="*1">: must be one key: 0-9, * or #"#
    );
    assert_eq!(
        err(r#"<Response><Gather input="keys"/></Response>"#),
        r#"<Gather input="keys">: must be dtmf, speech or both"#
    );
    assert_eq!(
        err(r#"<Response><Redirect method="PUT">/x</Redirect></Response>"#),
        r#"<Redirect method="PUT">: Twilio requests with GET or POST only"#
    );
    assert_eq!(
        err("<Response><Redirect> </Redirect></Response>"),
        "<Redirect> has an empty URL"
    );
    assert_eq!(
        err("<Response><Dial/></Response>"),
        "<Dial> has an empty number"
    );
    assert_eq!(
        err(r#"<Response><Record playBeep="yes"/></Response>"#),
        r#"<Record playBeep="yes">: not true or false"#
    );
}

#[test]
fn a_dtd_is_refused() {
    let doc = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><Response><Say>&a;</Say></Response>"#;
    assert!(err(doc).starts_with("not XML: "), "{}", err(doc));
}

#[test]
fn a_messaging_answer_yields_its_texts_in_order() {
    let answer = r#"<?xml version="1.0" encoding="UTF-8"?><Response>
        <Message>First &amp; foremost</Message>
        <Message><Body>Second</Body></Message>
      </Response>"#;
    assert_eq!(
        messages(answer).expect("messages"),
        vec!["First & foremost".to_string(), "Second".to_string()]
    );
    assert!(messages("<Response/>").expect("empty").is_empty());
    assert!(matches!(
        messages("<Say>hi</Say>"),
        Err(TwimlError::NotResponse(_))
    ));
    assert!(matches!(messages("not xml"), Err(TwimlError::NotXml(_))));
}
