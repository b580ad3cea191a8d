//! Roster import: the city's contractor list as CSV (header row required, columns
//! `contractor_number,license_number,business_name,contact_name,phone,alt_phone,email`, others
//! ignored). An upsert keyed by contractor number, safe to run again: unchanged rows are left
//! alone, changed ones updated, and a changed phone or email voids pending secrets and is
//! audited. Each bad row is reported with its line number and reason while the rest import.

use std::collections::HashMap;
use std::io::Read;

use indicatif::ProgressBar;

use crate::audit::{self, AuditEvent};
use crate::clock::SharedClock;
use crate::domain::channel::Channel;
use crate::domain::email::EmailAddress;
use crate::domain::ids::ContractorId;
use crate::domain::phone::PhoneNumber;
use crate::store::contractors::{self, RosterFields};
use crate::store::{Store, accounts};

/// The columns of the contract, in order.
pub const COLUMNS: [&str; 7] = [
    "contractor_number",
    "license_number",
    "business_name",
    "contact_name",
    "phone",
    "alt_phone",
    "email",
];

/// Rows written per transaction: large enough to be fast, small enough not to hold the
/// SQLite write lock for long.
const BATCH: usize = 2_000;

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: Vec<Rejected>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} added, {} updated, {} unchanged, {} rejected",
            self.added,
            self.updated,
            self.unchanged,
            self.rejected.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has no header row")]
    NoHeader,
    #[error("the header row lacks the column(s) {0}; the roster needs {cols}", cols = COLUMNS.join(","))]
    MissingColumns(String),
    #[error("cannot read the file: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write to the database: {0}")]
    Store(#[from] sqlx::Error),
}

/// Imports a roster. `progress`, when given, is advanced by bytes read and then by rows written.
pub async fn import<R: Read>(
    store: &Store,
    clock: &SharedClock,
    input: R,
    progress: Option<&ProgressBar>,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let rows = parse(input, progress, &mut report.rejected)?;

    let existing = contractors::all_by_number(store.pool()).await?;
    // A license number is a username in some cities: it must name one contractor only.
    let mut license_owner: HashMap<String, String> = existing
        .values()
        .filter_map(|(_, f)| {
            f.license_number
                .clone()
                .map(|l| (l.to_ascii_uppercase(), f.contractor_number.clone()))
        })
        .collect();

    enum Change {
        Add(RosterFields),
        Update(ContractorId, RosterFields, RosterFields),
    }
    let mut changes = Vec::new();
    for (line, fields) in rows {
        if let Some(license) = &fields.license_number {
            let key = license.to_ascii_uppercase();
            match license_owner.get(&key) {
                Some(owner) if *owner != fields.contractor_number => {
                    report.rejected.push(Rejected {
                        line,
                        reason: format!(
                            "license_number {license} already belongs to contractor {owner}"
                        ),
                    });
                    continue;
                }
                _ => {
                    license_owner.insert(key, fields.contractor_number.clone());
                }
            }
        }
        match existing.get(&fields.contractor_number) {
            None => changes.push(Change::Add(fields)),
            Some((_, old)) if *old == fields => report.unchanged += 1,
            Some((id, old)) => changes.push(Change::Update(*id, old.clone(), fields)),
        }
    }
    report.rejected.sort_by_key(|r| r.line);

    if let Some(bar) = progress {
        bar.set_position(0);
        bar.set_length(changes.len() as u64);
        bar.set_message("writing");
    }
    for batch in changes.chunks(BATCH) {
        let now = clock.now_ms();
        let mut tx = store.begin_write().await?;
        for change in batch {
            match change {
                Change::Add(f) => {
                    contractors::insert(&mut tx, f, now).await?;
                    report.added += 1;
                }
                Change::Update(id, old, new) => {
                    contractors::update(&mut tx, *id, new, now).await?;
                    if old.contact_differs(new) {
                        accounts::revoke_secrets(&mut tx, *id, now).await?;
                        if !old
                            .email
                            .as_deref()
                            .unwrap_or_default()
                            .eq_ignore_ascii_case(new.email.as_deref().unwrap_or_default())
                        {
                            clear_bounces(&mut tx, old, new).await?;
                        }
                        audit::append(
                            &mut tx,
                            &AuditEvent {
                                actor: "roster-import",
                                action: "contact_change",
                                subject: &format!("contractor:{}", new.contractor_number),
                                channel: Channel::Cli,
                                detail: describe_contact_change(old, new),
                            },
                            now,
                        )
                        .await?;
                    }
                    report.updated += 1;
                }
            }
        }
        tx.commit().await?;
        if let Some(bar) = progress {
            bar.inc(batch.len() as u64);
        }
    }
    Ok(report)
}

