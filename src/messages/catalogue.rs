//! The shared language catalogue: every short text a channel shows or says (the portal's
//! pages and field errors today; the phone line's prompts and the staff queue's words use the
//! same catalogue), in English and Spanish, from `templates/messages/{en,es}/catalogue.toml`
//! (compiled in). Longer messages (emails, texts) are askama templates beside it. A unit test
//! fails when a key exists in one language only.

use std::collections::HashMap;
use std::sync::OnceLock;

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

    /// The text for `key`, or the key itself in brackets (tests look for those).
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.texts.get(key).map_or(key, String::as_str)
    }

    /// The text for `key`, if this language has one.
    pub fn lookup(&self, key: &str) -> Option<&str> {
        self.texts.get(key).map(String::as_str)
    }

    /// The sentence for a field error code.
    pub fn error(&self, code: &str) -> String {
        self.texts
            .get(&format!("err_{code}"))
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.texts.keys().map(String::as_str)
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

    #[test]
    fn every_error_code_is_worded() {
        for &code in ERROR_CODES {
            for lang in [Lang::En, Lang::Es] {
                assert_ne!(Catalog::get(lang).error(code), code, "{code} in {lang:?}");
            }
        }
    }
}
