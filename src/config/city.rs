//! The city and its portal rules: its name (shown on pages, refused inside passwords) and
//! which roster field the portal calls the username. File only; no variables.

use serde::Deserialize;

use super::sources::Layers;

/// Which roster field is the portal username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsernameKind {
    ContractorNumber,
    LicenseNumber,
}

/// The city and its portal rules.
#[derive(Debug, Clone)]
pub struct CitySettings {
    /// Shown on pages and refused inside passwords.
    pub name: String,
    pub username: UsernameKind,
}

/// `[city]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCity {
    name: Option<String>,
    username: Option<String>,
}

pub(super) fn read(c: &mut Layers<'_>, raw: RawCity) -> Option<CitySettings> {
    let name = raw
        .name
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "City".into());
    let username = match raw.username.as_deref().map(str::trim) {
        None | Some("contractor_number") => UsernameKind::ContractorNumber,
        Some("license_number") => UsernameKind::LicenseNumber,
        Some(other) => {
            c.problem(
                "city.username",
                format!("'{other}' must be contractor_number or license_number"),
            );
            return None;
        }
    };
    Some(CitySettings { name, username })
}

#[cfg(test)]
mod tests {
    use super::super::testing::load_toml;
    use super::*;

    #[test]
    fn the_username_is_one_of_two_roster_fields() {
        let s = load_toml(
            "[city]\nname = \"  \"\nusername = \" license_number \"\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.city.username, UsernameKind::LicenseNumber);
        assert_eq!(s.city.name, "City");
        let errs = load_toml("[city]\nusername = \"email\"\n", &[]).unwrap_err();
        assert_eq!(
            errs.to_string(),
            "configuration problem: city.username: 'email' must be contractor_number or \
             license_number"
        );
    }
}
