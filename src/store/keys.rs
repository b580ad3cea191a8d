//! The server's random keys, made once per database so every instance uses the same ones.

use sqlx::AnyPool;

use crate::clock::Millis;
use crate::domain::keyed::{Key, Keys};
use crate::domain::secret::random_token;

/// The named key, created at random the first time it is asked for. Two instances starting
/// at once both insert; the first insert wins and both read the same row back.
pub async fn key(pool: &AnyPool, name: &str, now: Millis) -> Result<Key, sqlx::Error> {
    sqlx::query(
        "INSERT INTO server_keys (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(random_token(32))
    .bind(now)
    .execute(pool)
    .await?;
    let value: String = sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Key::from_hex(&value).ok_or_else(|| {
        sqlx::Error::Decode(format!("server key '{name}' is not 64 hex digits").into())
    })
}

/// Every key Helpline uses.
pub async fn load(pool: &AnyPool, now: Millis) -> Result<Keys, sqlx::Error> {
    Ok(Keys {
        identifiers: key(pool, "identifiers", now).await?,
        csrf: key(pool, "csrf", now).await?,
        devices: key(pool, "devices", now).await?,
        callbacks: key(pool, "callbacks", now).await?,
    })
}
