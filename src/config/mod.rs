//! Settings: `helpline.toml` layered with the `HELPLINE_*` environment variables of the public
//! contract, checked once at start-up. Each value is, in order of precedence: its variable (when
//! set and not blank), the file (named by `--config`, else `HELPLINE_CONFIG`, else
//! `./helpline.toml` when present), the built-in default. Every problem is collected and
//! reported on its own line, so the person installing Helpline fixes them all in one pass.
//! Secrets are `SecretString`s: their `Debug` output is redacted and they are never echoed back
//! in a problem.
//!
//! One file per section of the file, each owning its struct, defaults, variables and checks:
//! `server` (bind, public_url, trusted_proxies), `database`, `city`, `mail`, `twilio`, `staff`,
//! `guard`, `outbox`, `timing` (lifetimes and response times), `flows` (where the phone line's
//! flows are); `sources` reads the file and
//! the variables for all of them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

mod city;
mod database;
mod flows;
mod guard;
mod mail;
mod outbox;
mod server;
mod sources;
mod staff;
mod timing;
mod twilio;

pub use city::{CitySettings, UsernameKind};
pub use database::DatabaseUrl;
pub use flows::{DEFAULT_FLOWS_DIR, FlowsDir};
pub use guard::GuardSettings;
pub use mail::MailSettings;
pub use outbox::OutboxSettings;
pub use sources::{Sources, process_env};
pub use staff::staff_answering;
pub use twilio::{SendCaps, TwilioSettings};

use sources::{Layers, RawFile};

/// One thing wrong with the settings, named by its key and its variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match env_name(&self.key) {
            Some(var) => write!(f, "{} ({var}): {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// All the problems found; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "configuration problem: {p}")?;
        }
        Ok(())
    }
}

/// The environment variables of the public contract, (variable, key), as each section lists
/// them.
const ENV_KEYS: [&[(&str, &str)]; 6] = [
    server::ENV,
    database::ENV,
    mail::ENV,
    twilio::ENV,
    staff::ENV,
    flows::ENV,
];

fn env_name(key: &str) -> Option<&'static str> {
    ENV_KEYS
        .iter()
        .flat_map(|section| section.iter())
        .find(|(_, k)| *k == key)
        .map(|(v, _)| *v)
}

/// Every setting Helpline runs with, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub public_url: Url,
    pub database_url: DatabaseUrl,
    pub city: CitySettings,
    pub mail: MailSettings,
    pub twilio: TwilioSettings,
    pub staff_phone: Option<String>,
    /// When staff answer the phone, as the city wrote it for contractors ("Monday–Friday 8 am–5
    /// pm"); see `office_hours_text` for the words to show or say.
    pub staff_office_hours: Option<String>,
    /// When staff answer (`staff.hours` in `staff.time_zone`, less `staff.holidays`); `None`
    /// when `staff.hours` is not set. The phone line asks `staff_answering`.
    pub staff_hours: Option<crate::domain::office_hours::OfficeHours>,
    /// Business hours (within `staff_hours`) before an open ticket is overdue
    /// (`staff.sla_hours`, default 8).
    pub staff_sla_hours: u32,
    /// `staff.time_zone`, or the office hours' zone; `None` (UTC) when neither is set. Read it
    /// through `city_zone`.
    pub staff_time_zone: Option<crate::domain::office_hours::CityZone>,
    /// When the daily queue digest goes out (`staff.digest_at`, city time); `None`: never.
    pub staff_digest_at: Option<crate::domain::office_hours::TimeOfDay>,
    /// Reverse proxies whose `X-Forwarded-For` is believed when finding a client's address.
    pub trusted_proxies: Vec<IpAddr>,
    pub guard: GuardSettings,
    pub outbox: OutboxSettings,
    /// Lifetime of an emailed reset link.
    pub reset_link_lifetime: Duration,
    /// Lifetime of a temporary password sent by SMS or voice (at most 24 h).
    pub temporary_password_lifetime: Duration,
    /// Every refused sign-in or verification takes at least this long, whatever the reason.
    pub response_floor: Duration,
    /// Where the phone line's flows are read from.
    pub flows_dir: FlowsDir,
    /// "Forgot password" always answers after exactly this long.
    pub forgot_deadline: Duration,
}

