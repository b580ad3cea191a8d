//! Contractors on the roster: who they are and the phone and email on record.

use std::collections::HashMap;

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;
use crate::domain::contact::Contact;
use crate::domain::email::EmailAddress;
use crate::domain::ids::ContractorId;
use crate::domain::phone::PhoneNumber;

/// The roster fields of one contractor, as imported (phones already E.164, email normalised).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RosterFields {
    pub contractor_number: String,
    pub license_number: Option<String>,
    pub business_name: String,
    pub contact_name: String,
    pub phone: Option<String>,
    pub alt_phone: Option<String>,
    pub email: Option<String>,
}

crate::store::from_row!(RosterFields {
    contractor_number,
    license_number,
    business_name,
    contact_name,
    phone,
    alt_phone,
    email
});

impl RosterFields {
    /// The email on record, parsed (the roster stores it normalised at import).
    pub fn email_on_record(&self) -> Option<EmailAddress> {
        self.email
            .as_deref()
            .and_then(|e| EmailAddress::parse(e).ok())
    }

    /// The (mobile) phone on record, parsed; not the alternate phone, which may be a landline.
    pub fn phone_on_record(&self) -> Option<PhoneNumber> {
        self.phone
            .as_deref()
            .and_then(|p| PhoneNumber::parse(p).ok())
    }

    /// True when `contact` is the phone, the alternate phone or the email on record: the only
    /// places a secret of this contractor may go, and the one answer to "is this theirs?" for
    /// every channel. The roster stores contacts parsed at import (E.164, a normalised
    /// address), so this compares parsed values; emails without regard to case.
    pub fn on_record(&self, contact: &Contact) -> bool {
        match contact {
            Contact::Phone(p) => {
                let p = Some(p.as_str());
                self.phone.as_deref() == p || self.alt_phone.as_deref() == p
            }
            Contact::Email(e) => self
                .email
                .as_deref()
                .is_some_and(|on_record| on_record.eq_ignore_ascii_case(e.as_str())),
        }
    }

    /// True when the phone, alternate phone or email differ: a contact change, which voids
    /// pending secrets and is audited.
    pub fn contact_differs(&self, other: &RosterFields) -> bool {
        self.phone != other.phone || self.alt_phone != other.alt_phone || self.email != other.email
    }
}

/// A contractor row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contractor {
    pub id: ContractorId,
    /// Read from the same row's columns.
    pub fields: RosterFields,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Contractor {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        Ok(Self {
            id: row.try_get("id")?,
            fields: RosterFields::from_row(row)?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// The columns a row is read from. A macro, not a `const`: queries built with it stay
/// `&'static str`, which sqlx takes as safe SQL.
macro_rules! columns {
    () => {
        "id, contractor_number, license_number, business_name, contact_name, \
         phone, alt_phone, email, created_at, updated_at"
    };
}

/// Every contractor's roster fields by contractor number, with the row id: what an import
/// compares against.
pub async fn all_by_number(
    pool: &AnyPool,
) -> Result<HashMap<String, (ContractorId, RosterFields)>, sqlx::Error> {
    let rows: Vec<Contractor> = sqlx::query_as(concat!("SELECT ", columns!(), " FROM contractors"))
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|c| (c.fields.contractor_number.clone(), (c.id, c.fields)))
        .collect())
}

pub async fn insert(
    tx: &mut Tx,
    f: &RosterFields,
    now: Millis,
) -> Result<ContractorId, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO contractors (contractor_number, license_number, business_name, contact_name, \
         phone, alt_phone, email, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(&f.contractor_number)
    .bind(&f.license_number)
    .bind(&f.business_name)
    .bind(&f.contact_name)
    .bind(&f.phone)
    .bind(&f.alt_phone)
    .bind(&f.email)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

pub async fn update(
    tx: &mut Tx,
    id: ContractorId,
    f: &RosterFields,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contractors SET license_number = $2, business_name = $3, contact_name = $4, \
         phone = $5, alt_phone = $6, email = $7, updated_at = $8 WHERE id = $1",
    )
    .bind(id)
    .bind(&f.license_number)
    .bind(&f.business_name)
    .bind(&f.contact_name)
    .bind(&f.phone)
    .bind(&f.alt_phone)
    .bind(&f.email)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn by_number(pool: &AnyPool, number: &str) -> Result<Option<Contractor>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM contractors WHERE contractor_number = $1"
    ))
    .bind(number)
    .fetch_optional(pool)
    .await
}

pub async fn count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM contractors")
        .fetch_one(pool)
        .await
}

