//! The languages Helpline speaks to contractors in. Every channel (portal pages, emails, text
//! messages, and later the phone) picks its wording by this one type, and the store keeps a
//! contractor's choice as its two-letter code.

use serde::{Deserialize, Serialize};

/// A supported language. Stored and serialised as its code, `"en"` or `"es"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Es,
}

impl Lang {
    /// Every supported language, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The two-letter code (`"en"`, `"es"`): what the store and the `?lang=` parameter hold.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language of a code or language tag (`"es"`, `"ES-mx"`), if supported.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().get(..2) {
            Some("en") => Some(Lang::En),
            Some("es") => Some(Lang::Es),
            _ => None,
        }
    }

    /// The language of a stored code. Anything unreadable (an empty column, a language no
    /// longer offered) falls back to English rather than failing a message.
    pub fn from_stored(code: &str) -> Lang {
        Lang::from_code(code).unwrap_or_default()
    }

    /// The first supported language of an Accept-Language header, by quality. `q=0` means
    /// "not acceptable" (RFC 9110, 12.4.2): such a language is never chosen.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("").trim();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if q.is_nan() || q <= 0.0 {
                continue; // refused, or no readable preference
            }
            if let Some(lang) = Lang::from_code(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for lang in Lang::ALL {
            assert_eq!(Lang::from_code(lang.code()), Some(lang));
            assert_eq!(Lang::from_stored(lang.code()), lang);
        }
        assert_eq!(Lang::from_code(" ES-mx "), Some(Lang::Es));
        assert_eq!(Lang::from_code("fr"), None);
        assert_eq!(Lang::from_code(""), None);
    }

    #[test]
    fn stored_codes_default_to_english() {
        assert_eq!(Lang::from_stored("es"), Lang::Es);
        assert_eq!(Lang::from_stored(""), Lang::En);
        assert_eq!(Lang::from_stored("fr"), Lang::En);
        assert_eq!(Lang::default(), Lang::En);
    }

    #[test]
    fn serialises_as_its_code() {
        assert_eq!(serde_json::to_string(&Lang::Es).unwrap(), "\"es\"");
        assert_eq!(serde_json::to_string(&Lang::En).unwrap(), "\"en\"");
        assert_eq!(serde_json::from_str::<Lang>("\"es\"").unwrap(), Lang::Es);
        assert!(serde_json::from_str::<Lang>("\"fr\"").is_err());
        #[derive(Deserialize)]
        struct Row {
            lang: Lang,
        }
        assert_eq!(
            toml::from_str::<Row>("lang = \"en\"").unwrap().lang,
            Lang::En
        );
    }

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(
            Lang::from_accept_language("es-MX,es;q=0.9,en;q=0.8"),
            Some(Lang::Es)
        );
        assert_eq!(
            Lang::from_accept_language("fr-FR, en;q=0.5, es;q=0.7"),
            Some(Lang::Es)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
    }

    #[test]
    fn q_zero_means_not_acceptable() {
        assert_eq!(
            Lang::from_accept_language("es;q=0, en;q=0.1"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("es;q=0.0, de"), None);
        assert_eq!(
            Lang::from_accept_language("en;q=0.000,es;q=0.001"),
            Some(Lang::Es)
        );
        assert_eq!(Lang::from_accept_language("es; q=0"), None);
        assert_eq!(Lang::from_accept_language(""), None);
    }
}
