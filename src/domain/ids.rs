//! Typed ids of the store's rows, so a contractor's id is never passed where an account's is
//! expected. Each is the row's integer key; it is shown (in logs, ticket references and
//! audit details) as that number.

/// Declares an id type over the row's `i64` key, stored and serialised as the bare number:
/// to sqlx it is an `i64` (what `#[derive(sqlx::Type)] #[sqlx(transparent)]` would say, written
/// out so sqlx's proc-macro crate is not needed).
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
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            i64: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as sqlx::Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            i64: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <i64 as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }

            fn produces(&self) -> Option<DB::TypeInfo> {
                <i64 as sqlx::Encode<'q, DB>>::produces(&self.0)
            }

            fn size_hint(&self) -> usize {
                <i64 as sqlx::Encode<'q, DB>>::size_hint(&self.0)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            i64: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                <i64 as sqlx::Decode<'r, DB>>::decode(value).map(Self)
            }
        }

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