/// Contractors whose phone or alternate phone on record is this number.
pub async fn by_phone(
    pool: &AnyPool,
    phone: &crate::domain::phone::PhoneNumber,
) -> Result<Vec<Contractor>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM contractors WHERE phone = $1 OR alt_phone = $1 ORDER BY id"
    ))
    .bind(phone.as_str())
    .fetch_all(pool)
    .await
}

/// Contractors whose email on record is this address (ignoring case).
pub async fn by_email(
    pool: &AnyPool,
    email: &crate::domain::email::EmailAddress,
) -> Result<Vec<Contractor>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM contractors WHERE LOWER(email) = LOWER($1) ORDER BY id"
    ))
    .bind(email.as_str())
    .fetch_all(pool)
    .await
}

/// The contractor whose contractor number or license number (ignoring case and surrounding
/// space) is `typed`, as the city's username setting says.
pub async fn by_identifier(
    pool: &AnyPool,
    column: Identifier,
    typed: &str,
) -> Result<Option<Contractor>, sqlx::Error> {
    let sql = match column {
        Identifier::ContractorNumber => concat!(
            "SELECT ",
            columns!(),
            " FROM contractors WHERE upper(contractor_number) = upper($1) ORDER BY id LIMIT 1"
        ),
        Identifier::LicenseNumber => concat!(
            "SELECT ",
            columns!(),
            " FROM contractors WHERE upper(license_number) = upper($1) ORDER BY id LIMIT 1"
        ),
    };
    sqlx::query_as(sql)
        .bind(typed.trim())
        .fetch_optional(pool)
        .await
}

/// The one contractor whose contractor number or license number, with everything but its
/// digits left out, is `digits`: what a caller keys in on a phone for `C-1001` is `1001`.
/// `None` when nobody or more than one contractor matches (an ambiguous number is no match).
pub async fn by_keyed_digits(
    pool: &AnyPool,
    digits: &str,
) -> Result<Option<Contractor>, sqlx::Error> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    // The pattern narrows the rows to those holding these digits in order (only digits are in
    // it, so nothing needs escaping); the exact comparison is made here.
    let pattern = format!(
        "%{}%",
        digits
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join("%")
    );
    let rows: Vec<Contractor> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM contractors WHERE contractor_number LIKE $1 \
         OR license_number LIKE $1 ORDER BY id LIMIT 50"
    ))
    .bind(pattern)
    .fetch_all(pool)
    .await?;
    let only_digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let mut matching = rows.into_iter().filter(|c| {
        only_digits(&c.fields.contractor_number) == digits
            || c.fields
                .license_number
                .as_deref()
                .map(only_digits)
                .as_deref()
                == Some(digits)
    });
    Ok(match (matching.next(), matching.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    })
}

/// Remembers the language the contractor last used, for the messages sent to them.
pub async fn set_language(
    pool: &AnyPool,
    id: ContractorId,
    language: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contractors SET language = $2 WHERE id = $1 \
         AND (language IS NULL OR language <> $2)",
    )
    .bind(id)
    .bind(language)
    .execute(pool)
    .await?;
    Ok(())
}

/// The language the contractor last used (`en`, `es`), if known.
pub async fn language(pool: &AnyPool, id: ContractorId) -> Result<Option<String>, sqlx::Error> {
    Ok(
        sqlx::query_scalar::<_, Option<String>>("SELECT language FROM contractors WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}

pub async fn by_id(pool: &AnyPool, id: ContractorId) -> Result<Option<Contractor>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM contractors WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Which roster field a typed identifier is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier {
    ContractorNumber,
    LicenseNumber,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(p: &str) -> Contact {
        Contact::Phone(PhoneNumber::parse(p).unwrap())
    }
    fn email(e: &str) -> Contact {
        Contact::Email(EmailAddress::parse(e).unwrap())
    }

    #[test]
    fn on_record_is_the_phone_the_alternate_or_the_email() {
        let f = RosterFields {
            phone: Some("+13035550142".into()),
            alt_phone: Some("+13035550199".into()),
            email: Some("pat@frontrange.example".into()),
            ..Default::default()
        };
        assert!(f.on_record(&phone("(303) 555-0142")));
        assert!(f.on_record(&phone("+1 303 555 0199")));
        assert!(f.on_record(&email("Pat@FrontRange.example")));
        assert!(!f.on_record(&phone("+13035550100")));
        assert!(!f.on_record(&email("pat@elsewhere.example")));
        let none = RosterFields::default();
        assert!(!none.on_record(&phone("+13035550142")));
        assert!(!none.on_record(&email("pat@frontrange.example")));
    }
}
