//! The real-MIME sample corpus (`tests/api/fixtures/email/`) through `POST /email/inbound`:
//! every sample is taken (200, one ticket whose detail holds what the person wrote and none
//! of the quote) or refused with a clear 400 — never a 500. A 20 MB message gets 413 and
//! nothing is stored.

use crate::common::outbox::{queued_count, settled};
use crate::email_in::{TOKEN, deliver, fixture, post, start, tickets_of};
use crate::portal::assert_logs_clean;

/// A sample, what its ticket must say, and what it must not.
struct Sample {
    file: &'static str,
    says: &'static [&'static str],
    not: &'static [&'static str],
}

const SAMPLES: &[Sample] = &[
    Sample {
        file: "gmail_reply_wrapped.eml",
        says: &["Yes that was me, I changed it from the job site."],
        not: &["wrote:", "Hello Pat", "555-0142"],
    },
    Sample {
        file: "outlook_reply_1252.eml",
        says: &["I don\u{2019}t use the phone ending 0142 anymore \u{2013} please"],
        not: &["Sent:", "____", "Hello Sam"],
    },
    Sample {
        file: "apple_mail_reply.eml",
        says: &["I was on a roof all morning"],
        not: &["wrote:", "Someone asked"],
    },
    Sample {
        file: "gmail_reply_es.eml",
        says: &["el enlace no funciona en mi teléfono"],
        not: &["escribió", "Alguien"],
    },
    Sample {
        file: "outlook_reply_es.eml",
        says: &["ya no tengo ese correo"],
        not: &["Enviado:", "Hola, José"],
    },
    Sample {
        file: "forwarded.eml",
        says: &["nobody here changed the password"],
        not: &["Forwarded message", "Hello Pat"],
    },
    Sample {
        file: "html_only_reply.eml",
        says: &["I am locked out."],
        not: &["<div", "wrote:"],
    },
    Sample {
        file: "iso_2022_jp.eml",
        says: &["ポータルにログインできません"],
        not: &["\u{fffd}"],
    },
    Sample {
        file: "shift_jis.eml",
        says: &["パスワードを忘れました"],
        not: &["\u{fffd}"],
    },
    Sample {
        file: "iso_8859_1.eml",
        says: &["Buenos días, señor"],
        not: &[],
    },
    Sample {
        file: "no_closing_boundary.eml",
        says: &["I am locked out of the portal since this morning."],
        not: &["<p>"],
    },
    Sample {
        file: "broken_base64.eml",
        says: &[],
        not: &[],
    },
    Sample {
        file: "no_content_type.eml",
        says: &["Please reset my password, I cannot find the email."],
        not: &[],
    },
    Sample {
        file: "header_8bit.eml",
        says: &["olvidé mi contraseña"],
        not: &[],
    },
];

#[tokio::test]
async fn every_sample_is_taken_as_a_ticket_with_what_the_person_wrote() {
    let p = start().await;
    for s in SAMPLES {
        let (status, body) = post(&p, Some(TOKEN), fixture(s.file)).await;
        assert_eq!(status, 200, "{}: {body}", s.file);
        // What the person wrote is on a ticket's timeline (a sender's mail within a day, or
        // replies in one thread, join one ticket).
        let (ticket, text): (i64, String) = sqlx::query_as(
            "SELECT ticket_id, text FROM ticket_events WHERE kind = 'email_in' \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_one(p.app.state.store.pool())
        .await
        .unwrap_or_else(|e| panic!("{}: no email on a timeline: {e}", s.file));
        assert!(
            tickets_of(&p, "email_received")
                .await
                .iter()
                .any(|t| t.id.0 == ticket),
            "{}: an open email_received ticket",
            s.file
        );
        for want in s.says {
            assert!(text.contains(want), "{}: {want:?} in {text}", s.file);
        }
        for unwanted in s.not {
            assert!(
                !text.contains(unwanted),
                "{}: {unwanted:?} in {text}",
                s.file
            );
        }
    }
    settled(&p.app.state.store).await;
    assert_logs_clean(&[TOKEN]);
}

#[tokio::test]
async fn what_is_no_email_gets_a_clear_400_never_a_500() {
    let p = start().await;
    for (what, raw) in [
        ("empty", Vec::new()),
        ("binary", vec![0u8, 159, 146, 150, 255, 0, 1, 2]),
        ("a body with no header", b"\r\n\r\njust words\r\n".to_vec()),
    ] {
        let (status, body) = post(&p, Some(TOKEN), raw).await;
        assert!(status == 400 || status == 200, "{what}: {status} {body}");
        if status == 400 {
            assert!(body.contains("not an RFC 5322 message"), "{what}: {body}");
        }
    }
    // Every corpus sample cut short at any of a few points: taken or refused, never a 500.
    for s in SAMPLES {
        let raw = fixture(s.file);
        for cut in [1, raw.len() / 3, raw.len() / 2, raw.len() - 1] {
            let (status, body) = post(&p, Some(TOKEN), raw[..cut].to_vec()).await;
            assert!(
                status == 200 || status == 400,
                "{} cut at {cut}: {status} {body}",
                s.file
            );
        }
    }
}

#[tokio::test]
async fn a_20_mb_message_is_refused_with_413_and_nothing_is_stored() {
    let p = start().await;
    let mut raw = crate::email_in::email(
        "pat@frontrange-roofing.example",
        "huge-1@frontrange-roofing.example",
        "photos of the job",
        "see attached",
    )
    .into_bytes();
    // A 20 MB base64 attachment, as a phone sends photos.
    raw.extend_from_slice(b"\r\n");
    let line = [b'Q'; 76];
    while raw.len() < 20 * 1024 * 1024 {
        raw.extend_from_slice(&line);
        raw.extend_from_slice(b"\r\n");
    }
    let (status, body) = post(&p, Some(TOKEN), raw).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("do not retry"), "{body}");
    assert!(tickets_of(&p, "email_received").await.is_empty());
    assert_eq!(queued_count(&p.app.state.store).await, 0);
    let conversations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversations")
        .fetch_one(p.app.state.store.pool())
        .await
        .expect("count");
    assert_eq!(conversations, 0, "no conversation was opened");
    // The same sender's next, normal message is taken.
    deliver(
        &p,
        crate::email_in::email(
            "pat@frontrange-roofing.example",
            "small-1@frontrange-roofing.example",
            "photos",
            "I will bring them in",
        ),
    )
    .await;
}
