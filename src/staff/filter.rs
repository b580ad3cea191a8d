//! What a queue shows, as staff ask for it (the queue page's filter form, the JSON API's
//! query): the words they may use and what is wrong with the others. One reading, so the page
//! and the API filter alike.

use crate::domain::ticket::TicketKind;
use crate::store::queue::{Assignee, QueueFilter};

/// The longest search (a contractor number, license number or email).
pub const SEARCH_MAX: usize = 200;

/// A queue filter as typed: empty strings mean the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueAsk<'a> {
    /// `open` (default), `resolved` or `all`.
    pub status: &'a str,
    /// A ticket kind's stored name, or empty for every kind.
    pub kind: &'a str,
    /// `mine`, `unassigned`, or empty for anyone.
    pub assignee: &'a str,
    /// A contractor number, license number or email on record.
    pub search: &'a str,
}

/// The filter `ask` means for staff member `me`, or what is wrong with it (a sentence).
pub fn queue_filter(ask: QueueAsk<'_>, me: i64) -> Result<QueueFilter, String> {
    let status = match ask.status {
        "" | "open" => "open",
        "all" => "",
        "resolved" => "resolved",
        other => {
            return Err(format!(
                "Unknown status '{other}': choose open, resolved or all."
            ));
        }
    };
    if !ask.kind.is_empty() && TicketKind::parse(ask.kind).is_none() {
        return Err(format!(
            "Unknown reason '{}': choose one from the list.",
            ask.kind
        ));
    }
    let assignee = match ask.assignee {
        "" => Assignee::Anyone,
        "mine" => Assignee::Member(me),
        "unassigned" => Assignee::Nobody,
        other => {
            return Err(format!(
                "Unknown assignee '{other}': choose anyone, mine or unassigned."
            ));
        }
    };
    let search = ask.search.trim();
    if search.chars().count() > SEARCH_MAX || search.chars().any(char::is_control) {
        return Err(format!(
            "The search holds a control character or is longer than {SEARCH_MAX} characters."
        ));
    }
    Ok(QueueFilter {
        status: status.into(),
        kind: ask.kind.into(),
        assignee,
        search: search.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_staff_may_use_and_the_others() {
        let f = queue_filter(QueueAsk::default(), 7).expect("defaults");
        assert_eq!((f.status.as_str(), f.assignee), ("open", Assignee::Anyone));
        let mine = QueueAsk {
            status: "all",
            assignee: "mine",
            ..Default::default()
        };
        let f = queue_filter(mine, 7).expect("mine");
        assert_eq!((f.status.as_str(), f.assignee), ("", Assignee::Member(7)));
        for bad in [
            QueueAsk {
                status: "closed",
                ..Default::default()
            },
            QueueAsk {
                kind: "nope",
                ..Default::default()
            },
            QueueAsk {
                assignee: "bob",
                ..Default::default()
            },
            QueueAsk {
                search: "a\u{7}b",
                ..Default::default()
            },
        ] {
            assert!(queue_filter(bad, 7).is_err(), "{bad:?}");
        }
    }
}
