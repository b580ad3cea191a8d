//! The audit log: appends chain, the database refuses edits, and a tampered row is named.

use helpline::audit::{self, AuditEvent, ChainBreak, VerifyError};
use helpline::clock::Clock;
use helpline::store::Store;
use sqlx::Executor;

use crate::common::{TestDb, helpline, run, test_clock};

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
                channel: "voice",
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
    let edit = store
        .pool()
        .execute("UPDATE audit_events SET detail = 'x' WHERE seq = 2")
        .await;
    assert!(edit.is_err(), "update refused");
    let delete = store.pool().execute("DELETE FROM audit_events").await;
    assert!(delete.is_err(), "delete refused");
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
    store.pool().execute(sql).await.expect("tamper");
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
    store.pool().execute(sql).await.expect("tamper");
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
