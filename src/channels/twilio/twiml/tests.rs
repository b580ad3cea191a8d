use proptest::prelude::*;

use super::*;

const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

fn doc(body: &str) -> String {
    format!("{DECL}<Response>{body}</Response>")
}

#[test]
fn say_in_each_language_and_with_a_voice() {
    let r = VoiceResponse::new()
        .say(Say::new(Lang::En, "Welcome to the help line."))
        .say(Say::new(Lang::Es, "Bienvenido.").voice("Polly.Mia"))
        .say(Say::plain("Goodbye."));
    assert_eq!(
        r.to_xml(),
        doc(concat!(
            r#"<Say language="en-US">Welcome to the help line.</Say>"#,
            r#"<Say language="es-MX" voice="Polly.Mia">Bienvenido.</Say>"#,
            r#"<Say>Goodbye.</Say>"#,
        ))
    );
}

#[test]
fn gather_with_every_attribute_and_nested_prompts() {
    let g = Gather::new("/twilio/voice/step?s=number&n=2")
        .input(GatherInput::DtmfSpeech)
        .num_digits(10)
        .finish_on_key("#")
        .timeout(6)
        .language(Lang::Es)
        .say(Say::new(Lang::Es, "Marque su número."))
        .pause(1)
        .say(Say::new(Lang::Es, "Y luego la tecla numeral."));
    assert_eq!(
        VoiceResponse::new().gather(g).to_xml(),
        doc(concat!(
            r##"<Gather input="dtmf speech" numDigits="10" finishOnKey="#" timeout="6" "##,
            r#"action="/twilio/voice/step?s=number&amp;n=2" method="POST" language="es-MX">"#,
            r#"<Say language="es-MX">Marque su número.</Say><Pause length="1"/>"#,
            r#"<Say language="es-MX">Y luego la tecla numeral.</Say></Gather>"#,
        ))
    );
}

