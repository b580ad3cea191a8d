//! The database: an embedded SQLite file or a PostgreSQL server, named by a URL whose password
//! is never displayed.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::sources::Layers;
use super::{ConfigErrors, ConfigProblem, Settings};

/// This section's variables and the keys they set.
pub(super) const ENV: &[(&str, &str)] = &[("HELPLINE_DATABASE_URL", "database_url")];

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

/// `sqlite://helpline.db` by default; anything but SQLite or PostgreSQL is a problem.
pub(super) fn url(c: &mut Layers<'_>, file: Option<String>) -> Option<DatabaseUrl> {
    let text = c
        .pick("database_url", file)
        .unwrap_or_else(|| "sqlite://helpline.db".into());
    let url = DatabaseUrl::new(text);
    if url.is_postgres() || url.expose().starts_with("sqlite:") {
        return Some(url);
    }
    c.problem(
        "database_url",
        format!(
            "'{}' must start with sqlite:// (embedded) or postgres://",
            url.redacted()
        ),
    );
    None
}

impl Settings {
    /// Problems that need the outside world (a database that cannot be reached is found at
    /// connect time); kept here so `serve` and `migrate` word them the same way.
    pub fn database_problem(&self, detail: impl fmt::Display) -> ConfigErrors {
        ConfigErrors(vec![ConfigProblem {
            key: "database_url".into(),
            message: format!("cannot reach {}: {detail}", self.database_url.redacted()),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::load_env;
    use super::*;

    #[test]
    fn the_password_is_redacted_and_the_kind_is_known() {
        let url = DatabaseUrl::new("postgresql://u:hunter22@db/x");
        assert!(url.is_postgres());
        assert_eq!(url.redacted(), "postgresql://u:***@db/x");
        assert_eq!(format!("{url:?}"), "postgresql://u:***@db/x");
        assert!(!DatabaseUrl::new("sqlite://h.db").is_postgres());
    }

    #[test]
    fn other_databases_are_refused_without_their_password() {
        let errs = load_env(&[("HELPLINE_DATABASE_URL", "mysql://u:hunter22@db/x")]).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(errs.0[0].key, "database_url");
        assert!(!errs.to_string().contains("hunter22"), "{errs}");
        let s = load_env(&[]).unwrap();
        assert_eq!(s.database_url.expose(), "sqlite://helpline.db");
        let problem = s.database_problem("refused");
        assert_eq!(
            problem.to_string(),
            "configuration problem: database_url (HELPLINE_DATABASE_URL): cannot reach \
             sqlite://helpline.db: refused"
        );
    }
}
