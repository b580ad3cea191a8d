//! Settings: `helpline.toml` layered with the `HELPLINE_*` environment variables of the public
//! contract (the variable wins), checked once at start-up. Every problem is collected and
//! reported on its own line, so the person installing Helpline fixes them all in one pass.
//! Secrets are `SecretString`s: their `Debug` output is redacted and they are never echoed back
//! in a problem.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

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

/// The environment variables of the public contract and the keys they set.
const ENV_KEYS: &[(&str, &str)] = &[
    ("HELPLINE_BIND", "bind"),
    ("HELPLINE_PUBLIC_URL", "public_url"),
    ("HELPLINE_DATABASE_URL", "database_url"),
    ("HELPLINE_SMTP_URL", "mail.smtp_url"),
    ("HELPLINE_SMTP_TLS_CA_FILE", "mail.tls_ca_file"),
    ("HELPLINE_MAIL_FROM", "mail.from"),
    ("HELPLINE_INBOUND_TOKEN", "mail.inbound_token"),
    ("HELPLINE_TWILIO_ACCOUNT_SID", "twilio.account_sid"),
    ("HELPLINE_TWILIO_AUTH_TOKEN", "twilio.auth_token"),
    ("HELPLINE_TWILIO_FROM", "twilio.from"),
    ("HELPLINE_TWILIO_API_BASE", "twilio.api_base"),
    ("HELPLINE_STAFF_PHONE", "staff.phone"),
];

fn env_name(key: &str) -> Option<&'static str> {
    ENV_KEYS.iter().find(|(_, k)| *k == key).map(|(v, _)| *v)
}

/// Which roster field is the portal username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsernameKind {
    ContractorNumber,
    LicenseNumber,
}

/// The database URL; its password (if any) is never displayed.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretString::from(url.into()))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
    pub fn is_postgres(&self) -> bool {
        let u = self.expose();
        u.starts_with("postgres://") || u.starts_with("postgresql://")
    }
    /// The URL with any password replaced, for messages and logs.
    pub fn redacted(&self) -> String {
        match Url::parse(self.expose()) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            Ok(u) => u.to_string(),
            Err(_) => "(unparseable URL)".to_string(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The city and its portal rules.
#[derive(Debug, Clone)]
pub struct CitySettings {
    /// Shown on pages and refused inside passwords.
    pub name: String,
    pub username: UsernameKind,
}

/// Outgoing and incoming email.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// lettre SMTP URL; `None` when mail goes to `dir` instead.
    pub smtp_url: Option<SecretString>,
    /// A folder where each message is written as an `.eml` file (development, `demo`).
    pub dir: Option<PathBuf>,
    pub from: Mailbox,
    pub inbound_token: Option<SecretString>,
    /// Largest number of pooled SMTP connections.
    pub pool_size: u32,
    /// PEM certificate(s) of a private CA to trust, besides the public roots, for the SMTP
    /// server's certificate: a city relay whose certificate comes from an internal CA.
    pub tls_ca_file: Option<PathBuf>,
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
}

/// Per-account waits (Keycloak-style) and the per-source flood filter.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// Failures allowed before the first wait.
    pub failures_before_wait: u32,
    /// Each further block of failures adds this much wait.
    pub wait_increment: Duration,
    pub max_wait: Duration,
    /// Two failures closer than this force at least `min_quick_wait`.
    pub quick_failure: Duration,
    pub min_quick_wait: Duration,
    /// The counter starts again this long after the last failure.
    pub reset_after: Duration,
    /// Requests per minute allowed from one source (IP, calling number, sender address).
    pub per_source_per_minute: u32,
    pub per_source_burst: u32,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            failures_before_wait: 3,
            wait_increment: Duration::from_secs(60),
            max_wait: Duration::from_secs(15 * 60),
            quick_failure: Duration::from_secs(1),
            min_quick_wait: Duration::from_secs(60),
            reset_after: Duration::from_secs(12 * 60 * 60),
            per_source_per_minute: 30,
            per_source_burst: 10,
        }
    }
}

/// Delivery of queued messages.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// Tries before a message is dead-lettered.
    pub max_attempts: u32,
    /// How long a worker owns a message it is delivering; after that another may take it.
    pub lease: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How often an idle worker looks for due messages.
    pub poll: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(15 * 60),
            poll: Duration::from_millis(1000),
        }
    }
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
    /// When staff answer the phone, as shown to contractors ("Monday–Friday 8 am–5 pm").
    pub staff_office_hours: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed when finding a client's address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub guard: GuardSettings,
    pub outbox: OutboxSettings,
    /// Lifetime of an emailed reset link.
    pub reset_link_lifetime: Duration,
    /// Lifetime of a temporary password sent by SMS or voice (at most 24 h).
    pub temporary_password_lifetime: Duration,
    /// Every refused sign-in or verification takes at least this long, whatever the reason.
    pub response_floor: Duration,
    /// "Forgot password" always answers after exactly this long.
    pub forgot_deadline: Duration,
}

