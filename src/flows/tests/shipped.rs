//! The shipped flows and their words: they load from the directory and from the binary alike,
//! every phone-line word is used, texts fit two GSM-7 segments, the drawings are well formed.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::messages::{SmsEncoding, sms_segments};

fn repo_flows() -> Flows {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("flows");
    Flows::load(&dir, true).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_directory_and_the_built_in_copies_are_the_same_flows() {
    let from_dir = repo_flows();
    let built_in = shipped();
    assert!(matches!(from_dir.source(), Source::Directory(_)));
    assert_eq!(built_in.source(), &Source::Embedded);
    for kind in FlowKind::ALL {
        let (a, b) = (from_dir.flow(kind), built_in.flow(kind));
        assert_eq!(a.states, b.states, "{kind:?}");
        assert_eq!(a.entries, b.entries);
        assert!(
            a.file.ends_with(&format!("flows/{}", kind.file_name())),
            "{}",
            a.file
        );
        assert_eq!(b.file, format!("{} (built in)", kind.file_name()));
    }
    assert!(
        built_in.summary().contains("built into helpline"),
        "{}",
        built_in.summary()
    );
}

#[test]
fn a_missing_directory_falls_back_only_when_not_named() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("nope");
    assert_eq!(
        Flows::load(&absent, false).unwrap().source(),
        &Source::Embedded
    );
    let err = Flows::load(&absent, true).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert!(
        err.to_string()
            .ends_with("nope: the flows directory does not exist"),
        "{err}"
    );
    // A directory without its flow files names each.
    let err = Flows::load(dir.path(), true).unwrap_err();
    let lines: Vec<String> = err.0.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].contains("voice.toml: cannot read"), "{lines:#?}");
    assert!(lines[1].contains("sms.toml: cannot read"), "{lines:#?}");
}

#[test]
fn every_phone_line_word_is_used_by_a_flow() {
    let flows = shipped();
    let mut used: BTreeSet<String> = crate::flows::ADAPTER_WORDS
        .iter()
        .map(|w| w.to_string())
        .collect();
    for kind in FlowKind::ALL {
        let flow = flows.flow(kind);
        used.extend(flow.reprompt_invalid.iter().cloned());
        used.extend(flow.reprompt_timeout.iter().cloned());
        for state in flow.states.values() {
            used.extend(state.prompt.iter().cloned());
            if let Input::Menu(m) = &state.input {
                used.extend(m.say.values().cloned());
            }
        }
    }
    let defined: BTreeSet<String> = flows.words().keys().map(|(_, k)| k.to_string()).collect();
    assert_eq!(
        defined.difference(&used).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "words no flow says"
    );
    assert_eq!(used, defined);
}

fn sample_slots() -> Slots {
    Slots::new()
        .with(Slot::City, "West Hollywood")
        .with(Slot::Minutes, "10")
        .with(Slot::LineNumber, "(303) 555-0199")
        .with(Slot::OfficeHours, "Mon-Fri 8am-5pm")
        .with(Slot::Destination, "the mobile ending in 2075")
        .with(Slot::Digits, "1, 9, 0, 0, 8, 6, 2")
}

#[test]
fn every_text_reply_fits_two_gsm7_segments() {
    let flows = shipped();
    let words = flows.words();
    let slots = sample_slots();
    let mut checked = 0;
    for lang in Lang::ALL {
        for (l, key) in words.keys() {
            if l != lang || !key.starts_with("sms_") {
                continue;
            }
            let text = words.render(lang, key, &slots);
            let (encoding, segments) = sms_segments(&text);
            assert_eq!(encoding, SmsEncoding::Gsm7, "{key} ({lang:?}): {text}");
            assert!(
                segments <= 2,
                "{key} ({lang:?}) takes {segments} segments: {text}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 8);
    // The instructions go out in both languages at once.
    let both: Vec<String> = Lang::ALL
        .into_iter()
        .map(|l| words.render(l, "sms_instructions", &slots))
        .collect();
    assert_eq!(sms_segments(&both.join("\n")), (SmsEncoding::Gsm7, 2));
}

#[test]
fn spoken_words_are_plain_and_name_known_slots_only() {
    let words = shipped().words().clone();
    assert_eq!(words.text_problems(), Vec::new());
    for (lang, key) in words.keys() {
        let text = words.text(lang, key).unwrap_or_default();
        assert!(!text.trim().is_empty(), "{key} {lang:?}");
        if key.starts_with("voice_") {
            assert!(!text.contains('&') && !text.contains('*'), "{key}: {text}");
        }
    }
}

#[test]
fn every_prompt_after_a_secret_states_its_lifetime() {
    let flows = shipped();
    for key in [
        "voice_sms_sent",
        "voice_email_sent",
        "voice_callback_placed",
        "voice_callback_secret",
        "sms_reset_reply",
    ] {
        for lang in Lang::ALL {
            let text = flows.words().text(lang, key).unwrap_or_default();
            assert!(text.contains("{minutes}"), "{key} ({lang:?}): {text}");
        }
    }
}

#[test]
fn the_drawings_name_every_state() {
    let flows = shipped();
    let all = [flows.voice(), flows.sms()];
    let mermaid = graph::draw(&all, graph::Format::Mermaid);
    let dot = graph::draw(&all, graph::Format::Dot);
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    assert!(dot.starts_with("digraph flows {"), "{dot}");
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    assert_eq!(mermaid.matches("subgraph").count(), 2);
    assert_eq!(mermaid.lines().filter(|l| l.trim() == "end").count(), 2);
    for flow in all {
        for name in flow.states.keys() {
            assert!(
                mermaid.contains(&format!("\"{name}<br/>"))
                    || mermaid.contains(&format!("\"{name}\"")),
                "{name}"
            );
            assert!(
                dot.contains(&format!("label=\"{name}\\n"))
                    || dot.contains(&format!("label=\"{name}\"")),
                "{name}"
            );
        }
    }
    // An edge per outcome.
    let edges: usize = all
        .iter()
        .map(|f| f.states.values().map(|s| s.on.len()).sum::<usize>() + f.entries.len())
        .sum();
    assert_eq!(dot.matches(" -> ").count(), edges);
    assert_eq!(
        mermaid.matches(" --> ").count() + mermaid.matches(" -->|").count(),
        edges
    );
}
