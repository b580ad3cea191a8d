//! Tests of the flow engine: every kind of mistake in a flow file (`mistakes`), the driver on
//! the shipped flows and on anything at all (`driver`), and the shipped flows and their words
//! (`shipped`).

mod driver;
mod mistakes;
mod shipped;

use super::*;
use crate::domain::language::Lang;

/// The problems of a voice flow `text` read as `bad.toml`, one line each.
fn problems_with(kind: FlowKind, text: &str, words: &Words) -> Vec<String> {
    match Flow::parse(kind, "bad.toml", text, words) {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(ToString::to_string).collect(),
    }
}

fn voice_problems(text: &str) -> Vec<String> {
    problems_with(FlowKind::Voice, text, &test_words())
}

/// A few words, in both languages.
fn test_words() -> Words {
    let mut entries = Vec::new();
    for key in [
        "voice_hello",
        "voice_menu",
        "voice_bye",
        "voice_sent",
        "voice_ask",
    ] {
        for lang in Lang::ALL {
            let text = if key == "voice_sent" {
                "Sent; it lasts {minutes} minutes."
            } else {
                "Words."
            };
            entries.push((lang, key, text));
        }
    }
    entries.push((Lang::En, "voice_english_only", "Only English."));
    Words::from_texts(&entries)
}

fn shipped() -> Flows {
    Flows::embedded().unwrap_or_else(|e| panic!("the shipped flows have problems:\n{e}"))
}
