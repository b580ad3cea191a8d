//! The shared language catalogue: every short text a channel shows or says (the portal's
//! pages and field errors today; the phone line's prompts and the staff queue's words use the
//! same catalogue), in English and Spanish, from `templates/messages/{en,es}/catalogue.toml`
//! (compiled in). Longer messages (emails, texts) are askama templates beside it. Unit tests
//! fail when a key exists in one language only, or when a page template uses a key that no
//! language has; should one slip through anyway, the reader gets the English text (or nothing),
//! never the key's name, and the log says which key once.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use crate::domain::language::Lang;

/// Every error code a field may get (the catalogues word each as `err_<code>`).
pub const ERROR_CODES: &[&str] = &[
    "required",
    "too_short",
    "too_long",
    "no_digit",
    "no_lower",
    "no_upper",
    "no_special",
    "common",
    "contains_username",
    "contains_license",
    "contains_city",
    "mismatch",
    "reuses_temporary",
    "unknown_question",
    "answer_too_short",
    "answers_differ",
    "invalid_phone",
    "invalid_email",
    "invalid_date",
    "expired_date",
    "too_long_field",
    "try_later",
    "control_chars",
];

/// One language's wording.
#[derive(Debug)]
pub struct Catalog {
    lang: Lang,
    texts: HashMap<String, String>,
}

impl Catalog {
    pub fn get(lang: Lang) -> &'static Catalog {
        static EN: OnceLock<Catalog> = OnceLock::new();
        static ES: OnceLock<Catalog> = OnceLock::new();
        match lang {
            Lang::En => EN.get_or_init(|| {
                Catalog::parse(
                    Lang::En,
                    include_str!("../../templates/messages/en/catalogue.toml"),
                )
            }),
            Lang::Es => ES.get_or_init(|| {
                Catalog::parse(
                    Lang::Es,
                    include_str!("../../templates/messages/es/catalogue.toml"),
                )
            }),
        }
    }

    fn parse(lang: Lang, text: &str) -> Catalog {
        // The catalogs are compiled in and checked by a unit test; an unreadable one would
        // show its keys instead of failing the request.
        let texts = toml::from_str::<HashMap<String, String>>(text).unwrap_or_default();
        Catalog { lang, texts }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The text for `key`. A key this language lacks gets the English text, and a key no
    /// language has gets nothing: never the key's name, which means nothing to a contractor.
    /// Either is logged once per key and language.
    pub fn t(&self, key: &str) -> &str {
        if let Some(text) = self.texts.get(key) {
            return text;
        }
        let english = Catalog::get(Lang::En).texts.get(key);
        missing(self.lang, key, english.is_some());
        english.map_or("", String::as_str)
    }

    /// The text for `key`, if this language has one.
    pub fn lookup(&self, key: &str) -> Option<&str> {
        self.texts.get(key).map(String::as_str)
    }

    /// The sentence for a field error code (as `t`, when a language lacks it).
    pub fn error(&self, code: &str) -> String {
        self.t(&format!("err_{code}")).to_string()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.texts.keys().map(String::as_str)
    }
}

