//! The Building Division's own line: the number callers are transferred to and contractors are
//! told to call, and when staff answer it.

use serde::Deserialize;

use super::sources::Layers;

/// This section's variables and the keys they set.
pub(super) const ENV: &[(&str, &str)] = &[("HELPLINE_STAFF_PHONE", "staff.phone")];

/// `[staff]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStaff {
    phone: Option<String>,
    office_hours: Option<String>,
}

/// The staff line, checked; `Settings` keeps these as `staff_phone` and `staff_office_hours`.
pub(super) struct StaffLine {
    /// E.164.
    pub phone: Option<String>,
    pub office_hours: Option<String>,
}

pub(super) fn read(c: &mut Layers<'_>, raw: RawStaff) -> StaffLine {
    let text = c.pick("staff.phone", raw.phone);
    let phone = c.phone("staff.phone", text);
    // Free text shown on the kiosk pages: one short line.
    let office_hours = raw
        .office_hours
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty());
    if let Some(hours) = &office_hours
        && hours.chars().count() > 120
    {
        c.problem(
            "staff.office_hours",
            "must be one short line (at most 120 characters)",
        );
    }
    StaffLine {
        phone,
        office_hours,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use super::super::testing::{load_env, load_toml};

    #[test]
    fn office_hours_are_one_short_line_from_the_file() {
        let s = load_toml(
            "[staff]\nphone = \"303-555-0199\"\noffice_hours = \"  Monday–Friday   8 am–5 pm \"\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            s.staff_office_hours.as_deref(),
            Some("Monday–Friday 8 am–5 pm")
        );
        assert_eq!(s.staff_phone.as_deref(), Some("+13035550199"));
        let errs = load_toml(
            &format!("[staff]\noffice_hours = \"{}\"\n", "x".repeat(121)),
            &[],
        )
        .unwrap_err();
        assert!(errs.to_string().contains("staff.office_hours"), "{errs}");
        assert_eq!(
            Settings::for_local("sqlite://x.db").staff_office_hours,
            None
        );
    }

    #[test]
    fn a_staff_phone_that_is_not_a_number_is_named() {
        let errs = load_env(&[("HELPLINE_STAFF_PHONE", "call us")]).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert!(
            errs.to_string().starts_with(
                "configuration problem: staff.phone (HELPLINE_STAFF_PHONE): 'call us': "
            ),
            "{errs}"
        );
    }
}
