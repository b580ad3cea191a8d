//! The audit log: appends chain, the database refuses edits, and a tampered row is named.

use helpline::audit::{self, AuditEvent, ChainBreak, VerifyError};
use helpline::clock::Clock;
use helpline::store::Store;
use helpline::store::audit::AuditRow;
use sqlx::{AssertSqlSafe, Executor};

use crate::common::{TestDb, helpline, run, run_with_input, test_clock};
use crate::portal::{GOOD, Portal, login, reset_token, temporary_password_in, text_of};

async fn append_three(store: &Store) {
    let clock = test_clock();
    for (i, action) in [
        "temporary_password_issued",
        "password_changed",
        "contact_change",
    ]
    .iter()
    .enumerate()
    {
        let mut tx = store.begin_write().await.expect("tx");
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: "system",
                action,
                subject: "contractor:C-1001",
                channel: helpline::domain::channel::Channel::Voice,
                detail: format!("event {i}"),
            },
            clock.now_ms(),
        )
        .await
        .expect("append");
        tx.commit().await.expect("commit");
    }
}

#[tokio::test]
async fn an_intact_chain_verifies() {
    let db = TestDb::new().await;
    let store = db.store().await;
    append_three(&store).await;
    assert_eq!(audit::verify(store.pool()).await.expect("intact"), 3);
}

#[tokio::test]
async fn the_database_refuses_to_edit_or_delete_events() {
    let db = TestDb::new().await;
    let store = db.store().await;
    append_three(&store).await;
    // Refused by the trigger itself (its message), not by some other error.
    for sql in [
        "UPDATE audit_events SET detail = 'x' WHERE seq = 2",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE seq = 3",
    ] {
        let refused = store
            .pool()
            .execute(sql)
            .await
            .expect_err("the database refuses it");
        assert!(
            refused.to_string().contains("audit_events is append-only"),
            "{sql}: {refused}"
        );
    }
    let details: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_events ORDER BY seq")
        .fetch_all(store.pool())
        .await
        .expect("read");
    assert_eq!(
        details,
        ["event 0", "event 1", "event 2"],
        "nothing changed"
    );
    assert_eq!(audit::verify(store.pool()).await.expect("intact"), 3);
}

/// Someone with direct database access disables the guard and edits a row.
async fn tamper(db: &TestDb, store: &Store, sql: &str) {
    let disable = if db.is_postgres() {
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"
    } else {
        "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete"
    };
    store
        .pool()
        .execute(disable)
        .await
        .expect("disable trigger");
    // The test's own statement: the point is raw SQL, as an intruder would type it.
    store
        .pool()
        .execute(AssertSqlSafe(sql))
        .await
        .expect("tamper");
}

#[tokio::test]
async fn a_tampered_row_fails_verification_and_is_named() {
    let db = TestDb::new().await;
    let store = db.store().await;
    append_three(&store).await;
    tamper(
        &db,
        &store,
        "UPDATE audit_events SET actor = 'staff:9' WHERE seq = 2",
    )
    .await;
    match audit::verify(store.pool()).await {
        Err(VerifyError::Broken(ChainBreak::Altered { seq })) => assert_eq!(seq, 2),
        other => panic!("expected event 2 to be named, got {other:?}"),
    }

    // The command says so too, and fails.
    let (code, out, err) = run(helpline(db.dir())
        .env("HELPLINE_DATABASE_URL", db.url())
        .args(["audit", "verify"]));
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("audit event 2 was altered"), "{err}");
}

#[tokio::test]
async fn a_removed_row_is_found() {
    let db = TestDb::new().await;
    let store = db.store().await;
    append_three(&store).await;
    tamper(&db, &store, "DELETE FROM audit_events WHERE seq = 3").await;
    assert!(matches!(
        audit::verify(store.pool()).await,
        Err(VerifyError::Broken(ChainBreak::HeadMismatch {
            last: 2,
            head: 3
        }))
    ));
    tamper_more(&store, "DELETE FROM audit_events WHERE seq = 1").await;
    assert!(matches!(
        audit::verify(store.pool()).await,
        Err(VerifyError::Broken(ChainBreak::Missing {
            seq: 2,
            expected: 1
        }))
    ));
}

async fn tamper_more(store: &Store, sql: &str) {
    // As in `tamper`: the test's own raw SQL.
    store
        .pool()
        .execute(AssertSqlSafe(sql))
        .await
        .expect("tamper");
}