/// Logs a missing key the first time it is asked for in `lang`. Keys come from the code, not
/// from requests, but the memory of what was logged is capped all the same.
fn missing(lang: Lang, key: &str, english: bool) {
    const REMEMBERED: usize = 256;
    static SEEN: OnceLock<Mutex<HashSet<(Lang, String)>>> = OnceLock::new();
    let first = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .map(|mut seen| seen.len() < REMEMBERED && seen.insert((lang, key.to_string())))
        .unwrap_or(false);
    if first {
        if english {
            tracing::warn!(
                key,
                lang = lang.code(),
                "catalogue key missing; showing English"
            );
        } else {
            tracing::error!(
                key,
                lang = lang.code(),
                "catalogue key missing in every language"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_catalogs_have_the_same_keys() {
        let en: BTreeSet<_> = Catalog::get(Lang::En).keys().collect();
        let es: BTreeSet<_> = Catalog::get(Lang::Es).keys().collect();
        assert!(en.len() > 100, "{}", en.len());
        assert_eq!(
            en.symmetric_difference(&es).collect::<Vec<_>>(),
            Vec::<&&str>::new()
        );
    }

    /// The keys a template names: each `.t("key")`, and each string given to a macro in the
    /// place of a parameter that the macro passes to `.t(...)`.
    fn keys_used_by_templates(templates: &[(String, String)]) -> BTreeSet<String> {
        fn quoted_after<'a>(text: &'a str, opening: &str) -> Vec<&'a str> {
            text.match_indices(opening)
                .filter_map(|(at, _)| {
                    let rest = &text[at + opening.len()..];
                    Some(&rest[..rest.find('"')?])
                })
                .collect()
        }
        let mut keys: BTreeSet<String> = BTreeSet::new();
        // (macro name, position of a parameter it looks up)
        let mut looked_up: Vec<(String, usize)> = Vec::new();
        for (_, text) in templates {
            keys.extend(quoted_after(text, ".t(\"").into_iter().map(String::from));
            for (at, _) in text.match_indices("{% macro ") {
                let head = &text[at + "{% macro ".len()..];
                let (Some(open), Some(close)) = (head.find('('), head.find(')')) else {
                    continue;
                };
                let body = &head[..head.find("{% endmacro").unwrap_or(head.len())];
                for (i, param) in head[open + 1..close].split(',').enumerate() {
                    let param = param.split('=').next().unwrap_or("").trim();
                    if body.contains(&format!(".t({param})")) {
                        looked_up.push((head[..open].trim().to_string(), i));
                    }
                }
            }
        }
        assert!(!looked_up.is_empty(), "the macros' lookups were not found");
        for (_, text) in templates {
            for (name, position) in &looked_up {
                for (at, _) in text.match_indices(&format!("{name}(")) {
                    let args = &text[at + name.len() + 1..];
                    let args = &args[..args.find(") %}").unwrap_or(0)];
                    if let Some(arg) = args.split(',').nth(*position)
                        && let Some(key) = arg.trim().strip_prefix('"')
                    {
                        keys.insert(key.trim_end_matches('"').to_string());
                    }
                }
            }
        }
        keys
    }

    fn portal_templates() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/portal");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "html") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path.display().to_string(), text));
            }
        }
        found
    }

    #[test]
    fn every_key_a_page_template_uses_exists_in_both_languages() {
        let keys = keys_used_by_templates(&portal_templates());
        // The macros' arguments are found too: the field labels and a refusal's reason.
        for expected in [
            "sign_in",
            "new_password",
            "login_refused",
            "contractor_or_license",
        ] {
            assert!(keys.contains(expected), "{expected} not found in {keys:?}");
        }
        for lang in Lang::ALL {
            let missing: Vec<_> = keys
                .iter()
                .filter(|k| Catalog::get(lang).lookup(k).is_none())
                .collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }

    #[test]
    fn the_template_scan_finds_a_key_that_is_missing() {
        let page = r#"{% import "portal/macros.html" as m %}
<h1>{{ p.tr.t("sign_in") }}</h1>
{% call m::field(p, errs, "x", "no_such_label", "text", "", true, "off") %}{% endcall %}"#;
        let macros = r#"{% macro field(p, errs, name, label, kind, value, required,
                                        autocomplete, describedby="") %}
<label>{{ p.tr.t(label) }}</label>{% endmacro %}"#;
        let keys = keys_used_by_templates(&[
            ("page".into(), page.into()),
            ("macros".into(), macros.into()),
        ]);
        assert!(
            keys.contains("sign_in") && keys.contains("no_such_label"),
            "{keys:?}"
        );
    }

    #[test]
    fn a_missing_key_shows_english_or_nothing_never_its_name() {
        let partial = Catalog::parse(Lang::Es, "sign_in = \"Entrar\"\n");
        assert_eq!(partial.t("sign_in"), "Entrar");
        let english = Catalog::get(Lang::En).t("sign_out");
        assert!(!english.is_empty() && english != "sign_out", "{english}");
        assert_eq!(partial.t("sign_out"), english, "falls back to English");
        assert_eq!(partial.t("no_such_key_anywhere"), "");
        assert_eq!(partial.error("no_such_code"), "");
        assert_eq!(Catalog::get(Lang::Es).t("no_such_key_anywhere"), "");
    }

    #[test]
    fn every_error_code_is_worded() {
        for &code in ERROR_CODES {
            for lang in [Lang::En, Lang::Es] {
                let key = format!("err_{code}");
                assert!(
                    Catalog::get(lang).lookup(&key).is_some(),
                    "{key} in {lang:?}"
                );
            }
        }
    }
}
