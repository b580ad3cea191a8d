//! One small bad flow per kind of mistake; each problem names the file and the state.

use super::*;

/// A valid voice flow the tests below break one way at a time.
const GOOD: &str = r#"
[flow]
name = "t"
entries = { call = "hello", callback = "bye" }

[states.hello]
prompt = "voice_hello"
input = { kind = "menu", keys = ["1", "2"] }
on = { "1" = "ask", "2" = "bye", exhausted = "bye" }

[states.ask]
prompt = "voice_ask"
input = { kind = "digits", min = 3, max = 10 }
action = "send_sms"
on = { sent = "sent", not_sent = "bye", exhausted = "bye" }

[states.sent]
prompt = "voice_sent"
end = true

[states.bye]
prompt = "voice_bye"
end = true
"#;

/// `GOOD` with `from` replaced by `to` (which must occur).
fn broken(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from}");
    GOOD.replacen(from, to, 1)
}

/// Asserts that exactly the given problems are found, each by a fragment of its line.
#[track_caller]
fn assert_problems(lines: &[String], expected: &[(&str, &str)]) {
    for (state, fragment) in expected {
        let head = if state.is_empty() {
            "bad.toml: ".to_string()
        } else {
            format!("bad.toml: state '{state}': ")
        };
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&head) && l.contains(fragment)),
            "no «{head}…{fragment}» in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
}

#[test]
fn the_base_flow_is_good() {
    assert_eq!(voice_problems(GOOD), Vec::<String>::new());
}

#[test]
fn unknown_prompt_key() {
    let lines = voice_problems(&broken("voice_ask\"", "voice_aks\""));
    assert_problems(&lines, &[("ask", "unknown prompt 'voice_aks'")]);
}

#[test]
fn prompt_in_one_language_only() {
    let lines = voice_problems(&broken("\"voice_ask\"", "\"voice_english_only\""));
    assert_problems(
        &lines,
        &[("ask", "prompt 'voice_english_only' is missing in es")],
    );
}

#[test]
fn unreachable_state() {
    let text = format!("{GOOD}\n[states.orphan]\nprompt = \"voice_bye\"\nend = true\n");
    assert_problems(
        &voice_problems(&text),
        &[("orphan", "unreachable: no entry leads here")],
    );
}

#[test]
fn dead_end() {
    let lines = voice_problems(&broken(
        "prompt = \"voice_sent\"\nend = true",
        "prompt = \"voice_sent\"",
    ));
    assert_problems(&lines, &[("sent", "dead end")]);
}

#[test]
fn missing_outcome_of_an_action() {
    let lines = voice_problems(&broken("not_sent = \"bye\", ", ""));
    assert_problems(&lines, &[("ask", "missing outcome 'not_sent'")]);
}

#[test]
fn missing_outcome_of_a_menu_key_and_exhausted() {
    let lines = voice_problems(&broken(
        "\"2\" = \"bye\", exhausted = \"bye\"",
        "\"2\" = \"bye\"",
    ));
    assert_problems(&lines, &[("hello", "missing outcome 'exhausted'")]);
    let lines = voice_problems(&broken("\"1\" = \"ask\", ", ""));
    assert_problems(
        &lines,
        &[
            ("hello", "missing outcome '1'"),
            ("ask", "unreachable"),
            ("sent", "unreachable"),
        ],
    );
}

#[test]
fn routing_both_retried_outcomes_makes_exhausted_optional() {
    let text = broken(
        "exhausted = \"bye\" }\n\n[states.ask]",
        "invalid = \"bye\", timeout = \"bye\" }\n\n[states.ask]",
    );
    assert_eq!(voice_problems(&text), Vec::<String>::new());
}

#[test]
fn an_outcome_that_cannot_happen() {
    let lines = voice_problems(&broken(
        "sent = \"sent\"",
        "sent = \"sent\", verifed = \"bye\"",
    ));
    assert_problems(
        &lines,
        &[(
            "ask",
            "outcome 'verifed' cannot happen here (possible: exhausted, invalid, not_sent, sent, timeout)",
        )],
    );
}

#[test]
fn unknown_target_state() {
    let lines = voice_problems(&broken("not_sent = \"bye\"", "not_sent = \"by\""));
    assert_problems(
        &lines,
        &[(
            "ask",
            "outcome 'not_sent' leads to state 'by', which does not exist",
        )],
    );
}

#[test]
fn unknown_action_is_named_with_its_state() {
    let lines = voice_problems(&broken("\"send_sms\"", "\"send_password\""));
    assert_problems(&lines, &[("ask", "unknown action 'send_password'")]);
    assert!(
        lines[0].contains("verify_phone"),
        "lists the actions: {}",
        lines[0]
    );
}

#[test]
fn an_action_of_the_other_channel() {
    let lines = voice_problems(&broken(
        "action = \"send_sms\"\non = { sent = \"sent\", not_sent = \"bye\"",
        "action = \"sms_reset\"\non = { sent = \"sent\", not_sent = \"bye\", refused = \"bye\"",
    ));
    assert_problems(
        &lines,
        &[("ask", "action 'sms_reset' belongs to the SMS flow")],
    );
}

#[test]
fn an_action_on_a_menu() {
    let lines = voice_problems(&broken(
        "input = { kind = \"menu\", keys = [\"1\", \"2\"] }",
        "input = { kind = \"menu\", keys = [\"1\", \"2\"] }\naction = \"ticket\"",
    ));
    assert!(
        lines.iter().any(|l| l.starts_with(
            "bad.toml: state 'hello': action 'ticket' runs on input accepted as 'ok'"
        )),
        "{lines:#?}"
    );
}