// ---- the file, as written -------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    bind: Option<String>,
    public_url: Option<String>,
    database_url: Option<String>,
    reset_link_minutes: Option<u64>,
    temporary_password_minutes: Option<u64>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    city: RawCity,
    #[serde(default)]
    mail: RawMail,
    #[serde(default)]
    twilio: RawTwilio,
    #[serde(default)]
    staff: RawStaff,
    #[serde(default)]
    guard: RawGuard,
    #[serde(default)]
    outbox: RawOutbox,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCity {
    name: Option<String>,
    username: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    smtp_url: Option<String>,
    dir: Option<PathBuf>,
    from: Option<String>,
    inbound_token: Option<String>,
    pool_size: Option<u32>,
    tls_ca_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTwilio {
    account_sid: Option<String>,
    auth_token: Option<String>,
    from: Option<String>,
    api_base: Option<String>,
    voice_enabled: Option<bool>,
    sms_enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaff {
    phone: Option<String>,
    office_hours: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuard {
    failures_before_wait: Option<u32>,
    wait_increment_seconds: Option<u64>,
    max_wait_seconds: Option<u64>,
    quick_failure_ms: Option<u64>,
    min_quick_wait_seconds: Option<u64>,
    reset_after_seconds: Option<u64>,
    per_source_per_minute: Option<u32>,
    per_source_burst: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbox {
    max_attempts: Option<u32>,
    lease_seconds: Option<u64>,
    backoff_base_seconds: Option<u64>,
    backoff_max_seconds: Option<u64>,
    poll_ms: Option<u64>,
}

/// Where the settings come from: an optional file and a way to read variables.
pub struct Sources<'a> {
    /// Path given on the command line or by `HELPLINE_CONFIG`; `None` uses `./helpline.toml`
    /// when it exists.
    pub file: Option<PathBuf>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Sources<'_> {
    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }
}

/// Reads the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Settings {
    /// Loads and checks the settings. Every problem is returned, not just the first.
    pub fn load(sources: &Sources<'_>) -> Result<Settings, ConfigErrors> {
        let mut problems = Vec::new();
        let explicit = sources
            .file
            .clone()
            .or_else(|| sources.var("HELPLINE_CONFIG").map(PathBuf::from));
        let raw = match &explicit {
            Some(path) => read_file(path, true, &mut problems),
            None => read_file(Path::new("helpline.toml"), false, &mut problems),
        };
        let settings = Self::from_raw(raw, sources, &mut problems);
        match settings {
            Some(s) if problems.is_empty() => Ok(s),
            _ => Err(ConfigErrors(problems)),
        }
    }

    fn from_raw(
        raw: RawFile,
        src: &Sources<'_>,
        problems: &mut Vec<ConfigProblem>,
    ) -> Option<Settings> {
        let mut problem = |key: &str, message: String| {
            problems.push(ConfigProblem {
                key: key.to_string(),
                message,
            })
        };
        // The variable wins over the file.
        let pick = |key: &str, file: Option<String>| -> Option<String> {
            env_name(key)
                .and_then(|v| src.var(v))
                .or(file)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };

        let bind_text = pick("bind", raw.bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = bind_text
            .parse::<SocketAddr>()
            .map_err(|_| {
                problem(
                    "bind",
                    format!("'{bind_text}' is not an address and port such as 0.0.0.0:8080"),
                )
            })
            .ok();

        let public_text = pick("public_url", raw.public_url);
        let public_url = match public_text {
            None => {
                let fallback = bind.map(|b| format!("http://{b}/"));
                fallback.and_then(|f| Url::parse(&f).ok())
            }
            Some(text) => match Url::parse(&text) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Some(u),
                Ok(_) => {
                    problem(
                        "public_url",
                        format!("'{text}' must be an http:// or https:// URL with a host"),
                    );
                    None
                }
                Err(e) => {
                    problem("public_url", format!("'{text}' is not a URL ({e})"));
                    None
                }
            },
        };

        let db_text =
            pick("database_url", raw.database_url).unwrap_or_else(|| "sqlite://helpline.db".into());
        let database_url = DatabaseUrl::new(db_text);
        let database_url =
            if database_url.is_postgres() || database_url.expose().starts_with("sqlite:") {
                Some(database_url)
            } else {
                problem(
                    "database_url",
                    format!(
                        "'{}' must start with sqlite:// (embedded) or postgres://",
                        database_url.redacted()
                    ),
                );
                None
            };

        let city_name = raw
            .city
            .name
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "City".into());
        let username = match raw.city.username.as_deref().map(str::trim) {
            None | Some("contractor_number") => Some(UsernameKind::ContractorNumber),
            Some("license_number") => Some(UsernameKind::LicenseNumber),
            Some(other) => {
                problem(
                    "city.username",
                    format!("'{other}' must be contractor_number or license_number"),
                );
                None
            }
        };

        let smtp_url = pick("mail.smtp_url", raw.mail.smtp_url);
        if let Some(url) = &smtp_url
            && let Err(e) = crate::mail::check_smtp_url(url)
        {
            problem("mail.smtp_url", e);
        }
        let from_text = pick("mail.from", raw.mail.from)
            .unwrap_or_else(|| "Helpline <helpline@localhost>".into());
        let from = from_text
            .parse::<Mailbox>()
            .map_err(|e| {
                problem(
                    "mail.from",
                    format!("'{from_text}' is not an email address ({e})"),
                )
            })
            .ok();
        let pool_size = raw.mail.pool_size.unwrap_or(4);
        if pool_size == 0 {
            problem("mail.pool_size", "must be at least 1".into());
        }
        let tls_ca_file = pick("mail.tls_ca_file", raw.mail.tls_ca_file).map(PathBuf::from);
        if let Some(path) = &tls_ca_file {
            match std::fs::read(path) {
                Err(e) => problem(
                    "mail.tls_ca_file",
                    format!("cannot read {}: {e}", path.display()),
                ),
                Ok(pem) if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => {
                    problem(
                        "mail.tls_ca_file",
                        format!("{} holds no PEM certificate", path.display()),
                    )
                }
                Ok(_) => {}
            }
            if let Some(url) = &smtp_url
                && !crate::mail::uses_tls(url)
            {
                problem(
                    "mail.tls_ca_file",
                    "is set but mail.smtp_url uses no TLS: use smtps://… or smtp://…?tls=required"
                        .into(),
                );
            }
        }

        let sid = pick("twilio.account_sid", raw.twilio.account_sid);
        let token = pick("twilio.auth_token", raw.twilio.auth_token).map(SecretString::from);
        let twilio_from = pick("twilio.from", raw.twilio.from);
        let api_text = pick("twilio.api_base", raw.twilio.api_base)
            .unwrap_or_else(|| "https://api.twilio.com".into());
        let api_base = match Url::parse(&api_text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ => {
                problem(
                    "twilio.api_base",
                    format!("'{api_text}' is not an http(s) URL"),
                );
                None
            }
        };
        let voice_enabled = raw.twilio.voice_enabled.unwrap_or(sid.is_some());
        let sms_enabled = raw.twilio.sms_enabled.unwrap_or(sid.is_some());
        for (enabled, channel) in [(voice_enabled, "voice"), (sms_enabled, "SMS")] {
            if !enabled {
                continue;
            }
            if sid.is_none() {
                problem(
                    "twilio.account_sid",
                    format!("is required while {channel} is enabled"),
                );
            }
            if token.is_none() {
                problem(
                    "twilio.auth_token",
                    format!("is required while {channel} is enabled"),
                );
            }
            if twilio_from.is_none() {
                problem(
                    "twilio.from",
                    format!("is required while {channel} is enabled"),
                );
            }
        }
        let twilio_from =
            twilio_from.and_then(|f| match crate::domain::phone::PhoneNumber::parse(&f) {
                Ok(p) => Some(p.to_string()),
                Err(e) => {
                    problem("twilio.from", format!("'{f}': {e}"));
                    None
                }
            });
        let staff_phone = pick("staff.phone", raw.staff.phone).and_then(|f| {
            match crate::domain::phone::PhoneNumber::parse(&f) {
                Ok(p) => Some(p.to_string()),
                Err(e) => {
                    problem("staff.phone", format!("'{f}': {e}"));
                    None
                }
            }
        });
        // Free text shown on the kiosk pages: one short line.
        let staff_office_hours = raw
            .staff
            .office_hours
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty());
        if let Some(hours) = &staff_office_hours
            && hours.chars().count() > 120
        {
            problem(
                "staff.office_hours",
                "must be one short line (at most 120 characters)".into(),
            );
        }

        let mut trusted_proxies = Vec::new();
        for text in &raw.trusted_proxies {
            match text.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => trusted_proxies.push(ip),
                Err(_) => problem(
                    "trusted_proxies",
                    format!("'{text}' is not an IP address such as 127.0.0.1"),
                ),
            }
        }

        let d = GuardSettings::default();
        let g = raw.guard;
        let guard = GuardSettings {
            failures_before_wait: g.failures_before_wait.unwrap_or(d.failures_before_wait),
            wait_increment: g
                .wait_increment_seconds
                .map_or(d.wait_increment, Duration::from_secs),
            max_wait: g.max_wait_seconds.map_or(d.max_wait, Duration::from_secs),
            quick_failure: g
                .quick_failure_ms
                .map_or(d.quick_failure, Duration::from_millis),
            min_quick_wait: g
                .min_quick_wait_seconds
                .map_or(d.min_quick_wait, Duration::from_secs),
            reset_after: g
                .reset_after_seconds
                .map_or(d.reset_after, Duration::from_secs),
            per_source_per_minute: g.per_source_per_minute.unwrap_or(d.per_source_per_minute),
            per_source_burst: g.per_source_burst.unwrap_or(d.per_source_burst),
        };
        if guard.failures_before_wait == 0 {
            problem("guard.failures_before_wait", "must be at least 1".into());
        }
        if guard.per_source_per_minute == 0 || guard.per_source_burst == 0 {
            problem(
                "guard.per_source_per_minute",
                "the per-source rate and burst must be at least 1".into(),
            );
        }

        let d = OutboxSettings::default();
        let o = raw.outbox;
        let outbox = OutboxSettings {
            max_attempts: o.max_attempts.unwrap_or(d.max_attempts),
            lease: o.lease_seconds.map_or(d.lease, Duration::from_secs),
            backoff_base: o
                .backoff_base_seconds
                .map_or(d.backoff_base, Duration::from_secs),
            backoff_max: o
                .backoff_max_seconds
                .map_or(d.backoff_max, Duration::from_secs),
            poll: o.poll_ms.map_or(d.poll, Duration::from_millis),
        };
        if outbox.max_attempts == 0 {
            problem("outbox.max_attempts", "must be at least 1".into());
        }

        let reset_minutes = raw.reset_link_minutes.unwrap_or(60);
        let temp_minutes = raw.temporary_password_minutes.unwrap_or(10);
        if !(1..=24 * 60).contains(&temp_minutes) {
            problem(
                "temporary_password_minutes",
                format!("{temp_minutes} must be between 1 and 1440 (24 hours)"),
            );
        }
        if !(1..=24 * 60).contains(&reset_minutes) {
            problem(
                "reset_link_minutes",
                format!("{reset_minutes} must be between 1 and 1440 (24 hours)"),
            );
        }

        Some(Settings {
            bind: bind?,
            public_url: public_url?,
            database_url: database_url?,
            city: CitySettings {
                name: city_name,
                username: username?,
            },
            mail: MailSettings {
                smtp_url: smtp_url.map(SecretString::from),
                dir: raw.mail.dir,
                from: from?,
                inbound_token: pick("mail.inbound_token", raw.mail.inbound_token)
                    .map(SecretString::from),
                pool_size,
                tls_ca_file,
            },
            twilio: TwilioSettings {
                account_sid: sid,
                auth_token: token,
                from: twilio_from,
                api_base: api_base?,
                voice_enabled,
                sms_enabled,
            },
            staff_phone,
            staff_office_hours,
            trusted_proxies,
            guard,
            outbox,
            reset_link_lifetime: Duration::from_secs(reset_minutes * 60),
            temporary_password_lifetime: Duration::from_secs(temp_minutes * 60),
            response_floor: Duration::from_millis(400),
            forgot_deadline: Duration::from_millis(800),
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
        let mut problems = Vec::new();
        let raw = RawFile {
            bind: Some("127.0.0.1:0".into()),
            database_url: Some(database_url.into()),
            ..RawFile::default()
        };
        let mut s = Self::from_raw(raw, &sources, &mut problems)
            .filter(|_| problems.is_empty())
            .unwrap_or_else(|| unreachable_defaults(&problems));
        s.public_url = Url::parse("http://127.0.0.1/").unwrap_or_else(|_| s.public_url.clone());
        s
    }

    /// Problems that need the outside world (a database that cannot be reached is found at
    /// connect time); kept here so `serve` and `migrate` word them the same way.
    pub fn database_problem(&self, detail: impl fmt::Display) -> ConfigErrors {
        ConfigErrors(vec![ConfigProblem {
            key: "database_url".into(),
            message: format!("cannot reach {}: {detail}", self.database_url.redacted()),
        }])
    }

    /// A problem with where mail goes, checked by `serve` (tests and `demo` set their own).
    pub fn require_mail_route(&self) -> Result<(), ConfigErrors> {
        if self.mail.smtp_url.is_none() && self.mail.dir.is_none() {
            return Err(ConfigErrors(vec![ConfigProblem {
                key: "mail.smtp_url".into(),
                message: "set an SMTP server (e.g. smtp://127.0.0.1:25) or mail.dir, a folder \
                          where messages are written as .eml files"
                    .into(),
            }]));
        }
        Ok(())
    }
}

