//! Roster import through the `helpline import-contractors` command and the library.

use helpline::clock::{Clock, SharedClock};
use helpline::domain::phone::PhoneNumber;
use helpline::roster;
use helpline::store::contractors;
use sqlx::{AssertSqlSafe, Executor};

use crate::common::{TestDb, helpline, run, test_clock};

const GOOD: &str = "\
contractor_number,license_number,business_name,contact_name,phone,alt_phone,email,notes
C-1001,B-884512,Front Range Roofing,Pat Alvarez,(303) 658-2075,,pat@frontrange-roofing.example,ignored
C-1002,C10-77231,Mile High Electric,Sam Okafor,303.555.0142,720-555-0199,sam@milehigh.example,
C-1003,B-990017,Clear Creek Plumbing,Rosa Nguyen,+1 303 555 0177,,,
C-1004,,Boulder Fence,Lee Martin,3035550188,,lee@boulderfence.example,
";

fn import_file(db: &TestDb, name: &str, csv: &str) -> (i32, String, String) {
    let path = db.dir().join(name);
    std::fs::write(&path, csv).expect("write csv");
    run(helpline(db.dir())
        .env("HELPLINE_DATABASE_URL", db.url())
        .arg("import-contractors")
        .arg(&path))
}

#[tokio::test]
async fn a_roster_imports_and_a_second_run_changes_nothing() {
    let db = TestDb::new().await;
    let (code, out, err) = import_file(&db, "roster.csv", GOOD);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("4 added, 0 updated, 0 unchanged, 0 rejected"),
        "{out}"
    );

    let store = db.store().await;
    let c = contractors::by_number(store.pool(), "C-1002")
        .await
        .expect("read")
        .expect("imported");
    assert_eq!(c.fields.phone.as_deref(), Some("+13035550142"));
    assert_eq!(c.fields.alt_phone.as_deref(), Some("+17205550199"));
    assert_eq!(c.fields.email.as_deref(), Some("sam@milehigh.example"));
    let updated_at = c.updated_at;

    let (code, out, err) = import_file(&db, "roster.csv", GOOD);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 added, 0 updated, 4 unchanged, 0 rejected"),
        "{out}"
    );
    let again = contractors::by_number(store.pool(), "C-1002")
        .await
        .expect("read")
        .expect("still there");
    assert_eq!(
        again.updated_at, updated_at,
        "an unchanged row is not rewritten"
    );
    assert_eq!(contractors::count(store.pool()).await.expect("count"), 4);
}

#[tokio::test]
async fn bad_rows_are_named_with_their_line_and_the_rest_import() {
    let db = TestDb::new().await;
    let csv = "\
contractor_number,license_number,business_name,contact_name,phone,alt_phone,email
C-1,L-1,Good One,A,3036582075,,
,L-2,No Number,B,3036582076,,
C-3,L-3,Bad Phone,C,555-1234,,
C-4,L-4,Bad Email,D,,,not-an-email
C-1,L-5,Duplicate,E,3036582077,,
C-6,L-6,Good Two,F,,,f@example.com
C-7,L-1,Same License,G,3036582078,,
";
    let (code, out, err) = import_file(&db, "bad.csv", csv);
    assert_eq!(code, 0, "bad rows do not fail the import: {err}");
    assert!(
        out.contains("2 added, 0 updated, 0 unchanged, 5 rejected"),
        "{out}"
    );
    for expected in [
        "bad.csv:3: contractor_number is missing",
        "bad.csv:4: phone '555-1234' has 7 digits",
        "bad.csv:5: email 'not-an-email' is not an email address",
        "bad.csv:6: contractor_number C-1 already appears on line 2",
        "bad.csv:8: license_number L-1 already belongs to contractor C-1",
    ] {
        assert!(err.contains(expected), "missing «{expected}» in:\n{err}");
    }
    let store = db.store().await;
    assert_eq!(contractors::count(store.pool()).await.expect("count"), 2);
}