#[test]
fn input_and_end() {
    let lines = voice_problems(&broken(
        "prompt = \"voice_sent\"\nend = true",
        "prompt = \"voice_sent\"\ninput = { kind = \"yes_no\" }\nend = true",
    ));
    assert_problems(&lines, &[("sent", "takes input and ends the conversation")]);
}

#[test]
fn digits_min_above_max() {
    let lines = voice_problems(&broken("min = 3, max = 10", "min = 11, max = 10"));
    assert_problems(&lines, &[("ask", "digits min 11 is more than max 10")]);
}

#[test]
fn digits_max_too_large() {
    let lines = voice_problems(&broken("min = 3, max = 10", "min = 3, max = 200"));
    assert_problems(&lines, &[("ask", "digits max must be 1 to 30, not 200")]);
}

#[test]
fn bad_finish_key() {
    let lines = voice_problems(&broken("max = 10 }", "max = 10, finish = \"5\" }"));
    assert_problems(&lines, &[("ask", "bad finish key '5'")]);
}

#[test]
fn entry_pointing_nowhere_and_a_missing_entry() {
    let lines = voice_problems(&broken(
        "entries = { call = \"hello\", callback = \"bye\" }",
        "entries = { call = \"helo\" }",
    ));
    assert_problems(
        &lines,
        &[
            ("", "[flow] entries needs 'callback'"),
            (
                "",
                "entry 'call' leads to state 'helo', which does not exist",
            ),
            ("hello", "unreachable"),
            ("ask", "unreachable"),
            ("sent", "unreachable"),
            ("bye", "unreachable"),
        ],
    );
}

#[test]
fn a_secret_sent_without_its_lifetime() {
    let lines = voice_problems(&broken("prompt = \"voice_sent\"", "prompt = \"voice_bye\""));
    assert_problems(&lines, &[("ask", "must say how long it lasts")]);
}

#[test]
fn a_loop_without_an_end() {
    let text = format!(
        "{}\n[states.loop]\nprompt = \"voice_menu\"\ninput = {{ kind = \"menu\", keys = [\"1\"] }}\non = {{ \"1\" = \"loop\", exhausted = \"loop\" }}\n",
        GOOD.replacen("\"2\" = \"bye\"", "\"2\" = \"loop\"", 1)
    );
    assert_problems(
        &voice_problems(&text),
        &[("loop", "no way from here ever ends")],
    );
}

#[test]
fn voice_input_without_a_prompt_and_sms_input_in_a_call() {
    let lines = voice_problems(&broken("prompt = \"voice_hello\"\n", ""));
    assert_problems(
        &lines,
        &[("hello", "waits for input without saying anything")],
    );
    let lines = voice_problems(&broken(
        "input = { kind = \"menu\", keys = [\"1\", \"2\"] }\non = { \"1\" = \"ask\", \"2\" = \"bye\", exhausted = \"bye\" }",
        "input = { kind = \"keyword\", keywords = { a = [\"A\"] } }\non = { a = \"ask\", exhausted = \"bye\" }",
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("state 'hello': input 'keyword' is not available on voice")),
        "{lines:#?}"
    );
}

#[test]
fn menu_keys_must_be_single_digits_listed_once() {
    let lines = voice_problems(&broken(
        "keys = [\"1\", \"2\"] }",
        "keys = [\"1\", \"2\", \"2\", \"12\"], say = { \"7\" = \"voice_menu\" } }",
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("state 'hello': menu key '2' is listed twice"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("state 'hello': menu key '12' is not one of the keys"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("state 'hello': menu key '7' is described but not in keys"))
    );
}

#[test]
fn an_unknown_field_names_its_state_and_spares_its_successors() {
    let lines = voice_problems(&broken("prompt = \"voice_ask\"", "promt = \"voice_ask\""));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("bad.toml: state 'ask': unknown field `promt`"),
        "{lines:#?}"
    );
}

#[test]
fn an_unreadable_file_says_where() {
    let lines = voice_problems("[flow]\nname = \"t\"\n[states.a\nprompt = 1\n");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].starts_with("bad.toml: not a readable flow: line 3:"),
        "{lines:#?}"
    );
    let lines = voice_problems("[states.a]\nend = true\n");
    assert!(lines[0].contains("missing field `flow`"), "{lines:#?}");
}

#[test]
fn unknown_language_and_contact() {
    let lines = voice_problems(&broken(
        "keys = [\"1\", \"2\"] }",
        "keys = [\"1\", \"2\"], needs = { \"1\" = \"fax\" } }\nlanguage = \"fr\"",
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("state 'hello': unknown language 'fr'")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("state 'hello': menu key '1' needs unknown contact 'fax'")),
        "{lines:#?}"
    );
}

#[test]
fn max_visits_needs_too_many() {
    let lines = voice_problems(&broken(
        "prompt = \"voice_ask\"\n",
        "prompt = \"voice_ask\"\nmax_visits = 2\n",
    ));
    assert_problems(&lines, &[("ask", "missing outcome 'too_many'")]);
}

#[test]
fn sms_keywords_are_one_word_in_one_group() {
    let words = Words::from_texts(&[(Lang::En, "sms_hi", "Hi"), (Lang::Es, "sms_hi", "Hola")]);
    let text = r#"
[flow]
name = "t"
entries = { text = "text" }
[states.text]
input = { kind = "keyword", keywords = { a = ["GO", "two words"], b = ["go"], next = ["X"] } }
on = { a = "hi", b = "hi", next = "hi", invalid = "hi" }
[states.hi]
prompt = "sms_hi"
end = true
"#;
    let lines = problems_with(FlowKind::Sms, text, &words);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("state 'text': keyword 'GO' is in both 'a' and 'b'")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("keyword 'TWO WORDS' of 'a' must be one word")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("keyword group 'next' is named like an outcome")),
        "{lines:#?}"
    );
}
