//! The administrator's page over real HTTP (issue 12, roles): only an admin adds or disables
//! staff logins and sets when staff answer the phone; the desk refuses everyone else even
//! when the form is posted without the page; the phone line follows the hours an admin set.
//! Both databases.

use std::sync::Arc;

use helpline::staff::hours::StaffHours;
use helpline::store::staff;
use tokio::sync::Barrier;

use crate::common::browser::Browser;
use crate::common::desk::*;
use crate::common::logs;
use crate::portal::Portal;
use crate::voice::{Call, STRANGER};

const NEW_PASSWORD: &str = "N3w-Staffer!";

async fn desk_with_admin() -> (Desk, Browser, Browser) {
    let d = Desk::start().await;
    d.add("ada@city.example", "Ada Admin", "admin").await;
    d.add("sam@city.example", "Sam Staff", "staff").await;
    let admin = signed_in(&d, "ada@city.example").await;
    let member = signed_in(&d, "sam@city.example").await;
    (d, admin, member)
}

fn add_fields<'a>(email: &'a str, password: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("email", email),
        ("name", "Noa New"),
        ("role", "staff"),
        ("password", password),
    ]
}

#[tokio::test]
async fn only_an_admin_may_add_or_disable_staff_or_change_the_office_hours() {
    let (d, _admin, mut member) = desk_with_admin().await;
    let page = member.get("/staff/admin").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("Only an administrator"), "{}", page.body);
    // The queue offers no link to it either.
    assert!(!member.get("/staff").await.body.contains("/staff/admin\""));

    // Posting the forms without the page changes nothing.
    let add = post(
        &mut member,
        "/staff/admin/staff",
        &add_fields("noa@city.example", NEW_PASSWORD),
    )
    .await;
    assert_eq!(add.status, 403, "{}", add.body);
    let pool = d.app.state.store.pool();
    assert!(
        staff::by_email(pool, "noa@city.example")
            .await
            .expect("read")
            .is_none()
    );
    let hours = post(
        &mut member,
        "/staff/admin/hours",
        &[
            ("schedule", "Mon-Fri 08:00-17:00"),
            ("time_zone", "America/Denver"),
        ],
    )
    .await;
    assert_eq!(hours.status, 403, "{}", hours.body);
    assert!(d.app.state.hours.current_override().is_none());
    let disable = post(
        &mut member,
        "/staff/admin/staff/disable",
        &[("email", "ada@city.example")],
    )
    .await;
    assert_eq!(disable.status, 403, "{}", disable.body);
    let ada = staff::by_email(pool, "ada@city.example")
        .await
        .expect("read")
        .expect("ada");
    assert!(!ada.is_disabled());

    // Without a session: to sign in. With a forged token: refused.
    let mut stranger = d.browser();
    let page = stranger.get("/staff/admin").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/staff/login"));
    let mut admin = signed_in(&d, "ada@city.example").await;
    let forged = admin
        .post_raw(
            "/staff/admin/staff",
            &[
                ("csrf".to_string(), "forged".to_string()),
                ("email".into(), "noa@city.example".into()),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(
        staff::by_email(pool, "noa@city.example")
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn an_admin_adds_a_login_that_signs_in_and_each_refusal_names_its_field() {
    let (d, mut admin, _) = desk_with_admin().await;
    let page = admin.get("/staff/admin").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Sam Staff"), "{}", page.body);
    assert!(
        admin
            .get("/staff")
            .await
            .body
            .contains("href=\"/staff/admin\"")
    );

    let weak = post(
        &mut admin,
        "/staff/admin/staff",
        &add_fields("noa@city.example", "weak"),
    )
    .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(
        weak.body.contains("href=\"#add-password\""),
        "{}",
        weak.body
    );
    assert!(
        weak.body.contains("noa@city.example"),
        "the typed email is kept"
    );
    let bad = post(
        &mut admin,
        "/staff/admin/staff",
        &[
            ("email", "not an email"),
            ("name", " "),
            ("role", "boss"),
            ("password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    for field in ["#add-email", "#add-name", "#add-role"] {
        assert!(bad.body.contains(field), "{field}: {}", bad.body);
    }
    let taken = post(
        &mut admin,
        "/staff/admin/staff",
        &add_fields("SAM@city.example", NEW_PASSWORD),
    )
    .await;
    assert_eq!(taken.status, 422, "{}", taken.body);
    assert!(taken.body.contains("already exists"), "{}", taken.body);

    let ok = post(
        &mut admin,
        "/staff/admin/staff",
        &add_fields("noa@city.example", NEW_PASSWORD),
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let mut noa = d.browser();
    let signed = sign_in(&mut noa, "noa@city.example", NEW_PASSWORD).await;
    assert_eq!(
        signed.status, 303,
        "the new login signs in: {}",
        signed.body
    );
    let lines = d.audit_lines().await;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Ada Admin staff_added staff:noa@city.example")),
        "{lines:?}"
    );
    let logged = logs::captured();
    assert!(
        !logged.contains(NEW_PASSWORD),
        "the new password reached the logs"
    );
}

#[tokio::test]
async fn adding_one_email_six_times_at_once_makes_one_login() {
    let (d, admin, _) = desk_with_admin().await;
    let cookies = admin.cookies.clone();
    let barrier = Arc::new(Barrier::new(6));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let mut b = d.browser();
        b.cookies = cookies.clone();
        let token = csrf(&mut b).await;
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut fields = vec![("csrf".to_string(), token)];
            fields.extend(
                add_fields("twin@city.example", NEW_PASSWORD)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            barrier.wait().await;
            b.post_raw("/staff/admin/staff", &fields).await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 422, 422, 422, 422, 422], "one add wins");
    let all = staff::all(d.app.state.store.pool()).await.expect("read");
    assert_eq!(
        all.iter()
            .filter(|m| m.email == "twin@city.example")
            .count(),
        1
    );
}

#[tokio::test]
async fn an_admin_disables_another_login_but_not_their_own() {
    let (d, mut admin, mut member) = desk_with_admin().await;
    let own = post(
        &mut admin,
        "/staff/admin/staff/disable",
        &[("email", "ada@city.example")],
    )
    .await;
    assert_eq!(own.status, 409, "{}", own.body);
    let none = post(
        &mut admin,
        "/staff/admin/staff/disable",
        &[("email", "nobody@city.example")],
    )
    .await;
    assert_eq!(none.status, 404, "{}", none.body);
    let ok = post(
        &mut admin,
        "/staff/admin/staff/disable",
        &[("email", "sam@city.example")],
    )
    .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    // Sam's session ended.
    let page = member.get("/staff").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/staff/login"));
    let lines = d.audit_lines().await;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Ada Admin staff_disabled staff:sam@city.example")),
        "{lines:?}"
    );
}

/// An admin on the portal's app (with the Twilio stand-in), signed in.
async fn admin_on(p: &Portal) -> Browser {
    let st = &p.app.state;
    let hash = st
        .hasher
        .hash(&secrecy::SecretString::from(PASSWORD.to_string()))
        .await
        .expect("hash");
    let mut tx = st.store.begin_write().await.expect("tx");
    staff::insert(
        &mut tx,
        "ada@city.example",
        "Ada Admin",
        "admin",
        &hash,
        st.clock.now_ms(),
    )
    .await
    .expect("insert");
    tx.commit().await.expect("commit");
    let mut b = Browser::new(&p.app.base);
    let page = sign_in(&mut b, "ada@city.example", PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    b
}

#[tokio::test]
async fn the_phone_line_follows_the_office_hours_an_admin_sets_and_clears() {
    let p = Portal::start_with(|s| s.staff_phone = Some("+13035550199".into())).await;
    let mut admin = admin_on(&p).await;
    // No hours anywhere: callers are put through at any time (T0 is a Monday, 2 am in Denver).
    let mut call = Call::dial(&p, "CA00000000000000000000000000000031", STRANGER, None).await;
    call.press("1").await;
    call.press("2").await;
    assert!(call.last.body.contains("<Dial"), "{}", call.last.body);

    let bad = post(
        &mut admin,
        "/staff/admin/hours",
        &[
            ("schedule", "Mon-Fri 8-5"),
            ("holidays", "2026-02-30"),
            ("time_zone", "America/Denver"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("href=\"#hours-schedule\""),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("href=\"#hours-holidays\""),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("Mon-Fri 8-5"), "what was typed is kept");

    let saved = post(
        &mut admin,
        "/staff/admin/hours",
        &[
            ("schedule", "Mon-Fri 08:00-17:00"),
            ("holidays", ""),
            ("time_zone", "America/Denver"),
            ("action", "save"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let mut call = Call::dial(&p, "CA00000000000000000000000000000032", STRANGER, None).await;
    call.press("1").await;
    call.press("2").await;
    assert!(
        call.last.body.contains("<Record "),
        "after hours now: {}",
        call.last.body
    );
    assert!(!call.last.body.contains("<Dial"), "{}", call.last.body);

    // Another instance reads the same schedule from the database.
    let other = StaffHours::default();
    other.reload(&p.app.state.store).await.expect("reload");
    let read = other.current_override().expect("stored");
    assert_eq!(read.schedule, "Mon-Fri 08:00-17:00");
    assert_eq!(read.by, "Ada Admin");

    let cleared = post(&mut admin, "/staff/admin/hours", &[("action", "clear")]).await;
    assert_eq!(cleared.status, 303, "{}", cleared.body);
    let mut call = Call::dial(&p, "CA00000000000000000000000000000033", STRANGER, None).await;
    call.press("1").await;
    call.press("2").await;
    assert!(call.last.body.contains("<Dial"), "{}", call.last.body);
    other.reload(&p.app.state.store).await.expect("reload");
    assert!(other.current_override().is_none());
}