#[tokio::test]
async fn audit_verify_command_passes_on_an_intact_log() {
    let db = TestDb::new().await;
    let store = db.store().await;
    append_three(&store).await;
    let (code, out, err) = run(helpline(db.dir())
        .env("HELPLINE_DATABASE_URL", db.url())
        .args(["audit", "verify"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("audit log intact: 3 events"), "{out}");
}

async fn insert_row(store: &Store, row: &AuditRow) {
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor, action, subject, channel, detail, prev_hash, \
         hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(row.seq)
    .bind(row.at)
    .bind(&row.actor)
    .bind(&row.action)
    .bind(&row.subject)
    .bind(&row.channel)
    .bind(&row.detail)
    .bind(&row.prev_hash)
    .bind(&row.hash)
    .execute(store.pool())
    .await
    .expect("the triggers let an insert through");
}

/// Someone with write access adds an event of their own, chained as the app would chain it
/// (the algorithm is no secret), but cannot move the head without it showing.
#[tokio::test]
async fn an_inserted_event_is_found() {
    let db = TestDb::new().await;
    let store = db.store().await;
    append_three(&store).await;
    let last: String = sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = 3")
        .fetch_one(store.pool())
        .await
        .expect("last hash");
    let mut forged = AuditRow {
        seq: 4,
        at: crate::common::T0,
        actor: "staff:9".into(),
        action: "password_changed".into(),
        subject: "contractor:C-1001".into(),
        channel: "staff".into(),
        detail: "reset at the counter".into(),
        prev_hash: last,
        hash: String::new(),
    };
    forged.hash = audit::chain_hash(&forged);
    insert_row(&store, &forged).await;
    match audit::verify(store.pool()).await {
        Err(VerifyError::Broken(ChainBreak::HeadMismatch { last: 4, head: 3 })) => {}
        other => panic!("the extra event must be found, got {other:?}"),
    }
    let (code, out, err) = run(helpline(db.dir())
        .env("HELPLINE_DATABASE_URL", db.url())
        .args(["audit", "verify"]));
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("ends at event 3") || err.contains("ends at event 4"),
        "{err}"
    );

    // One slipped in before the first event is named too.
    let db = TestDb::new().await;
    let store = db.store().await;
    append_three(&store).await;
    let mut early = forged.clone();
    early.seq = 0;
    early.prev_hash = audit::GENESIS.to_string();
    early.hash = audit::chain_hash(&early);
    insert_row(&store, &early).await;
    assert!(matches!(
        audit::verify(store.pool()).await,
        Err(VerifyError::Broken(ChainBreak::Missing {
            seq: 0,
            expected: 1
        }))
    ));
}

async fn actions(store: &Store) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT action, subject, channel FROM audit_events ORDER BY seq")
        .fetch_all(store.pool())
        .await
        .expect("events")
}

/// Every real flow that changes a credential writes its event, and the chain still verifies:
/// a temporary password and the forced change, a reset link and the reset, and `staff add`.
#[tokio::test]
async fn every_credential_flow_writes_its_event() {
    let p = Portal::start().await;
    let store = p.app.state.store.clone();

    // The kiosk: a temporary password by text, then the forced change.
    let mut b = p.browser();
    b.post("/help", &[("number", "C-1001"), ("phone", "3036582075")])
        .await;
    b.post("/help/send", &[("destination", "sms")]).await;
    let temp = temporary_password_in(p.twilio.wait_for(1).await[0].field("Body").expect("body"));
    assert_eq!(
        login(&mut b, "C-1001", &temp).await.location(),
        Some("/login/change")
    );
    let page = b
        .post(
            "/login/change",
            &[
                ("password", GOOD),
                ("confirm", GOOD),
                ("question", "first_pet"),
                ("answer", "Rex"),
                ("answer_again", "Rex"),
            ],
        )
        .await;
    assert_eq!(page.location(), Some("/account?changed=1"), "{}", page.body);

    // Forgot: a link by email, then the reset.
    p.browser().post("/forgot", &[("username", "C-1002")]).await;
    // (After the change notice and the email telling of the temporary password.)
    let mails = p.smtp.wait_for(3).await;
    let link = mails
        .iter()
        .find(|m| m.to == ["<sam@milehigh.example>"])
        .expect("the link to C-1002");
    let token = reset_token(&text_of(&link.data));
    let mut r = p.browser();
    r.get(&format!("/reset/{token}")).await;
    let page = r
        .post(
            "/reset",
            &[
                ("password", GOOD),
                ("confirm", GOOD),
                ("question", "first_pet"),
                ("answer", "Rex"),
                ("answer_again", "Rex"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);

    let by = |a: &str, s: &str, c: &str| (a.to_string(), s.to_string(), c.to_string());
    assert_eq!(
        actions(&store).await,
        vec![
            // The kiosk's own channel: the walk-up "I can't log in" sent it.
            by("temporary_password_issued", "contractor:C-1001", "kiosk"),
            by("password_changed", "contractor:C-1001", "web"),
            by("reset_link_issued", "contractor:C-1002", "web"),
            by("password_reset", "contractor:C-1002", "web"),
        ]
    );

    // `staff add`, through the command.
    let staff_password = "St4ff-Pa55word";
    let (code, out, err) = run_with_input(
        helpline(p.app.db.dir())
            .env("HELPLINE_DATABASE_URL", p.app.db.url())
            .args(["staff", "add", "pat@city.example.gov", "--name", "Pat"])
            .arg("--password-stdin"),
        &format!("{staff_password}\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("staff login pat@city.example.gov added"),
        "{out}"
    );
    let all = actions(&store).await;
    assert_eq!(
        all.last(),
        Some(&by("staff_added", "staff:pat@city.example.gov", "cli"))
    );
    let (code, out, err) = run(helpline(p.app.db.dir())
        .env("HELPLINE_DATABASE_URL", p.app.db.url())
        .args(["audit", "verify"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("audit log intact: 5 events"), "{out}");

    // No event holds a secret.
    let details: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_events")
        .fetch_all(store.pool())
        .await
        .expect("details");
    for d in details {
        for secret in [temp.as_str(), token.as_str(), GOOD, staff_password] {
            assert!(!d.contains(secret), "{d}");
        }
    }
}
