//! What Twilio reports about a text or a call Helpline handed it: the words of its status
//! callbacks (`MessageStatus`, `CallStatus`), in the order a message or call moves through
//! them. A report only ever moves a message forward — a late `sent` after `delivered` changes
//! nothing — so a replayed or reordered callback is harmless. Pure values.

/// A status Twilio reports, with its place in the order of events.
pub trait ReportedStatus: Copy + Eq + 'static {
    /// Every status, in no particular order.
    const ALL: &'static [Self];

    /// Twilio's word, which is also the stored form.
    fn as_str(self) -> &'static str;

    /// Its place: a report is recorded only over one of an earlier stage. Final words share
    /// the last stage, so nothing replaces them.
    fn stage(self) -> u8;

    /// The status for Twilio's word; `None` for a word Helpline does not know.
    fn parse(word: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == word)
    }

    /// The words a report of `self` may replace.
    fn earlier(self) -> Vec<&'static str> {
        Self::ALL
            .iter()
            .filter(|s| s.stage() < self.stage())
            .map(|s| s.as_str())
            .collect()
    }
}

/// `MessageStatus` of Twilio's message status callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    Accepted,
    Scheduled,
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Canceled,
}

impl ReportedStatus for MessageStatus {
    const ALL: &'static [Self] = &[
        MessageStatus::Accepted,
        MessageStatus::Scheduled,
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Undelivered,
        MessageStatus::Failed,
        MessageStatus::Canceled,
    ];

    fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Accepted => "accepted",
            MessageStatus::Scheduled => "scheduled",
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Canceled => "canceled",
        }
    }

    fn stage(self) -> u8 {
        match self {
            MessageStatus::Accepted | MessageStatus::Scheduled => 1,
            MessageStatus::Queued => 2,
            MessageStatus::Sending => 3,
            MessageStatus::Sent => 4,
            MessageStatus::Delivered
            | MessageStatus::Undelivered
            | MessageStatus::Failed
            | MessageStatus::Canceled => 5,
        }
    }
}

impl MessageStatus {
    /// The text will not reach the phone: the contractor must be told another way.
    pub fn is_failure(self) -> bool {
        matches!(self, MessageStatus::Undelivered | MessageStatus::Failed)
    }

    /// The phone took the text.
    pub fn is_delivered(self) -> bool {
        self == MessageStatus::Delivered
    }
}

/// `CallStatus` of Twilio's call status callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    Queued,
    Initiated,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl ReportedStatus for CallStatus {
    const ALL: &'static [Self] = &[
        CallStatus::Queued,
        CallStatus::Initiated,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::Busy,
        CallStatus::NoAnswer,
        CallStatus::Failed,
        CallStatus::Canceled,
    ];

    fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
        }
    }

    fn stage(self) -> u8 {
        match self {
            CallStatus::Queued => 1,
            CallStatus::Initiated => 2,
            CallStatus::Ringing => 3,
            CallStatus::InProgress => 4,
            CallStatus::Completed
            | CallStatus::Busy
            | CallStatus::NoAnswer
            | CallStatus::Failed
            | CallStatus::Canceled => 5,
        }
    }
}

impl CallStatus {
    /// The call is over, one way or another.
    pub fn is_final(self) -> bool {
        self.stage() == 5
    }

    /// Nobody took the call Helpline placed: staff should try.
    pub fn is_unanswered(self) -> bool {
        matches!(
            self,
            CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Failed
        )
    }

    /// Someone (or a voicemail) answered.
    pub fn was_answered(self) -> bool {
        self == CallStatus::Completed
    }

    /// "busy", "no answer": for the staff queue.
    pub fn words(self) -> &'static str {
        match self {
            CallStatus::NoAnswer => "no answer",
            CallStatus::InProgress => "in progress",
            other => other.as_str(),
        }
    }
}

/// Twilio's `ErrorCode` as kept: its digits, or nothing when it is missing or not a code.
pub fn error_code(raw: Option<&str>) -> Option<String> {
    let code = raw?.trim();
    (!code.is_empty() && code.len() <= 8 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.to_string())
}

/// What staff can do about a Twilio messaging error, for the codes a help line meets.
pub fn error_hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "30003" => "the phone was off or out of reach",
        "30004" => "the number blocks texts, or the contractor replied STOP",
        "30005" => "the number is unknown to its carrier (no longer in service?)",
        "30006" => "the number is a landline or cannot take texts: offer a callback",
        "30007" => "the carrier filtered the text as spam",
        "30008" => "the carrier gave no reason",
        "21610" => "the contractor replied STOP to this number",
        "21614" => "the number is not a mobile number: offer a callback",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for s in MessageStatus::ALL {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(*s));
        }
        for s in CallStatus::ALL {
            assert_eq!(CallStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(MessageStatus::parse("read"), None);
        assert_eq!(CallStatus::parse("no_answer"), None);
        assert_eq!(CallStatus::parse("no-answer"), Some(CallStatus::NoAnswer));
    }

    #[test]
    fn reports_only_move_forward_and_final_words_stay() {
        let earlier = MessageStatus::Delivered.earlier();
        assert!(earlier.contains(&"sent") && earlier.contains(&"queued"));
        assert!(
            !earlier.contains(&"failed"),
            "a final word is never replaced"
        );
        assert!(!earlier.contains(&"delivered"), "nor repeated");
        assert!(MessageStatus::Sent.earlier().contains(&"queued"));
        assert!(!MessageStatus::Sent.earlier().contains(&"delivered"));
        assert!(MessageStatus::Accepted.earlier().is_empty());
        let call = CallStatus::NoAnswer.earlier();
        assert!(call.contains(&"ringing") && !call.contains(&"completed"));
    }

    #[test]
    fn failures_and_unanswered_calls() {
        let failed: Vec<_> = MessageStatus::ALL
            .iter()
            .filter(|s| s.is_failure())
            .collect();
        assert_eq!(
            failed,
            [&MessageStatus::Undelivered, &MessageStatus::Failed]
        );
        let unanswered: Vec<_> = CallStatus::ALL
            .iter()
            .filter(|s| s.is_unanswered())
            .collect();
        assert_eq!(
            unanswered,
            [
                &CallStatus::Busy,
                &CallStatus::NoAnswer,
                &CallStatus::Failed
            ]
        );
        assert!(!CallStatus::Canceled.is_unanswered() && CallStatus::Canceled.is_final());
    }

    #[test]
    fn error_codes_are_digits_only() {
        assert_eq!(error_code(Some("30003")), Some("30003".into()));
        assert_eq!(error_code(Some(" 30006 ")), Some("30006".into()));
        assert_eq!(error_code(Some("")), None);
        assert_eq!(error_code(Some("<b>")), None);
        assert_eq!(error_code(Some("123456789")), None);
        assert_eq!(error_code(None), None);
        assert!(error_hint("30006").is_some_and(|h| h.contains("landline")));
        assert_eq!(error_hint("99999"), None);
    }
}
