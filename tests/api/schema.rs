//! The two migration sets describe one schema: the same tables, columns (with their kind and
//! nullability) and indexes on SQLite and PostgreSQL, so the backends never drift apart. The
//! comparison needs both databases, so it runs in the PostgreSQL run of the suite (which CI
//! requires); the SQLite run only says so.

use std::collections::BTreeSet;

use helpline::config::DatabaseUrl;
use helpline::store::Store;

use crate::common::TestDb;

/// (table, column, kind, nullable)
type Columns = BTreeSet<(String, String, String, bool)>;
/// (table, index name)
type Indexes = BTreeSet<(String, String)>;

fn kind(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "int8" => "integer".into(),
        "text" => "text".into(),
        other => other.into(),
    }
}

async fn sqlite_schema() -> (Columns, Indexes) {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let store = Store::connect(&DatabaseUrl::new(url))
        .await
        .expect("sqlite");
    store.migrate().await.expect("migrate");
    let pool = store.pool();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut columns = Columns::new();
    for t in &tables {
        // `t` is a table name read from sqlite_master just above.
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{t}')"
        )))
        .fetch_all(pool)
        .await
        .expect("columns");
        for (name, declared, not_null, pk) in rows {
            columns.insert((t.clone(), name, kind(&declared), not_null == 0 && pk == 0));
        }
    }
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(pool)
    .await
    .expect("indexes");
    (columns, indexes.into_iter().collect())
}

async fn postgres_schema(db: &TestDb) -> (Columns, Indexes) {
    let store = db.store().await;
    let pool = store.pool();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("columns");
    let columns = rows
        .into_iter()
        .map(|(t, c, d, n)| (t, c, kind(&d), n == "YES"))
        .collect();
    // Indexes made by hand, not those behind a primary key or a UNIQUE constraint.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT tablename::text, indexname::text FROM pg_indexes WHERE schemaname = 'public' \
         AND tablename <> '_sqlx_migrations' AND indexname NOT IN \
         (SELECT conname::text FROM pg_constraint)",
    )
    .fetch_all(pool)
    .await
    .expect("indexes");
    (columns, indexes.into_iter().collect())
}

#[tokio::test]
async fn both_migration_sets_make_the_same_schema() {
    let db = TestDb::new().await;
    let (sqlite_columns, sqlite_indexes) = sqlite_schema().await;
    assert!(
        sqlite_columns.iter().any(|c| c.0 == "send_budgets"),
        "the SQLite schema was read"
    );
    if !db.is_postgres() {
        eprintln!("schema parity is compared in the PostgreSQL run (HELPLINE_TEST_DATABASE_URL)");
        return;
    }
    let (pg_columns, pg_indexes) = postgres_schema(&db).await;
    let only = |a: &Columns, b: &Columns| a.difference(b).cloned().collect::<Vec<_>>();
    assert!(
        sqlite_columns == pg_columns,
        "columns only in SQLite: {:?}\ncolumns only in PostgreSQL: {:?}",
        only(&sqlite_columns, &pg_columns),
        only(&pg_columns, &sqlite_columns)
    );
    assert!(
        sqlite_indexes == pg_indexes,
        "indexes only in SQLite: {:?}\nindexes only in PostgreSQL: {:?}",
        sqlite_indexes.difference(&pg_indexes).collect::<Vec<_>>(),
        pg_indexes.difference(&sqlite_indexes).collect::<Vec<_>>()
    );
}