#[test]
fn a_bare_gather_is_an_empty_element_and_can_disable_the_finish_key() {
    let g = Gather::new("/twilio/voice/menu").finish_on_key("");
    assert_eq!(
        VoiceResponse::new().gather(g).to_xml(),
        doc(r#"<Gather input="dtmf" finishOnKey="" action="/twilio/voice/menu" method="POST"/>"#)
    );
}

#[test]
fn pause_redirect_and_hangup() {
    let r = VoiceResponse::new()
        .pause(2)
        .redirect("/twilio/voice/menu")
        .hangup();
    assert_eq!(
        r.to_xml(),
        doc(concat!(
            r#"<Pause length="2"/>"#,
            r#"<Redirect method="POST">/twilio/voice/menu</Redirect>"#,
            r#"<Hangup/>"#,
        ))
    );
}

#[test]
fn dial_with_and_without_an_action() {
    let r = VoiceResponse::new()
        .dial(
            Dial::number("+13035550199")
                .timeout(20)
                .action("/twilio/voice/dialed"),
        )
        .dial(Dial::number("+13035550199"));
    assert_eq!(
        r.to_xml(),
        doc(concat!(
            r#"<Dial timeout="20" action="/twilio/voice/dialed" method="POST">"#,
            r#"<Number>+13035550199</Number></Dial>"#,
            r#"<Dial><Number>+13035550199</Number></Dial>"#,
        ))
    );
}

#[test]
fn record_with_every_attribute_and_bare() {
    let r = VoiceResponse::new()
        .record(
            Record::new()
                .max_length(120)
                .action("/twilio/voice/recorded")
                .transcribe_callback("https://h.example/twilio/voice/transcription")
                .recording_status_callback("https://h.example/twilio/voice/recording")
                .play_beep(true),
        )
        .record(Record::new().transcribe(false).play_beep(false))
        .record(Record::new());
    assert_eq!(
        r.to_xml(),
        doc(concat!(
            r#"<Record maxLength="120" action="/twilio/voice/recorded" method="POST" "#,
            r#"transcribe="true" "#,
            r#"transcribeCallback="https://h.example/twilio/voice/transcription" "#,
            r#"recordingStatusCallback="https://h.example/twilio/voice/recording" "#,
            r#"playBeep="true"/>"#,
            r#"<Record transcribe="false" playBeep="false"/>"#,
            r#"<Record/>"#,
        ))
    );
}

#[test]
fn messaging_answers_with_none_one_or_several_messages() {
    assert_eq!(MessagingResponse::new().to_xml(), doc(""));
    assert_eq!(
        MessagingResponse::new()
            .message("Reply RESET and your contractor number.")
            .to_xml(),
        doc("<Message>Reply RESET and your contractor number.</Message>")
    );
    assert_eq!(
        MessagingResponse::new().message("a").message("b").to_xml(),
        doc("<Message>a</Message><Message>b</Message>")
    );
}

#[test]
fn an_empty_voice_response_is_still_a_document() {
    assert_eq!(VoiceResponse::new().to_xml(), doc(""));
}

#[test]
fn hostile_text_is_spoken_not_obeyed() {
    let hostile = "</Say><Dial>+19005550100</Dial><Say>";
    let xml = VoiceResponse::new()
        .say(Say::new(Lang::En, hostile))
        .to_xml();
    assert_eq!(
        xml,
        doc(concat!(
            r#"<Say language="en-US">&lt;/Say&gt;&lt;Dial&gt;+19005550100"#,
            r#"&lt;/Dial&gt;&lt;Say&gt;</Say>"#,
        ))
    );
    assert!(!xml.contains("<Dial>"), "{xml}");
    let sms = MessagingResponse::new()
        .message("</Message><Redirect>https://evil.example</Redirect>")
        .to_xml();
    assert!(!sms.contains("<Redirect>"), "{sms}");
}

#[test]
fn hostile_attribute_values_cannot_add_attributes() {
    let xml = VoiceResponse::new()
        .redirect("/x\" method=\"GET")
        .gather(Gather::new("/a' b=\"c").finish_on_key("\"><Hangup/>"))
        .say(Say::plain("x").voice("alice\" language=\"fr-FR"))
        .to_xml();
    assert_eq!(
        xml,
        doc(concat!(
            r#"<Redirect method="POST">/x&quot; method=&quot;GET</Redirect>"#,
            r#"<Gather input="dtmf" finishOnKey="&quot;&gt;&lt;Hangup/&gt;" "#,
            r#"action="/a&apos; b=&quot;c" method="POST"/>"#,
            r#"<Say voice="alice&quot; language=&quot;fr-FR">x</Say>"#,
        ))
    );
}

#[test]
fn escape_covers_the_five_entities_whitespace_and_controls() {
    assert_eq!(escape(r#"<>&"'"#), "&lt;&gt;&amp;&quot;&apos;");
    assert_eq!(escape("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
    assert_eq!(escape("a\u{0}b\u{1}c\u{8}d\u{b}e\u{c}f\u{1f}g"), "abcdefg");
    assert_eq!(escape("\u{FFFE}\u{FFFF}x"), "x");
    assert_eq!(
        escape("&amp;"),
        "&amp;amp;",
        "already-escaped text is escaped again"
    );
    assert_eq!(
        escape("ñ é 日本 😀 \u{7f} \u{85}"),
        "ñ é 日本 😀 \u{7f} \u{85}",
        "characters XML allows pass through"
    );
    assert_eq!(escape(""), "");
}

#[test]
fn twiml_is_served_as_uncached_xml() {
    let r = VoiceResponse::new().hangup().into_response();
    assert_eq!(r.status(), axum::http::StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "text/xml; charset=utf-8");
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let r = MessagingResponse::new().into_response();
    assert_eq!(r.headers()[header::CONTENT_TYPE], "text/xml; charset=utf-8");
}

/// The inverse of [`escape`] for its five entities and three character references.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (c, len) = [
            ("&amp;", '&'),
            ("&lt;", '<'),
            ("&gt;", '>'),
            ("&quot;", '"'),
            ("&apos;", '\''),
            ("&#9;", '\t'),
            ("&#10;", '\n'),
            ("&#13;", '\r'),
        ]
        .iter()
        .find(|(e, _)| rest.starts_with(e))
        .map(|(e, c)| (*c, e.len()))?;
        out.push(c);
        rest = &rest[len..];
    }
    out.push_str(rest);
    Some(out)
}

fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

proptest! {
    #[test]
    fn escaped_text_has_no_markup_and_round_trips(s in any::<String>()) {
        let e = escape(&s);
        prop_assert!(!e.contains(['<', '>', '"', '\'', '\t', '\n', '\r']), "{e:?}");
        prop_assert!(e.chars().all(allowed_in_xml), "{e:?}");
        let back = unescape(&e);
        let kept: String = s.chars().filter(|c| allowed_in_xml(*c)).collect();
        prop_assert_eq!(back, Some(kept));
    }

    #[test]
    fn a_say_holds_exactly_one_element_whatever_its_text(s in "[<>&\"'/a-zA-Z \\x00-\\x1f]{0,40}") {
        let xml = VoiceResponse::new().say(Say::plain(s)).to_xml();
        prop_assert_eq!(xml.matches('<').count(), 5, "{}", xml);
        let head = format!("{DECL}<Response><Say>");
        prop_assert!(xml.starts_with(&head), "{}", xml);
        prop_assert!(xml.ends_with("</Say></Response>"));
    }
}
