//! Twilio: the REST API credentials and number for outgoing calls and texts, whether voice
//! and SMS are on (by default, whenever an account is set), and the daily caps on texts and
//! calls out (the guard against SMS pumping and toll fraud).

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::sources::Layers;

/// This section's variables and the keys they set.
pub(super) const ENV: &[(&str, &str)] = &[
    ("HELPLINE_TWILIO_ACCOUNT_SID", "twilio.account_sid"),
    ("HELPLINE_TWILIO_AUTH_TOKEN", "twilio.auth_token"),
    ("HELPLINE_TWILIO_FROM", "twilio.from"),
    ("HELPLINE_TWILIO_API_BASE", "twilio.api_base"),
    (
        "HELPLINE_TWILIO_MAX_PER_DESTINATION_PER_DAY",
        "twilio.max_per_destination_per_day",
    ),
    ("HELPLINE_TWILIO_MAX_PER_DAY", "twilio.max_per_day"),
];

/// How many texts and calls Helpline places in a day: to one number, and in all. Texts and
/// calls count together; a message is counted once however often its delivery is retried.
/// A "day" is 24 hours from the first message counted in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendCaps {
    pub per_destination_per_day: u32,
    pub per_day: u32,
}

impl Default for SendCaps {
    fn default() -> Self {
        Self {
            per_destination_per_day: 10,
            per_day: 500,
        }
    }
}

/// Twilio's REST API and webhooks.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    pub from: Option<String>,
    pub api_base: Url,
    pub voice_enabled: bool,
    pub sms_enabled: bool,
    /// The daily caps on texts and calls out.
    pub caps: SendCaps,
}

/// `[twilio]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTwilio {
    account_sid: Option<String>,
    auth_token: Option<String>,
    from: Option<String>,
    api_base: Option<String>,
    voice_enabled: Option<bool>,
    sms_enabled: Option<bool>,
    max_per_destination_per_day: Option<u32>,
    max_per_day: Option<u32>,
}

/// A cap: its variable or the file's value, a whole number of at least 1.
fn cap(c: &mut Layers<'_>, key: &str, file: Option<u32>, default: u32) -> u32 {
    let Some(text) = c.pick(key, file.map(|n| n.to_string())) else {
        return default;
    };
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => n,
        _ => {
            c.problem(key, format!("'{text}' is not a whole number of at least 1"));
            default
        }
    }
}

pub(super) fn read(c: &mut Layers<'_>, raw: RawTwilio) -> Option<TwilioSettings> {
    let sid = c.pick("twilio.account_sid", raw.account_sid);
    let token = c
        .pick("twilio.auth_token", raw.auth_token)
        .map(SecretString::from);
    let from = c.pick("twilio.from", raw.from);
    let api_text = c
        .pick("twilio.api_base", raw.api_base)
        .unwrap_or_else(|| "https://api.twilio.com".into());
    let api_base = match Url::parse(&api_text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        _ => {
            c.problem(
                "twilio.api_base",
                format!("'{api_text}' is not an http(s) URL"),
            );
            None
        }
    };
    let voice_enabled = raw.voice_enabled.unwrap_or(sid.is_some());
    let sms_enabled = raw.sms_enabled.unwrap_or(sid.is_some());
    for (enabled, channel) in [(voice_enabled, "voice"), (sms_enabled, "SMS")] {
        if !enabled {
            continue;
        }
        let required = [
            ("twilio.account_sid", sid.is_some()),
            ("twilio.auth_token", token.is_some()),
            ("twilio.from", from.is_some()),
        ];
        for (key, _) in required.iter().filter(|(_, set)| !set) {
            c.problem(key, format!("is required while {channel} is enabled"));
        }
    }
    let from = c.phone("twilio.from", from);
    let d = SendCaps::default();
    let caps = SendCaps {
        per_destination_per_day: cap(
            c,
            "twilio.max_per_destination_per_day",
            raw.max_per_destination_per_day,
            d.per_destination_per_day,
        ),
        per_day: cap(c, "twilio.max_per_day", raw.max_per_day, d.per_day),
    };
    Some(TwilioSettings {
        account_sid: sid,
        auth_token: token,
        from,
        api_base: api_base?,
        voice_enabled,
        sms_enabled,
        caps,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load_env, load_toml};

    #[test]
    fn an_account_turns_voice_and_sms_on_and_needs_the_rest() {
        let errs = load_env(&[("HELPLINE_TWILIO_ACCOUNT_SID", "AC1")]).unwrap_err();
        let lines: Vec<_> = errs.0.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                "twilio.auth_token (HELPLINE_TWILIO_AUTH_TOKEN): is required while voice is enabled",
                "twilio.from (HELPLINE_TWILIO_FROM): is required while voice is enabled",
                "twilio.auth_token (HELPLINE_TWILIO_AUTH_TOKEN): is required while SMS is enabled",
                "twilio.from (HELPLINE_TWILIO_FROM): is required while SMS is enabled",
            ]
        );
        let s = load_env(&[
            ("HELPLINE_TWILIO_ACCOUNT_SID", "AC1"),
            ("HELPLINE_TWILIO_AUTH_TOKEN", "tok"),
            ("HELPLINE_TWILIO_FROM", "(303) 555-0100"),
        ])
        .unwrap();
        assert!(s.twilio.voice_enabled && s.twilio.sms_enabled);
        assert_eq!(s.twilio.from.as_deref(), Some("+13035550100"));
    }

    #[test]
    fn off_by_default_and_the_api_base_must_be_http() {
        let s = load_env(&[]).unwrap();
        assert!(!s.twilio.voice_enabled && !s.twilio.sms_enabled);
        assert_eq!(s.twilio.api_base.as_str(), "https://api.twilio.com/");
        let errs = load_toml("[twilio]\napi_base = \"ftp://x\"\n", &[]).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(errs.0[0].key, "twilio.api_base");
    }

    #[test]
    fn caps_default_to_ten_a_number_and_five_hundred_a_day_and_the_variable_wins() {
        let s = load_env(&[]).unwrap();
        assert_eq!(s.twilio.caps.per_destination_per_day, 10);
        assert_eq!(s.twilio.caps.per_day, 500);
        let s = load_toml(
            "[twilio]\nmax_per_destination_per_day = 3\nmax_per_day = 40\n",
            &[("HELPLINE_TWILIO_MAX_PER_DAY", "70")],
        )
        .unwrap();
        assert_eq!(s.twilio.caps.per_destination_per_day, 3);
        assert_eq!(s.twilio.caps.per_day, 70);
        let errs = load_env(&[
            ("HELPLINE_TWILIO_MAX_PER_DESTINATION_PER_DAY", "0"),
            ("HELPLINE_TWILIO_MAX_PER_DAY", "lots"),
        ])
        .unwrap_err();
        let lines: Vec<_> = errs.0.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                "twilio.max_per_destination_per_day (HELPLINE_TWILIO_MAX_PER_DESTINATION_PER_DAY): \
                 '0' is not a whole number of at least 1",
                "twilio.max_per_day (HELPLINE_TWILIO_MAX_PER_DAY): 'lots' is not a whole number \
                 of at least 1",
            ]
        );
    }
}
