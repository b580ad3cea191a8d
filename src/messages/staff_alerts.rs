//! Emails to Building Division staff (issue 12): an urgent ticket for those on duty, and the
//! daily digest of the queue. English only (staff pages are English); the templates live with
//! the staff pages (`templates/staff/email/`). Tickets never hold a secret, and nothing else
//! goes in these.

use super::email::compose;
use crate::mail::ComposedEmail;

/// `template` name of the urgent-ticket alert.
pub const URGENT_TICKET: &str = "urgent_ticket";
/// `template` name of the daily queue digest.
pub const QUEUE_DIGEST: &str = "queue_digest";

message_fields! {
    /// An urgent ticket was opened: what it is and where to open it.
    #[derive(Debug, Clone, Copy)]
    pub struct UrgentTicketFields<'a> {
        pub ticket: i64,
        /// The reason as staff read it in the queue.
        pub kind: &'a str,
        pub channel: &'a str,
        pub summary: &'a str,
        /// `{public_url}/staff/tickets/{id}`.
        pub link: &'a str,
        pub dashboard: &'a str,
    }
    templates {
        UrgentTicketSubject = "staff/email/urgent_ticket.subject.txt",
        UrgentTicketText = "staff/email/urgent_ticket.txt",
        UrgentTicketHtml = "staff/email/urgent_ticket.html",
    }
}

message_fields! {
    /// The queue as it stands in the morning, and yesterday's traffic.
    #[derive(Debug, Clone, Copy)]
    pub struct QueueDigestFields<'a> {
        /// The day of the digest on the city's calendar (`2026-12-03`).
        pub date: &'a str,
        pub yesterday: &'a str,
        pub open: i64,
        pub urgent: i64,
        /// The oldest open ticket's age in words, or "none".
        pub oldest: &'a str,
        pub overdue: i64,
        pub overdue_hours: i64,
        pub opened: i64,
        pub resolved: i64,
        pub queue: &'a str,
        pub dashboard: &'a str,
    }
    templates {
        QueueDigestSubject = "staff/email/queue_digest.subject.txt",
        QueueDigestText = "staff/email/queue_digest.txt",
        QueueDigestHtml = "staff/email/queue_digest.html",
    }
}

/// The "urgent ticket opened" email to a staff member on duty.
pub fn urgent_ticket_email(f: &UrgentTicketFields<'_>) -> Result<ComposedEmail, askama::Error> {
    compose::<_, UrgentTicketSubject, UrgentTicketText, UrgentTicketHtml>(URGENT_TICKET, f)
}

/// The daily digest of the queue.
pub fn queue_digest_email(f: &QueueDigestFields<'_>) -> Result<ComposedEmail, askama::Error> {
    compose::<_, QueueDigestSubject, QueueDigestText, QueueDigestHtml>(QUEUE_DIGEST, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_urgent_email_names_the_ticket_links_it_and_escapes_the_summary_in_html() {
        let m = urgent_ticket_email(&UrgentTicketFields {
            ticket: 42,
            kind: "\"This wasn't me\"",
            channel: "email",
            summary: "Pat <Roof & Co> says\nit was not them",
            link: "https://help.example.gov/staff/tickets/42",
            dashboard: "https://help.example.gov/staff/dashboard",
        })
        .unwrap();
        assert_eq!(m.template, URGENT_TICKET);
        assert_eq!(m.subject, "Urgent ticket #42: \"This wasn't me\"");
        assert!(m.text.contains("https://help.example.gov/staff/tickets/42"));
        assert!(m.text.contains("Came in by: email"));
        assert!(
            m.html.contains("Pat &#60;Roof &#38; Co&#62;")
                || m.html.contains("Pat &lt;Roof &amp; Co&gt;"),
            "{}",
            m.html
        );
        assert!(!m.html.contains("<Roof"));
    }

    #[test]
    fn the_digest_says_every_figure() {
        let m = queue_digest_email(&QueueDigestFields {
            date: "2026-12-03",
            yesterday: "2026-12-02",
            open: 7,
            urgent: 2,
            oldest: "3 d 4 h",
            overdue: 3,
            overdue_hours: 24,
            opened: 5,
            resolved: 4,
            queue: "https://help.example.gov/staff",
            dashboard: "https://help.example.gov/staff/dashboard",
        })
        .unwrap();
        assert_eq!(m.subject, "Helpline queue on 2026-12-03: 7 open, 2 urgent");
        for line in [
            "Open tickets: 7",
            "Urgent: 2",
            "Oldest open ticket: 3 d 4 h",
            "Open for more than 24 hours: 3",
            "Opened yesterday (2026-12-02): 5",
            "Resolved yesterday (2026-12-02): 4",
        ] {
            assert!(m.text.contains(line), "{line}: {}", m.text);
        }
    }
}
