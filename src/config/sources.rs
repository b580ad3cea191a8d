//! Where settings come from, and the one way every section reads them: the TOML file (named on
//! the command line, by `HELPLINE_CONFIG`, or `./helpline.toml` when present) under the
//! `HELPLINE_*` variables (the variable wins; a blank one counts as unset). Problems are
//! collected here, not returned one at a time.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigProblem, city, flows, guard, mail, outbox, staff, twilio};

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

/// The file, as written. Top-level keys belong to several sections, so they are listed here;
/// each `[section]` table is its section's own raw struct.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub bind: Option<String>,
    pub public_url: Option<String>,
    pub database_url: Option<String>,
    pub reset_link_minutes: Option<u64>,
    pub temporary_password_minutes: Option<u64>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub city: city::RawCity,
    #[serde(default)]
    pub mail: mail::RawMail,
    #[serde(default)]
    pub twilio: twilio::RawTwilio,
    #[serde(default)]
    pub staff: staff::RawStaff,
    #[serde(default)]
    pub guard: guard::RawGuard,
    #[serde(default)]
    pub outbox: outbox::RawOutbox,
    #[serde(default)]
    pub flows: flows::RawFlows,
}

/// The sources as every section reads them, and the problems found so far.
pub(super) struct Layers<'a> {
    sources: &'a Sources<'a>,
    pub problems: Vec<ConfigProblem>,
}

impl<'a> Layers<'a> {
    pub fn new(sources: &'a Sources<'a>) -> Self {
        Self {
            sources,
            problems: Vec::new(),
        }
    }

    /// A setting's text: its variable when set, else the file's; trimmed, blank is unset.
    pub fn pick(&self, key: &str, file: Option<String>) -> Option<String> {
        super::env_name(key)
            .and_then(|v| self.sources.var(v))
            .or(file)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    pub fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            key: key.to_string(),
            message: message.into(),
        });
    }

    /// A phone-number setting in E.164, or a problem naming the key and what was written.
    pub fn phone(&mut self, key: &str, text: Option<String>) -> Option<String> {
        let text = text?;
        match crate::domain::phone::PhoneNumber::parse(&text) {
            Ok(p) => Some(p.to_string()),
            Err(e) => {
                self.problem(key, format!("'{text}': {e}"));
                None
            }
        }
    }

    /// The file the sources name: a named one must exist, `./helpline.toml` may be missing.
    pub fn read_file(&mut self) -> RawFile {
        let explicit = self
            .sources
            .file
            .clone()
            .or_else(|| self.sources.var("HELPLINE_CONFIG").map(PathBuf::from));
        match &explicit {
            Some(path) => self.read_toml(path, true),
            None => self.read_toml(Path::new("helpline.toml"), false),
        }
    }

    fn read_toml(&mut self, path: &Path, required: bool) -> RawFile {
        if path == Path::new("/dev/null") {
            return RawFile::default();
        }
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return RawFile::default();
            }
            Err(e) => {
                self.problem("config", format!("cannot read {}: {e}", path.display()));
                return RawFile::default();
            }
        };
        match toml::from_str::<RawFile>(&text) {
            Ok(raw) => raw,
            Err(e) => {
                self.problem("config", format!("{}: {}", path.display(), e.message()));
                RawFile::default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::load_toml;
    use super::super::{Settings, Sources};
    use std::path::PathBuf;

    #[test]
    fn the_variable_wins_over_the_file() {
        let s = load_toml(
            "bind = \"127.0.0.1:9000\"\n[city]\nname = \"Westminster\"\n",
            &[("HELPLINE_BIND", "127.0.0.1:9100")],
        )
        .unwrap();
        assert_eq!(s.bind.port(), 9100);
        assert_eq!(s.city.name, "Westminster");
    }

    #[test]
    fn a_blank_variable_leaves_the_file_value() {
        let s = load_toml("bind = \"127.0.0.1:9000\"\n", &[("HELPLINE_BIND", "  ")]).unwrap();
        assert_eq!(s.bind.port(), 9000);
    }

    #[test]
    fn unknown_keys_in_the_file_are_named() {
        let errs = load_toml("[mail]\nsmtp_ulr = \"smtp://x\"\n", &[]).unwrap_err();
        assert!(errs.to_string().contains("smtp_ulr"), "{errs}");
    }

    #[test]
    fn a_named_file_must_exist_and_helpline_config_names_one() {
        let env = |k: &str| (k == "HELPLINE_CONFIG").then(|| "/nonexistent/h.toml".to_string());
        let errs = Settings::load(&Sources {
            file: None,
            env: &env,
        })
        .unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(errs.0[0].key, "config");
        assert!(
            errs.to_string()
                .starts_with("configuration problem: config: cannot read /nonexistent/h.toml"),
            "{errs}"
        );
        let named = Settings::load(&Sources {
            file: Some(PathBuf::from("/nonexistent/other.toml")),
            env: &env,
        })
        .unwrap_err();
        assert!(named.to_string().contains("other.toml"), "{named}");
    }
}
