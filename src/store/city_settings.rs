//! Settings an administrator changes from the staff pages (`city_settings`), read by every
//! instance. Names are dotted like the configuration file's keys (`staff.hours`).

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;

/// One stored setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CitySetting {
    pub name: String,
    pub value: String,
    pub updated_at: Millis,
    /// The staff member's name.
    pub updated_by: String,
}

crate::store::from_row!(CitySetting {
    name,
    value,
    updated_at,
    updated_by
});

/// Every stored setting whose name starts with `prefix`.
pub async fn with_prefix(pool: &AnyPool, prefix: &str) -> Result<Vec<CitySetting>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, value, updated_at, updated_by FROM city_settings \
         WHERE substr(name, 1, length($1)) = $1 ORDER BY name",
    )
    .bind(prefix)
    .fetch_all(pool)
    .await
}

/// Sets `name` to `value` (the last write wins).
pub async fn set(
    tx: &mut Tx,
    name: &str,
    value: &str,
    by: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO city_settings (name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(name)
    .bind(value)
    .bind(now)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes every setting whose name starts with `prefix`; how many there were.
pub async fn clear(tx: &mut Tx, prefix: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM city_settings WHERE substr(name, 1, length($1)) = $1")
        .bind(prefix)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}
