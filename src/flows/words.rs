//! The words of the phone line and the SMS replies: the `voice_…` and `sms_…` keys of the shared
//! catalogue (`templates/messages/{en,es}/catalogue.toml`, compiled in), under optional
//! overrides a city keeps beside its flows (`<flows dir>/prompts/en.toml`, `…/es.toml`: the
//! same keys, other words; read at start-up, so no recompiling).
//!
//! Dynamic values are named slots written `{name}` in the text, filled by the adapter with
//! [`Words::render`]; the closed list is [`Slot`]. A text may use only those slots, and spoken
//! (`voice_…`) text is plain words, never markup: both are checked here for every text.

use std::collections::HashMap;
use std::path::Path;

use super::check::Problem;
use crate::domain::language::Lang;
use crate::messages::Catalog;

/// A value the adapter supplies when a prompt is said or sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    /// The city's name.
    City,
    /// The number keyed in, read back digit by digit ("1, 9, 0, 0").
    Digits,
    /// Where a secret went, masked: "the mobile ending in 2075", "p•••@example.com".
    Destination,
    /// The lifetime of the secret being sent or read, in minutes.
    Minutes,
    /// The temporary password, in groups and spelled phonetically (callback calls only).
    Secret,
    /// When staff answer the phone.
    OfficeHours,
    /// The help line's own phone number.
    LineNumber,
    /// Spelling a secret aloud (`voice_spell_…` only): one letter of it, and its word in the
    /// spelling alphabet.
    Letter,
    Word,
}

impl Slot {
    pub const ALL: [Slot; 9] = [
        Slot::City,
        Slot::Digits,
        Slot::Destination,
        Slot::Minutes,
        Slot::Secret,
        Slot::OfficeHours,
        Slot::LineNumber,
        Slot::Letter,
        Slot::Word,
    ];

    /// The name written between braces.
    pub fn name(self) -> &'static str {
        match self {
            Slot::City => "city",
            Slot::Digits => "digits",
            Slot::Destination => "destination",
            Slot::Minutes => "minutes",
            Slot::Secret => "secret",
            Slot::OfficeHours => "office_hours",
            Slot::LineNumber => "line_number",
            Slot::Letter => "letter",
            Slot::Word => "word",
        }
    }

    pub fn from_name(name: &str) -> Option<Slot> {
        Slot::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Slot values for one rendering. A slot without a value renders as nothing.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    values: Vec<(Slot, String)>,
}

impl Slots {
    pub fn new() -> Slots {
        Slots::default()
    }

    /// Adds (or replaces) a value.
    pub fn with(mut self, slot: Slot, value: impl Into<String>) -> Slots {
        self.set(slot, value);
        self
    }

    pub fn set(&mut self, slot: Slot, value: impl Into<String>) {
        let value = value.into();
        match self.values.iter_mut().find(|(s, _)| *s == slot) {
            Some(entry) => entry.1 = value,
            None => self.values.push((slot, value)),
        }
    }

    pub fn get(&self, slot: Slot) -> Option<&str> {
        self.values
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, v)| v.as_str())
    }
}

