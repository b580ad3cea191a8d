//! Start-up configuration errors, through the real binary: one message per problem, exit 2.

use crate::common::{helpline, run};

fn problems(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("helpline: configuration problem: "))
        .collect()
}

#[test]
fn a_public_url_that_is_not_a_url_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(helpline(dir.path())
        .env("HELPLINE_PUBLIC_URL", "help line dot gov")
        .env("HELPLINE_SMTP_URL", "smtp://127.0.0.1:2525")
        .arg("serve"));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        problems(&err),
        vec![
            "helpline: configuration problem: public_url (HELPLINE_PUBLIC_URL): 'help line dot gov' is not a URL (relative URL without a base)"
        ],
        "{err}"
    );
}

#[test]
fn every_bad_setting_gets_its_own_line() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(helpline(dir.path())
        .env("HELPLINE_BIND", "everywhere")
        .env("HELPLINE_PUBLIC_URL", "ftp://files.example")
        .env("HELPLINE_SMTP_URL", "gopher://mail")
        .env("HELPLINE_MAIL_FROM", "not an address")
        .env("HELPLINE_TWILIO_ACCOUNT_SID", "AC0123")
        .env("HELPLINE_TWILIO_FROM", "+13035550100")
        .arg("serve"));
    assert_eq!(code, 2, "{err}");
    let lines = problems(&err);
    for key in [
        "bind (HELPLINE_BIND): 'everywhere' is not an address",
        "public_url (HELPLINE_PUBLIC_URL): 'ftp://files.example' must be an http:// or https:// URL",
        "mail.smtp_url (HELPLINE_SMTP_URL): is not a usable SMTP URL",
        "mail.from (HELPLINE_MAIL_FROM): 'not an address' is not an email address",
        "twilio.auth_token (HELPLINE_TWILIO_AUTH_TOKEN): is required while voice is enabled",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(key)),
            "no line for «{key}» in:\n{err}"
        );
    }
}

#[test]
fn voice_enabled_in_the_file_without_credentials_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("helpline.toml"),
        "[twilio]\nvoice_enabled = true\nsms_enabled = false\n[mail]\ndir = \"mail\"\n",
    )
    .expect("write");
    let (code, _, err) = run(helpline(dir.path()).arg("serve"));
    assert_eq!(code, 2, "{err}");
    let lines = problems(&err);
    assert_eq!(lines.len(), 3, "{err}");
    for key in ["twilio.account_sid", "twilio.auth_token", "twilio.from"] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(key) && l.contains("while voice is enabled")),
            "{key}: {err}"
        );
    }
}

#[test]
fn an_unreachable_postgres_url_is_named_without_its_password() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(helpline(dir.path())
        .env(
            "HELPLINE_DATABASE_URL",
            "postgres://helpline:hunter22@127.0.0.1:1/helpline",
        )
        .arg("migrate"));
    assert_eq!(code, 2, "{err}");
    let lines = problems(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(
            "database_url (HELPLINE_DATABASE_URL): cannot reach postgres://helpline:***@127.0.0.1:1/helpline"
        ),
        "{err}"
    );
    assert!(!err.contains("hunter22"), "password leaked: {err}");
}

#[test]
fn serve_without_a_mail_route_says_how_to_set_one() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(helpline(dir.path()).arg("serve"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("mail.smtp_url (HELPLINE_SMTP_URL): set an SMTP server"),
        "{err}"
    );
}

#[test]
fn a_named_config_file_must_exist_and_parse() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(helpline(dir.path())
        .env("HELPLINE_CONFIG", "/nonexistent/helpline.toml")
        .arg("migrate"));
    assert_eq!(code, 2);
    assert!(
        err.contains("config: cannot read /nonexistent/helpline.toml"),
        "{err}"
    );

    std::fs::write(
        dir.path().join("typo.toml"),
        "[city]\nusername = \"email\"\nnmae = \"X\"\n",
    )
    .expect("write");
    let (code, _, err) = run(helpline(dir.path()).args(["--config", "typo.toml", "migrate"]));
    assert_eq!(code, 2);
    assert!(err.contains("unknown field `nmae`"), "{err}");
}

#[test]
fn a_bad_username_setting_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("helpline.toml"),
        "[city]\nusername = \"email\"\n",
    )
    .expect("write");
    let (code, _, err) = run(helpline(dir.path()).arg("migrate"));
    assert_eq!(code, 2);
    assert!(
        err.contains("city.username: 'email' must be contractor_number or license_number"),
        "{err}"
    );
}

#[test]
fn an_unknown_command_fails_with_usage() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(helpline(dir.path()).arg("frobnicate"));
    assert_ne!(code, 0);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn a_relay_ca_file_must_be_readable_pem_and_the_url_must_ask_for_tls() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = run(helpline(dir.path())
        .env(
            "HELPLINE_SMTP_URL",
            "smtp://relay.city.example:587?tls=required",
        )
        .env("HELPLINE_SMTP_TLS_CA_FILE", "/nonexistent/city-ca.pem")
        .arg("serve"));
    assert_eq!(code, 2, "{err}");
    assert!(
        problems(&err).iter().any(|l| l.contains(
            "mail.tls_ca_file (HELPLINE_SMTP_TLS_CA_FILE): cannot read /nonexistent/city-ca.pem"
        )),
        "{err}"
    );

    std::fs::write(dir.path().join("not-pem.txt"), "hello\n").expect("write");
    std::fs::write(
        dir.path().join("helpline.toml"),
        "[mail]\nsmtp_url = \"smtp://relay.city.example:25\"\ntls_ca_file = \"not-pem.txt\"\n",
    )
    .expect("write");
    let (code, _, err) = run(helpline(dir.path()).arg("serve"));
    assert_eq!(code, 2, "{err}");
    let lines = problems(&err);
    for key in [
        "mail.tls_ca_file (HELPLINE_SMTP_TLS_CA_FILE): not-pem.txt holds no PEM certificate",
        "mail.tls_ca_file (HELPLINE_SMTP_TLS_CA_FILE): is set but mail.smtp_url uses no TLS",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(key)),
            "no line for «{key}» in:\n{err}"
        );
    }
}

#[test]
fn bad_office_hours_stop_serve_with_one_line_each() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("helpline.toml"),
        "[mail]\ndir = \"mail\"\n[staff]\nphone = \"303-555-0199\"\nhours = \"Mon-Fri 9-5\"\n",
    )
    .expect("write");
    let (code, _, err) = run(helpline(dir.path()).arg("serve"));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        problems(&err),
        vec![
            "helpline: configuration problem: staff.hours (HELPLINE_STAFF_HOURS): '9' is not a time: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30"
        ],
        "{err}"
    );

    // The variables are checked the same way, each on its own line.
    let (code, _, err) = run(helpline(dir.path())
        .env("HELPLINE_STAFF_HOURS", "Mon-Fri 08:00-17:00")
        .env("HELPLINE_STAFF_TIME_ZONE", "MST")
        .env("HELPLINE_STAFF_HOLIDAYS", "2026-12-25,Christmas")
        .arg("serve"));
    assert_eq!(code, 2, "{err}");
    let lines = problems(&err);
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(
            "helpline: configuration problem: staff.time_zone (HELPLINE_STAFF_TIME_ZONE): 'MST' \
             is an abbreviation or an offset, not a city's time zone"
        ),
        "{err}"
    );
    assert_eq!(
        lines[1],
        "helpline: configuration problem: staff.holidays (HELPLINE_STAFF_HOLIDAYS): 'Christmas' \
         is not a date: write YYYY-MM-DD, e.g. 2026-12-25"
    );
}