/// A changed email on record starts afresh: a bounce recorded for the old or the new address
/// no longer stops mail to this contractor (the city has just said where mail goes now).
async fn clear_bounces(
    tx: &mut crate::store::Tx,
    old: &RosterFields,
    new: &RosterFields,
) -> Result<(), sqlx::Error> {
    for address in [&old.email, &new.email].into_iter().flatten() {
        crate::store::email_undeliverable::clear(&mut **tx, address).await?;
    }
    Ok(())
}

/// Reads and checks every row; good rows come back with their line numbers.
fn parse<R: Read>(
    input: R,
    progress: Option<&ProgressBar>,
    rejected: &mut Vec<Rejected>,
) -> Result<Vec<(u64, RosterFields)>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader.headers()?.clone();
    if headers.is_empty() || headers.iter().all(str::is_empty) {
        return Err(ImportError::NoHeader);
    }
    let position = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let mut index = [0usize; 7];
    let mut missing = Vec::new();
    for (slot, name) in index.iter_mut().zip(COLUMNS) {
        match position(name) {
            Some(i) => *slot = i,
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing.join(",")));
    }

    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                rejected.push(Rejected {
                    line,
                    reason: format!("unreadable row ({})", csv_reason(&e)),
                });
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if let Some(bar) = progress {
            bar.set_position(reader.position().byte());
        }
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |i: usize| record.get(index[i]).unwrap_or("").trim();
        match check_row([
            field(0),
            field(1),
            field(2),
            field(3),
            field(4),
            field(5),
            field(6),
        ]) {
            Ok(fields) => {
                if let Some(first) = seen.get(&fields.contractor_number) {
                    rejected.push(Rejected {
                        line,
                        reason: format!(
                            "contractor_number {} already appears on line {first}",
                            fields.contractor_number
                        ),
                    });
                    continue;
                }
                seen.insert(fields.contractor_number.clone(), line);
                rows.push((line, fields));
            }
            Err(reason) => rejected.push(Rejected { line, reason }),
        }
    }
    Ok(rows)
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// Checks one row's fields (in [`COLUMNS`] order).
pub fn check_row(f: [&str; 7]) -> Result<RosterFields, String> {
    let [number, license, business, contact, phone, alt_phone, email] = f;
    if number.is_empty() {
        return Err("contractor_number is missing".into());
    }
    if number.chars().count() > 64 || number.chars().any(char::is_control) {
        return Err("contractor_number is not a valid number".into());
    }
    let phone_field = |name: &str, value: &str| -> Result<Option<String>, String> {
        if value.is_empty() {
            return Ok(None);
        }
        PhoneNumber::parse(value)
            .map(|p| Some(p.to_string()))
            .map_err(|e| format!("{name} '{value}' {e}"))
    };
    let phone = phone_field("phone", phone)?;
    let alt_phone = phone_field("alt_phone", alt_phone)?;
    let email = if email.is_empty() {
        None
    } else {
        Some(
            EmailAddress::parse(email)
                .map_err(|e| format!("email '{email}' {e}"))?
                .to_string(),
        )
    };
    if phone.is_none() && alt_phone.is_none() && email.is_none() {
        return Err("no phone or email: Helpline could never verify this contractor".into());
    }
    let optional = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(RosterFields {
        contractor_number: number.to_string(),
        license_number: optional(license),
        business_name: business.to_string(),
        contact_name: contact.to_string(),
        phone,
        alt_phone,
        email,
    })
}

/// "phone ***-***-2075 → ***-***-1111": what changed, masked.
fn describe_contact_change(old: &RosterFields, new: &RosterFields) -> String {
    use crate::domain::email::mask_address;
    let mask = |v: &Option<String>| v.as_deref().map_or("(none)".to_string(), mask_address);
    let mut parts = Vec::new();
    for (name, a, b) in [
        ("phone", &old.phone, &new.phone),
        ("alt_phone", &old.alt_phone, &new.alt_phone),
        ("email", &old.email, &new.email),
    ] {
        if a != b {
            parts.push(format!("{name} {} → {}", mask(a), mask(b)));
        }
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_checked() {
        let ok = check_row(["C1", "L1", "B", "N", "(303) 658-2075", "", "a@b.co"]).unwrap();
        assert_eq!(ok.phone.as_deref(), Some("+13036582075"));
        assert_eq!(ok.alt_phone, None);
        assert!(
            check_row(["", "L1", "B", "N", "3036582075", "", ""])
                .unwrap_err()
                .contains("contractor_number is missing")
        );
        assert!(
            check_row(["C1", "", "", "", "555-1234", "", ""])
                .unwrap_err()
                .starts_with("phone '555-1234'")
        );
        assert!(
            check_row(["C1", "", "", "", "", "", "nope"])
                .unwrap_err()
                .starts_with("email 'nope'")
        );
        assert!(
            check_row(["C1", "", "", "", "", "", ""])
                .unwrap_err()
                .contains("no phone or email")
        );
    }
}