impl Settings {
    /// Loads and checks the settings. Every problem is returned, not just the first.
    pub fn load(sources: &Sources<'_>) -> Result<Settings, ConfigErrors> {
        let mut layers = Layers::new(sources);
        let raw = layers.read_file();
        let settings = Self::from_raw(raw, &mut layers);
        match settings {
            Some(s) if layers.problems.is_empty() => Ok(s),
            _ => Err(ConfigErrors(layers.problems)),
        }
    }

    /// Every section is read (so every problem is found) before any is required.
    fn from_raw(raw: RawFile, c: &mut Layers<'_>) -> Option<Settings> {
        let bind = server::bind(c, raw.bind);
        let public_url = server::public_url(c, raw.public_url, bind);
        let database_url = database::url(c, raw.database_url);
        let city = city::read(c, raw.city);
        let mail = mail::read(c, raw.mail);
        let twilio = twilio::read(c, raw.twilio);
        let staff = staff::read(c, raw.staff);
        let trusted_proxies = server::trusted_proxies(c, &raw.trusted_proxies);
        let guard = guard::read(c, raw.guard);
        let outbox = outbox::read(c, raw.outbox);
        let timing = timing::read(c, raw.reset_link_minutes, raw.temporary_password_minutes);
        let flows_dir = flows::read(c, raw.flows);
        Some(Settings {
            bind: bind?,
            public_url: public_url?,
            database_url: database_url?,
            city: city?,
            mail: mail?,
            twilio: twilio?,
            staff_phone: staff.phone,
            staff_office_hours: staff.office_hours,
            staff_hours: staff.hours,
            staff_sla_hours: staff.sla_hours,
            staff_time_zone: staff.zone,
            staff_digest_at: staff.digest_at,
            trusted_proxies,
            guard,
            outbox,
            reset_link_lifetime: timing.reset_link_lifetime,
            temporary_password_lifetime: timing.temporary_password_lifetime,
            response_floor: timing.response_floor,
            forgot_deadline: timing.forgot_deadline,
            flows_dir,
        })
    }

    /// Settings for tests and `demo`: loopback, everything else default, nothing read from the
    /// process environment or the working directory.
    pub fn for_local(database_url: &str) -> Settings {
        let env = |_: &str| None;
        let sources = Sources {
            file: Some(PathBuf::from("/dev/null")),
            env: &env,
        };
        let mut layers = Layers::new(&sources);
        let raw = RawFile {
            bind: Some("127.0.0.1:0".into()),
            database_url: Some(database_url.into()),
            ..RawFile::default()
        };
        let mut s = Self::from_raw(raw, &mut layers)
            .filter(|_| layers.problems.is_empty())
            .unwrap_or_else(|| unreachable_defaults(&layers.problems));
        s.public_url = Url::parse("http://127.0.0.1/").unwrap_or_else(|_| s.public_url.clone());
        s
    }
}

#[allow(clippy::panic)]
fn unreachable_defaults(problems: &[ConfigProblem]) -> Settings {
    // The built-in defaults are valid by construction; a failure here is a programming error
    // caught by the unit test below.
    panic!("built-in defaults are invalid: {problems:?}")
}

/// Loading settings in unit tests, from given variables and an optional file's text.
#[cfg(test)]
mod testing {
    use super::{ConfigErrors, Settings, Sources};
    use std::collections::HashMap;
    use std::path::PathBuf;

    fn load(file: PathBuf, vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| map.get(k).cloned();
        Settings::load(&Sources {
            file: Some(file),
            env: &env,
        })
    }

    /// Only the variables; no file.
    pub fn load_env(vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        load(PathBuf::from("/dev/null"), vars)
    }