#[allow(clippy::panic)]
fn unreachable_defaults(problems: &[ConfigProblem]) -> Settings {
    // The built-in defaults are valid by construction; a failure here is a programming error
    // caught by the unit test below.
    panic!("built-in defaults are invalid: {problems:?}")
}

fn read_file(path: &Path, required: bool, problems: &mut Vec<ConfigProblem>) -> RawFile {
    if path == Path::new("/dev/null") {
        return RawFile::default();
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return RawFile::default();
        }
        Err(e) => {
            problems.push(ConfigProblem {
                key: "config".into(),
                message: format!("cannot read {}: {e}", path.display()),
            });
            return RawFile::default();
        }
    };
    match toml::from_str::<RawFile>(&text) {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(ConfigProblem {
                key: "config".into(),
                message: format!("{}: {}", path.display(), e.message()),
            });
            RawFile::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| map.get(k).cloned();
        Settings::load(&Sources {
            file: Some(PathBuf::from("/dev/null")),
            env: &env,
        })
    }

    #[test]
    fn defaults_are_valid() {
        let s = Settings::for_local("sqlite://x.db");
        assert_eq!(s.city.username, UsernameKind::ContractorNumber);
        assert!(!s.twilio.voice_enabled);
    }

    #[test]
    fn each_bad_setting_is_its_own_problem() {
        let errs = load(&[
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
        let s = load(&[
            ("HELPLINE_DATABASE_URL", "postgres://u:hunter22@db/x"),
            ("HELPLINE_TWILIO_ACCOUNT_SID", "AC1"),
            ("HELPLINE_TWILIO_AUTH_TOKEN", "tok-sekrit-99"),
            ("HELPLINE_TWILIO_FROM", "+13035550100"),
            ("HELPLINE_INBOUND_TOKEN", "inbound-sekrit-77"),
        ])
        .unwrap();
        let dbg = format!("{s:?}");
        for secret in ["hunter22", "tok-sekrit-99", "inbound-sekrit-77"] {
            assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
        }
    }

    #[test]
    fn the_variable_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.toml");
        std::fs::write(
            &path,
            "bind = \"127.0.0.1:9000\"\n[city]\nname = \"Westminster\"\n",
        )
        .unwrap();
        let env = |k: &str| (k == "HELPLINE_BIND").then(|| "127.0.0.1:9100".to_string());
        let s = Settings::load(&Sources {
            file: Some(path),
            env: &env,
        })
        .unwrap();
        assert_eq!(s.bind.port(), 9100);
        assert_eq!(s.city.name, "Westminster");
    }

    #[test]
    fn office_hours_are_one_short_line_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.toml");
        let env = |_: &str| None;
        std::fs::write(
            &path,
            "[staff]\nphone = \"303-555-0199\"\noffice_hours = \"  Monday–Friday   8 am–5 pm \"\n",
        )
        .unwrap();
        let s = Settings::load(&Sources {
            file: Some(path.clone()),
            env: &env,
        })
        .unwrap();
        assert_eq!(
            s.staff_office_hours.as_deref(),
            Some("Monday–Friday 8 am–5 pm")
        );
        assert_eq!(s.staff_phone.as_deref(), Some("+13035550199"));
        std::fs::write(
            &path,
            format!("[staff]\noffice_hours = \"{}\"\n", "x".repeat(121)),
        )
        .unwrap();
        let errs = Settings::load(&Sources {
            file: Some(path),
            env: &env,
        })
        .unwrap_err();
        assert!(errs.to_string().contains("staff.office_hours"), "{errs}");
        assert_eq!(
            Settings::for_local("sqlite://x.db").staff_office_hours,
            None
        );
    }

    #[test]
    fn unknown_keys_in_the_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.toml");
        std::fs::write(&path, "[mail]\nsmtp_ulr = \"smtp://x\"\n").unwrap();
        let env = |_: &str| None;
        let errs = Settings::load(&Sources {
            file: Some(path),
            env: &env,
        })
        .unwrap_err();
        assert!(errs.to_string().contains("smtp_ulr"), "{errs}");
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

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
    }
}
