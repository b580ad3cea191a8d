//! Typed ids of the store's rows, so a contractor's id is never passed where an account's is
//! expected. Each is the row's integer key; it is shown (in logs, ticket references and
//! audit details) as that number.

/// Declares an id type over the row's `i64` key, stored and serialised as the bare number.
macro_rules! row_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

row_id!(
    /// A contractor on the roster (`contractors.id`).
    ContractorId
);
row_id!(
    /// A contractor's portal account (`accounts.id`).
    AccountId
);
row_id!(
    /// A case in the staff queue (`tickets.id`); contractors are told it as "#N".
    TicketId
);
row_id!(
    /// A message in the outbox (`outbox.id`).
    MessageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_show_and_serialise_as_their_number() {
        assert_eq!(TicketId(42).to_string(), "42");
        assert_eq!(serde_json::to_string(&ContractorId(7)).unwrap(), "7");
        assert_eq!(
            serde_json::from_str::<AccountId>("9").unwrap(),
            AccountId(9)
        );
    }
}
