//! What makes an email a reply, and what a reply may say: pure, no I/O.
//!
//! - The Message-IDs a reply names (`In-Reply-To`, then `References` newest first), each a
//!   [`MessageId`], at most [`MAX_REFERENCES`]: a thread of hundreds costs nothing to look up.
//! - "This wasn't me", in English or Spanish, in the reply's own text (the caller passes the
//!   text with the quoted part and the signature already stripped). Saying it freezes an
//!   account, so the rule is narrow on purpose, and written down here because it is a
//!   judgement:
//!   * the text is cut into short clauses at `.`, `!`, `?`, `,`, `;`, `:` and line ends; case,
//!     accents and apostrophe styles do not matter;
//!   * a "not me" clause counts only when it is the whole clause: "Not me!", "That wasn't me.",
//!     "No fui yo". "Not me who forgot?" or "It was me" do not count;
//!   * an "I did not ask" clause counts when it opens the clause and what follows is nothing,
//!     or "this/that/it/any…", or a reset or password: "I did not request this",
//!     "I didn't ask for a password reset", "Yo no lo pedí", "No solicité ningún cambio".
//!     "I did not request a new license" does not count: it is about something else.
//!   * "no" in front ("no, this wasn't me") is fine: it is its own clause.
//!
//! A clause that does not count is still read by staff: the reply joins its ticket.

use super::email_in::MessageId;

/// Most Message-IDs of a thread looked up.
pub const MAX_REFERENCES: usize = 20;