#[tokio::test]
async fn a_file_without_the_contract_columns_is_refused_whole() {
    let db = TestDb::new().await;
    let (code, _, err) = import_file(&db, "wrong.csv", "number,name,phone\n1,A,3036582075\n");
    assert_eq!(code, 1);
    assert!(
        err.contains("lacks the column(s) contractor_number,license_number"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let (code, _, err) = run(helpline(db.dir())
        .env("HELPLINE_DATABASE_URL", db.url())
        .args(["import-contractors", "/nonexistent/roster.csv"]));
    assert_eq!(code, 1);
    assert!(err.contains("cannot open /nonexistent/roster.csv"), "{err}");
}

#[tokio::test]
async fn every_common_phone_format_finds_the_same_contractor() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock: SharedClock = test_clock();
    let csv = "contractor_number,license_number,business_name,contact_name,phone,alt_phone,email\n\
               C-1,,Acme,Pat,(303) 658-2075,,\n\
               C-2,,Beta,Sam,303.555.0100,303.658.2075,\n";
    let report = roster::import(&store, &clock, csv.as_bytes(), None)
        .await
        .expect("import");
    assert_eq!(report.added, 2);
    for typed in [
        "(303) 658-2075",
        "303.658.2075",
        "+1 303 658 2075",
        "3036582075",
    ] {
        let phone = PhoneNumber::parse(typed).expect("parses");
        let found: Vec<String> = contractors::by_phone(store.pool(), &phone)
            .await
            .expect("lookup")
            .into_iter()
            .map(|c| c.fields.contractor_number)
            .collect();
        assert_eq!(found, vec!["C-1", "C-2"], "{typed}");
    }
}

#[tokio::test]
async fn a_changed_contact_voids_pending_links_and_is_audited() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clock = test_clock();
    let shared: SharedClock = clock.clone();
    let header =
        "contractor_number,license_number,business_name,contact_name,phone,alt_phone,email\n";
    roster::import(
        &store,
        &shared,
        format!("{header}C-1,L-1,Acme,Pat,3036582075,,pat@acme.example\n").as_bytes(),
        None,
    )
    .await
    .expect("import");
    let c = contractors::by_number(store.pool(), "C-1")
        .await
        .expect("read")
        .expect("row");
    let now = clock.now_ms();
    let mut tx = store.begin_write().await.expect("tx");
    let account = helpline::store::accounts::create(&mut tx, c.id, "x", true, now)
        .await
        .expect("account");
    tx.commit().await.expect("commit");
    store
        .pool()
        // Numbers only, from the test itself.
        .execute(AssertSqlSafe(format!(
            "INSERT INTO reset_tokens (token_hash, account_id, channel, created_at, expires_at) \
             VALUES ('h1', {account}, 'email', {now}, {})",
            now + 3_600_000
        )))
        .await
        .expect("token");

    let report = roster::import(
        &store,
        &shared,
        format!("{header}C-1,L-1,Acme Inc,Pat,3036582075,,pat@new.example\n").as_bytes(),
        None,
    )
    .await
    .expect("re-import");
    assert_eq!(report.updated, 1);

    let voided: Option<i64> =
        sqlx::query_scalar("SELECT voided_at FROM reset_tokens WHERE token_hash = 'h1'")
            .fetch_one(store.pool())
            .await
            .expect("token row");
    assert!(
        voided.is_some(),
        "the link sent to the old address no longer works"
    );
    let (action, detail): (String, String) =
        sqlx::query_as("SELECT action, detail FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("audit row");
    assert_eq!(action, "contact_change");
    assert_eq!(detail, "email p***@acme.example → p***@new.example");

    // A change of business name alone is not a contact change.
    let report = roster::import(
        &store,
        &shared,
        format!("{header}C-1,L-1,Acme LLC,Pat,3036582075,,pat@new.example\n").as_bytes(),
        None,
    )
    .await
    .expect("re-import");
    assert_eq!(report.updated, 1);
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(events, 1);
}

/// A roster is a list of changes, not the whole truth: a contractor missing from a later file
/// (a partial export, a file cut short) keeps their row, their account and their way back in.
#[tokio::test]
async fn contractors_missing_from_a_later_roster_are_kept() {
    let db = TestDb::new().await;
    let (code, _, err) = import_file(&db, "roster.csv", GOOD);
    assert_eq!(code, 0, "{err}");
    let store = db.store().await;
    let before = contractors::by_number(store.pool(), "C-1003")
        .await
        .expect("read")
        .expect("imported");
    let now = test_clock().now_ms();
    let mut tx = store.begin_write().await.expect("tx");
    let account = helpline::store::accounts::create(&mut tx, before.id, "x", false, now)
        .await
        .expect("account");
    tx.commit().await.expect("commit");

    let later: String = GOOD
        .lines()
        .filter(|l| !l.starts_with("C-1003") && !l.starts_with("C-1004"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (code, out, err) = import_file(&db, "later.csv", &later);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0 added, 0 updated, 2 unchanged, 0 rejected"),
        "{out}"
    );
    assert_eq!(contractors::count(store.pool()).await.expect("count"), 4);
    let after = contractors::by_number(store.pool(), "C-1003")
        .await
        .expect("read")
        .expect("still on file");
    assert_eq!(after.fields, before.fields, "unchanged");
    assert_eq!(after.updated_at, before.updated_at);
    assert!(
        contractors::by_number(store.pool(), "C-1004")
            .await
            .expect("read")
            .is_some()
    );
    let kept = helpline::store::accounts::by_contractor(store.pool(), before.id)
        .await
        .expect("read")
        .expect("the account is kept");
    assert_eq!(kept.id, account);
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(events, 0, "nothing changed, nothing to audit");
}