/// The `{name}`s a text uses, in order (known or not).
pub fn slots_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// `text` with each known `{slot}` replaced by its value (nothing when it has none); anything
/// else is left as written.
pub fn fill(text: &str, slots: &Slots) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Some((close, Slot::from_name(&after[..close])?)))
        {
            Some((close, slot)) => {
                out.push_str(slots.get(slot).unwrap_or(""));
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The phone line's words in every language.
#[derive(Debug, Clone, PartialEq)]
pub struct Words {
    texts: HashMap<Lang, HashMap<String, String>>,
    /// Files the overrides came from, for problems and the start-up log.
    pub overrides: Vec<String>,
}

/// Words the channel adapters say themselves rather than a flow's state: how a destination
/// is introduced ("your mobile phone ending in …"), the apology when a step fails, and office
/// hours when none are configured. Checked like every other word.
pub const ADAPTER_WORDS: [&str; 11] = [
    "voice_dest_mobile",
    "voice_dest_email",
    "voice_dest_phone",
    "voice_spell_upper",
    "voice_spell_lower",
    "voice_spell_dash",
    "voice_spell_alphabet",
    "voice_trouble",
    "voice_hours_unset",
    "sms_trouble",
    "sms_hours_unset",
];

/// The words letters are spelled with, A to Z.
pub const SPELLING_ALPHABET: &str = "voice_spell_alphabet";

/// Only keys with these prefixes belong to the phone line.
pub const PREFIXES: [&str; 2] = ["voice_", "sms_"];

fn is_line_key(key: &str) -> bool {
    PREFIXES.iter().any(|p| key.starts_with(p))
}

impl Words {
    /// The compiled-in catalogue's `voice_…` and `sms_…` keys.
    pub fn builtin() -> Words {
        let texts = Lang::ALL
            .into_iter()
            .map(|lang| {
                let catalog = Catalog::get(lang);
                let map = catalog
                    .keys()
                    .filter(|k| is_line_key(k))
                    .filter_map(|k| Some((k.to_string(), catalog.lookup(k)?.to_string())))
                    .collect();
                (lang, map)
            })
            .collect();
        Words {
            texts,
            overrides: Vec::new(),
        }
    }

    /// Words given outright, for tests: (language, key, text).
    pub fn from_texts(entries: &[(Lang, &str, &str)]) -> Words {
        let mut texts: HashMap<Lang, HashMap<String, String>> = HashMap::new();
        for (lang, key, text) in entries {
            texts
                .entry(*lang)
                .or_default()
                .insert(key.to_string(), text.to_string());
        }
        Words {
            texts,
            overrides: Vec::new(),
        }
    }

    /// The built-in words under `<dir>/prompts/{en,es}.toml` where those files exist. An
    /// override may only reword a key the catalogue has.
    pub fn with_overrides_from(dir: &Path) -> Result<Words, Vec<Problem>> {
        let mut words = Words::builtin();
        let mut problems = Vec::new();
        for lang in Lang::ALL {
            let path = dir.join("prompts").join(format!("{}.toml", lang.code()));
            let label = path.display().to_string();
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    problems.push(Problem::file(&label, format!("cannot read: {e}")));
                    continue;
                }
            };
            let table: HashMap<String, String> = match toml::from_str(&text) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(Problem::file(
                        &label,
                        format!("not a table of key = \"words\": {}", e.message().trim()),
                    ));
                    continue;
                }
            };
            let map = words.texts.entry(lang).or_default();
            let mut keys: Vec<String> = table.keys().cloned().collect();
            keys.sort();
            for key in keys {
                let text = table.get(&key).cloned().unwrap_or_default();
                if !map.contains_key(&key) {
                    problems.push(Problem::file(
                        &label,
                        format!("'{key}' is not a voice_ or sms_ key of the catalogue"),
                    ));
                    continue;
                }
                for reason in text_mistakes(&key, &text) {
                    problems.push(Problem::file(&label, reason));
                }
                map.insert(key, text);
            }
            words.overrides.push(label);
        }
        if problems.is_empty() {
            Ok(words)
        } else {
            Err(problems)
        }
    }

    /// The text of `key` in `lang`, if there is one.
    pub fn text(&self, lang: Lang, key: &str) -> Option<&str> {
        self.texts.get(&lang)?.get(key).map(String::as_str)
    }

    /// The text of `key` in `lang` with its slots filled; the key itself when missing (flows
    /// are checked, so only a programming error gets there).
    pub fn render(&self, lang: Lang, key: &str, slots: &Slots) -> String {
        match self.text(lang, key) {
            Some(text) => fill(text, slots),
            None => key.to_string(),
        }
    }

    /// Every key in any language.
    pub fn keys(&self) -> impl Iterator<Item = (Lang, &str)> {
        self.texts
            .iter()
            .flat_map(|(lang, m)| m.keys().map(move |k| (*lang, k.as_str())))
    }

    /// Problems with the texts themselves: an unknown slot, markup in spoken words.
    pub fn text_problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for lang in Lang::ALL {
            let label = format!("templates/messages/{}/catalogue.toml", lang.code());
            let Some(map) = self.texts.get(&lang) else {
                continue;
            };
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                for reason in text_mistakes(key, &map[key]) {
                    out.push(Problem::file(&label, reason));
                }
            }
        }
        out
    }
}

/// What is wrong with one text: unknown slots, markup in spoken words.
fn text_mistakes(key: &str, text: &str) -> Vec<String> {
    let mut out: Vec<String> = slots_in(text)
        .into_iter()
        .filter(|name| Slot::from_name(name).is_none())
        .map(|name| format!("'{key}' uses unknown slot {{{name}}}"))
        .collect();
    if key == SPELLING_ALPHABET && text.split_whitespace().count() != 26 {
        out.push(format!(
            "'{key}' must be 26 words, one for each letter from A to Z"
        ));
    }
    if key.starts_with("voice_") && (text.contains('<') || text.contains('>')) {
        out.push(format!(
            "'{key}' is spoken and must be plain words, without markup"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fill_and_unknown_braces_stay() {
        let slots = Slots::new()
            .with(Slot::Digits, "1, 9")
            .with(Slot::Minutes, "10");
        assert_eq!(
            fill("You entered {digits}; {minutes} min {nope} {", &slots),
            "You entered 1, 9; 10 min {nope} {"
        );
        assert_eq!(fill("{city}!", &slots), "!");
        assert_eq!(slots_in("a {x} b {minutes} {"), vec!["x", "minutes"]);
        let mut s = Slots::new().with(Slot::City, "A");
        s.set(Slot::City, "B");
        assert_eq!(s.get(Slot::City), Some("B"));
    }

    #[test]
    fn builtin_words_are_plain_and_use_known_slots_only() {
        let words = Words::builtin();
        assert!(words.text(Lang::En, "voice_main_menu").is_some());
        assert!(words.text(Lang::En, "login_title").is_none(), "portal key");
        assert_eq!(words.text_problems(), Vec::new());
    }

    #[test]
    fn overrides_reword_known_keys_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("prompts")).unwrap();
        std::fs::write(
            dir.path().join("prompts/es.toml"),
            "voice_goodbye = \"Adiós, {city}.\"\n",
        )
        .unwrap();
        let words = Words::with_overrides_from(dir.path()).unwrap();
        let slots = Slots::new().with(Slot::City, "Westminster");
        assert_eq!(
            words.render(Lang::Es, "voice_goodbye", &slots),
            "Adiós, Westminster."
        );
        assert_ne!(
            words.text(Lang::En, "voice_goodbye"),
            Some("Adiós, {city}.")
        );
        assert_eq!(words.overrides.len(), 1);

        std::fs::write(
            dir.path().join("prompts/en.toml"),
            "voice_goodby = \"Bye\"\nvoice_goodbye = \"<speak>Bye {when}</speak>\"\n",
        )
        .unwrap();
        let problems = Words::with_overrides_from(dir.path()).unwrap_err();
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].contains("en.toml: 'voice_goodby'"), "{lines:#?}");
        assert!(lines[1].contains("en.toml: 'voice_goodbye' uses unknown slot {when}"));
        assert!(lines[2].contains("en.toml: 'voice_goodbye' is spoken and must be plain words"));
    }
}
