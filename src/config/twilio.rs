//! Twilio: the REST API credentials and number for outgoing calls and texts, and whether voice
//! and SMS are on (by default, whenever an account is set).

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
];

/// Twilio's REST API and webhooks.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    pub from: Option<String>,
    pub api_base: Url,
    pub voice_enabled: bool,
    pub sms_enabled: bool,
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
    Some(TwilioSettings {
        account_sid: sid,
        auth_token: token,
        from,
        api_base: api_base?,
        voice_enabled,
        sms_enabled,
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
}