    /// A file holding `toml`, under the variables.
    pub fn load_toml(toml: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.toml");
        std::fs::write(&path, toml).unwrap();
        load(path, vars)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::load_env;
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let s = Settings::for_local("sqlite://x.db");
        assert_eq!(s.city.username, UsernameKind::ContractorNumber);
        assert!(!s.twilio.voice_enabled);
    }

    #[test]
    fn the_variables_of_the_public_contract_are_all_read() {
        let mut vars: Vec<_> = ENV_KEYS
            .iter()
            .flat_map(|s| s.iter())
            .map(|(v, _)| *v)
            .collect();
        vars.sort_unstable();
        assert_eq!(
            vars,
            [
                "HELPLINE_BIND",
                "HELPLINE_DATABASE_URL",
                "HELPLINE_FLOWS_DIR",
                "HELPLINE_INBOUND_TOKEN",
                "HELPLINE_MAILGUN_SIGNING_KEY",
                "HELPLINE_MAIL_FROM",
                "HELPLINE_MAIL_REPLY_TO",
                "HELPLINE_PUBLIC_URL",
                "HELPLINE_SMTP_TLS_CA_FILE",
                "HELPLINE_SMTP_URL",
                "HELPLINE_STAFF_DIGEST_AT",
                "HELPLINE_STAFF_HOLIDAYS",
                "HELPLINE_STAFF_HOURS",
                "HELPLINE_STAFF_PHONE",
                "HELPLINE_STAFF_SLA_HOURS",
                "HELPLINE_STAFF_TIME_ZONE",
                "HELPLINE_TWILIO_ACCOUNT_SID",
                "HELPLINE_TWILIO_API_BASE",
                "HELPLINE_TWILIO_AUTH_TOKEN",
                "HELPLINE_TWILIO_FROM",
                "HELPLINE_TWILIO_MAX_PER_DAY",
                "HELPLINE_TWILIO_MAX_PER_DESTINATION_PER_DAY",
            ]
        );
    }

    #[test]
    fn each_bad_setting_is_its_own_problem() {
        let errs = load_env(&[
            ("HELPLINE_PUBLIC_URL", "not a url"),
            ("HELPLINE_DATABASE_URL", "mysql://x"),
            ("HELPLINE_TWILIO_ACCOUNT_SID", "AC123"),
            ("HELPLINE_TWILIO_FROM", "+13035550100"),
        ])
        .unwrap_err();
        let keys: Vec<_> = errs.0.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"public_url"), "{errs}");
        assert!(keys.contains(&"database_url"), "{errs}");
        assert!(keys.contains(&"twilio.auth_token"), "{errs}");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = load_env(&[
            ("HELPLINE_DATABASE_URL", "postgres://u:hunter22@db/x"),
            ("HELPLINE_TWILIO_ACCOUNT_SID", "AC1"),
            ("HELPLINE_TWILIO_AUTH_TOKEN", "tok-sekrit-99"),
            ("HELPLINE_TWILIO_FROM", "+13035550100"),
            ("HELPLINE_INBOUND_TOKEN", "inbound-sekrit-77"),
            ("HELPLINE_MAILGUN_SIGNING_KEY", "key-mailgun-sekrit-55"),
        ])
        .unwrap();
        let dbg = format!("{s:?}");
        for secret in [
            "hunter22",
            "tok-sekrit-99",
            "inbound-sekrit-77",
            "key-mailgun-sekrit-55",
        ] {
            assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
        }
    }

    /// The documented example must itself be a valid configuration.
    #[test]
    fn the_example_file_loads() {
        let env = |_: &str| None;
        let s = Settings::load(&Sources {
            file: Some(PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/helpline.example.toml"
            ))),
            env: &env,
        })
        .unwrap();
        assert_eq!(s.city.name, "Westminster");
        assert_eq!(s.public_url.as_str(), "https://help.example.gov/");
        assert!(s.mail.smtp_url.is_some());
        assert_eq!(
            s.twilio.caps,
            SendCaps::default(),
            "the documented defaults"
        );
    }
}