/// The Message-IDs a reply names: `In-Reply-To` first, then `References` from the newest, no
/// duplicates, at most [`MAX_REFERENCES`]. Anything that is not a safe id is skipped.
pub fn references(in_reply_to: Option<&str>, references: Option<&str>) -> Vec<MessageId> {
    let mut out: Vec<MessageId> = Vec::new();
    let newest_first = ids_in(references.unwrap_or_default()).into_iter().rev();
    for id in ids_in(in_reply_to.unwrap_or_default())
        .into_iter()
        .chain(newest_first)
    {
        if out.len() == MAX_REFERENCES {
            break;
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// The `<…>` ids in a header value (bare ids when there are no brackets at all).
fn ids_in(value: &str) -> Vec<MessageId> {
    if !value.contains('<') {
        return value
            .split_whitespace()
            .filter_map(MessageId::parse)
            .collect();
    }
    value
        .split('<')
        .skip(1)
        .filter_map(|rest| rest.split_once('>'))
        .filter_map(|(id, _)| MessageId::parse(id))
        .take(4 * MAX_REFERENCES)
        .collect()
}

/// Clauses that count only when they are the whole clause.
const WHOLE: &[&str] = &[
    "not me",
    "wasnt me",
    "was not me",
    "this wasnt me",
    "that wasnt me",
    "it wasnt me",
    "this was not me",
    "that was not me",
    "it was not me",
    "this is not me",
    "that is not me",
    "no fui yo",
    "yo no fui",
    "no era yo",
    "esto no fui yo",
    "eso no fui yo",
];

/// Clauses that count when they open the clause and an [`OBJECTS`] (or nothing) follows.
const OPENERS: &[&str] = &[
    "i did not request",
    "i didnt request",
    "i never requested",
    "i did not ask",
    "i didnt ask",
    "i never asked",
    "i did not change",
    "i didnt change",
    "yo no lo pedi",
    "no lo pedi",
    "yo no lo solicite",
    "no lo solicite",
    "yo no pedi",
    "no pedi",
    "yo no solicite",
    "no solicite",
    "yo no hice",
    "no hice",
];

/// What may follow an opener (after an optional "for"/"por").
const OBJECTS: &[&str] = &[
    "this",
    "that",
    "it",
    "any",
    "anything",
    "these",
    "a reset",
    "a password",
    "a new password",
    "the reset",
    "the password",
    "my password",
    "password",
    "reset",
    "esto",
    "eso",
    "nada",
    "ningun",
    "ninguna",
    "ese cambio",
    "este cambio",
    "el cambio",
    "un cambio",
    "cambiar",
    "la contrasena",
    "mi contrasena",
    "una contrasena",
];

/// True when the reply's own text says "this wasn't me" (see the module docs for the rule).
pub fn says_not_me(own_text: &str) -> bool {
    let text = normalise(own_text);
    text.split(['.', '!', '?', ',', ';', ':', '\n', '¡', '¿'])
        .map(|clause| clause.split_whitespace().collect::<Vec<_>>().join(" "))
        .any(|clause| counts(&clause))
}

fn counts(clause: &str) -> bool {
    if WHOLE.contains(&clause) {
        return true;
    }
    OPENERS.iter().any(|opener| {
        let Some(rest) = clause.strip_prefix(opener) else {
            return false;
        };
        if rest.is_empty() {
            return true;
        }
        let Some(rest) = rest.strip_prefix(' ') else {
            return false; // "i did not requesting…": another word
        };
        let rest = rest
            .strip_prefix("for ")
            .or_else(|| rest.strip_prefix("por "))
            .unwrap_or(rest);
        OBJECTS
            .iter()
            .any(|o| rest == *o || rest.starts_with(&format!("{o} ")))
    })
}

/// Lowercase, apostrophes dropped (`wasn't`, `wasn’t` → `wasnt`), Spanish accents removed.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\'' | '’' | '`' | '´'))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[MessageId]) -> Vec<&str> {
        v.iter().map(MessageId::as_str).collect()
    }

    #[test]
    fn in_reply_to_comes_first_then_references_newest_first_without_duplicates() {
        let got = references(
            Some("<c@help.example>"),
            Some("<a@help.example> <b@x.example>\r\n <c@help.example>"),
        );
        assert_eq!(
            ids(&got),
            ["c@help.example", "b@x.example", "a@help.example"]
        );
        assert!(references(None, None).is_empty());
        assert_eq!(
            ids(&references(Some("bare@help.example"), None)),
            ["bare@help.example"]
        );
    }

    #[test]
    fn references_are_capped_and_unsafe_ids_skipped() {
        let long: String = (0..500).map(|i| format!("<m{i}@x.example> ")).collect();
        assert_eq!(references(None, Some(&long)).len(), MAX_REFERENCES);
        let got = references(Some("<a b@x> <ok@x.example> <\"q\"@x>"), None);
        assert_eq!(ids(&got), ["ok@x.example"]);
    }

    #[test]
    fn this_wasnt_me_in_english_and_spanish() {
        for yes in [
            "This wasn't me",
            "That wasn’t me!",
            "NOT ME",
            "Not me.",
            "No, that was not me. Please call me.",
            "Hi,\nit wasn't me\nPat",
            "I did not request this",
            "I didn't ask for a password reset.",
            "I never requested any of this",
            "I did not request",
            "No fui yo",
            "Hola, no fui yo. Gracias",
            "Yo no lo pedí",
            "No lo solicité.",
            "No solicité ningún cambio de contraseña",
            "¡Esto no fui yo!",
        ] {
            assert!(says_not_me(yes), "{yes:?}");
        }
    }

    #[test]
    fn near_misses_do_not_freeze_anything() {
        for no in [
            "It was me, thanks",
            "it was me",
            "Not me who forgot? My partner has the password",
            "Is this not me?",
            "I did not request a new license, I need help with my password",
            "I did not receive the email",
            "I didn't requesting",
            "Fui yo, gracias",
            "No pude entrar",
            "No lo encuentro",
            "Please reset it for me",
            "",
        ] {
            assert!(!says_not_me(no), "{no:?}");
        }
    }
}

#[cfg(test)]
mod reading {
    use crate::domain::email_in::{Meaning, read};

    fn mail(headers: &str, text: &str) -> Meaning {
        let raw = format!(
            "From: pat@frontrange-roofing.example\r\n{headers}Subject: Re: your password\r\n\
             \r\n{text}\r\n"
        );
        read(raw.as_bytes()).unwrap().meaning
    }

    #[test]
    fn not_me_only_in_a_reply_and_only_in_its_own_text() {
        let reply = "In-Reply-To: <abc@help.example>\r\n";
        assert_eq!(mail(reply, "This wasn't me"), Meaning::NotMe);
        assert_eq!(
            mail("References: <abc@help.example>\r\n", "No fui yo"),
            Meaning::NotMe
        );
        assert_eq!(mail("", "This wasn't me"), Meaning::Other, "not a reply");
        assert_eq!(
            mail(
                reply,
                "Thanks, done.\r\n\r\nOn Mon, Help wrote:\r\n> this wasn't me?"
            ),
            Meaning::Other,
            "only in the quoted part"
        );
        assert_eq!(mail(reply, "It was me"), Meaning::Other);
    }
}
