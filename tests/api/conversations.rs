//! Conversations in the store (issue 8): the state every channel keeps between requests. Two
//! writers of one conversation settle by its version (one wins, the other is told), the retry
//! helper lands both, a used conversation is taken once, an ended one is found by nobody, the
//! purge removes it, and one (channel, key) is one conversation. Parallel cases release real
//! tasks together at a barrier on a multi-threaded runtime, on whichever database the suite
//! runs on (both in CI). The last test follows the kiosk onto a conversation.

use std::sync::Arc;
use std::time::Duration;

use helpline::clock::{Clock, ManualClock, SharedClock, duration_ms};
use helpline::config::GuardSettings;
use helpline::domain::channel::Channel;
use helpline::domain::conversation::{Check, Checks, Conversation, ConversationKey};
use helpline::domain::ids::ContractorId;
use helpline::domain::language::Lang;
use helpline::domain::secret::token_digest;
use helpline::guard::Guard;
use helpline::metrics::Metrics;
use helpline::recovery::conversation::MAX_TRIES;
use helpline::recovery::{ConversationError, Conversations};
use helpline::store::conversations::{self, NewConversation, Opened, UpdateError};
use helpline::store::{Store, is_unique_violation};
use tokio::sync::Barrier;

use crate::common::{TestDb, every_stored_value, test_clock};
use crate::portal::Portal;

const LIFETIME: Duration = Duration::from_secs(10 * 60);

fn book(store: &Store) -> (Conversations, Arc<ManualClock>) {
    let clock = test_clock();
    let shared: SharedClock = clock.clone();
    (Conversations::new(store.clone(), shared), clock)
}

fn key(name: &str) -> ConversationKey {
    ConversationKey::plain(name).expect("a plain key")
}

/// A blank voice conversation (no contractor yet) at the first prompt.
fn call<'a>(key: &'a ConversationKey) -> NewConversation<'a> {
    NewConversation {
        channel: Channel::Voice,
        key,
        contractor_id: None,
        checks: Checks::NONE,
        language: Lang::En,
        state: "welcome",
    }
}

async fn started(book: &Conversations, new: &NewConversation<'_>) -> Conversation {
    match book.open(new, LIFETIME).await.expect("open") {
        Opened::Started(c) => c,
        Opened::Resumed(c) => panic!("expected a new conversation, found {c:?}"),
    }
}

async fn rows(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM conversations")
        .fetch_one(store.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_conversation_keeps_what_its_channel_wrote() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (book, clock) = book(&store);
    let k = key("CA5f3c1e0b9d8a7f6e5d4c3b2a1908f7e6");
    let c = started(&book, &call(&k)).await;
    assert_eq!(c.channel, Channel::Voice);
    assert_eq!(c.key, "CA5f3c1e0b9d8a7f6e5d4c3b2a1908f7e6");
    assert_eq!((c.attempts, c.version, c.used_at), (0, 1, None));
    assert_eq!(c.expires_at, clock.now_ms() + duration_ms(LIFETIME));
    assert_eq!(c.state, "welcome");

    clock.advance(Duration::from_secs(5));
    let (saved, said) = book
        .update(Channel::Voice, &k, |c| {
            c.checks.insert(Check::Number);
            c.attempts += 1;
            c.language = Lang::Es;
            c.state = "ask_phone".into();
            "asked"
        })
        .await
        .expect("update");
    assert_eq!(said, "asked");
    let again = book
        .live(Channel::Voice, &k)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(again, saved, "what update returns is what is stored");
    assert_eq!(again.checks, Checks::of(&[Check::Number]));
    assert_eq!(
        (again.attempts, again.language, again.state.as_str()),
        (1, Lang::Es, "ask_phone")
    );
    assert_eq!(again.version, 2);
    assert_eq!(again.updated_at, clock.now_ms());
    assert_eq!(again.created_at, c.created_at);
    let stored: String = sqlx::query_scalar("SELECT checks FROM conversations WHERE id = $1")
        .bind(c.id)
        .fetch_one(store.pool())
        .await
        .expect("checks");
    assert_eq!(stored, "number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_of_one_version_one_wins_and_the_other_is_told() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (book, clock) = book(&store);
    for round in 0..5 {
        let k = key(&format!("CA-round-{round}"));
        let read = started(&book, &call(&k)).await;
        let barrier = Arc::new(Barrier::new(2));
        let mut tasks = Vec::new();
        for who in ["a", "b"] {
            let (store, barrier, now) = (store.clone(), barrier.clone(), clock.now_ms());
            let mut mine = read.clone();
            tasks.push(tokio::spawn(async move {
                mine.attempts += 1;
                mine.state = who.to_string();
                barrier.wait().await;
                (who, conversations::update(store.pool(), &mine, now).await)
            }));
        }
        let mut won = Vec::new();
        let mut told = 0;
        for t in tasks {
            match t.await.expect("task") {
                (who, Ok(saved)) => won.push((who, saved)),
                (_, Err(UpdateError::Conflict)) => told += 1,
                (_, Err(e)) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!((won.len(), told), (1, 1), "round {round}: exactly one wins");
        let (winner, saved) = &won[0];
        let now = book
            .live(Channel::Voice, &k)
            .await
            .expect("read")
            .expect("live");
        assert_eq!(&now, saved);
        assert_eq!(now.state, *winner, "round {round}: the winner's change");
        assert_eq!((now.attempts, now.version), (1, read.version + 1));

        // The loser's version is stale for good: writing it again is refused too.
        let mut stale = read.clone();
        stale.state = "late".into();
        assert!(matches!(
            conversations::update(store.pool(), &stale, clock.now_ms()).await,
            Err(UpdateError::Conflict)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_retry_helper_every_writer_lands() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (book, _clock) = book(&store);
    let k = key("+13035550142");
    let sms = NewConversation {
        channel: Channel::Sms,
        ..call(&k)
    };
    let first = started(&book, &sms).await;
    let mut writes = 0;
    // Rounds of two writers, then rounds of as many as the helper promises to land.
    for (round, writers) in [2, 2, 2, MAX_TRIES, MAX_TRIES].into_iter().enumerate() {
        let before = book
            .live(Channel::Sms, &k)
            .await
            .expect("read")
            .expect("live");
        let barrier = Arc::new(Barrier::new(writers));
        let mut tasks = Vec::new();
        for who in 0..writers {
            let (book, barrier, k) = (book.clone(), barrier.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                book.update(Channel::Sms, &k, |c| {
                    c.attempts += 1;
                    c.state.push_str(&format!("[{round}.{who}]"));
                    c.attempts
                })
                .await
            }));
        }
        let mut seen = Vec::new();
        for t in tasks {
            let (_, attempts) = t.await.expect("task").expect("every writer lands");
            seen.push(attempts);
        }
        writes += writers;
        seen.sort_unstable();
        let expected: Vec<u32> = (1..=u32::try_from(writers).expect("small"))
            .map(|n| before.attempts + n)
            .collect();
        assert_eq!(
            seen, expected,
            "round {round}: each writer saw the one before"
        );
        let after = book
            .live(Channel::Sms, &k)
            .await
            .expect("read")
            .expect("live");
        assert_eq!(
            after.attempts,
            before.attempts + u32::try_from(writers).expect("small"),
            "round {round}: attempts went up by {writers}"
        );
        for who in 0..writers {
            assert!(
                after.state.contains(&format!("[{round}.{who}]")),
                "round {round}: writer {who}'s change is kept: {}",
                after.state
            );
        }
    }
    let last = book
        .live(Channel::Sms, &k)
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        last.version,
        first.version + i64::try_from(writes).expect("small")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_conversation_is_used_up_once_by_parallel_requests() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (book, _clock) = book(&store);
    const TAKERS: usize = 8;
    for round in 0..3 {
        let k = ConversationKey::secret(&format!("{round:064}"));
        let kiosk = NewConversation {
            channel: Channel::Kiosk,
            checks: Checks::of(&[Check::Number, Check::Phone]),
            ..call(&k)
        };
        let held = started(&book, &kiosk).await;
        let barrier = Arc::new(Barrier::new(TAKERS));
        let mut tasks = Vec::new();
        for _ in 0..TAKERS {
            let (book, barrier, k) = (book.clone(), barrier.clone(), k.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                book.use_up(Channel::Kiosk, &k).await.expect("use up")
            }));
        }
        let mut taken = Vec::new();
        for t in tasks {
            taken.extend(t.await.expect("task"));
        }
        assert_eq!(taken.len(), 1, "round {round}: exactly one request gets it");
        assert_eq!(taken[0].id, held.id);
        assert!(taken[0].used_at.is_some());
        assert_eq!(taken[0].version, held.version + 1);

        // Used is over: not found, not changed, not taken again.
        assert_eq!(book.live(Channel::Kiosk, &k).await.expect("read"), None);
        assert!(
            book.use_up(Channel::Kiosk, &k)
                .await
                .expect("read")
                .is_none()
        );
        assert!(matches!(
            book.update(Channel::Kiosk, &k, |c| c.attempts += 1).await,
            Err(ConversationError::Gone)
        ));
        // A writer that read it before it was used loses.
        assert!(matches!(
            conversations::update(store.pool(), &held, held.created_at).await,
            Err(UpdateError::Conflict)
        ));
    }
}

#[tokio::test]
async fn an_ended_conversation_is_found_by_nobody_and_starts_afresh() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (book, clock) = book(&store);
    let k = key("<thread-1@mail.example>");
    let email = NewConversation {
        channel: Channel::Email,
        ..call(&k)
    };
    let first = started(&book, &email).await;
    book.update(Channel::Email, &k, |c| {
        c.attempts = 2;
        c.state = "asked_number".into();
    })
    .await
    .expect("update");

    // One millisecond before its end it is live; at its end it is not.
    clock.set(first.expires_at - 1);
    let read = book.live(Channel::Email, &k).await.expect("read");
    assert!(read.as_ref().is_some_and(|c| c.is_live(clock.now_ms())));
    let read = read.expect("live");
    clock.set(first.expires_at);
    assert_eq!(book.live(Channel::Email, &k).await.expect("read"), None);
    assert!(
        book.use_up(Channel::Email, &k)
            .await
            .expect("use")
            .is_none()
    );
    assert!(matches!(
        book.update(Channel::Email, &k, |c| c.attempts += 1).await,
        Err(ConversationError::Gone)
    ));
    assert!(matches!(
        conversations::update(store.pool(), &read, clock.now_ms()).await,
        Err(UpdateError::Conflict)
    ));

    // The same key later is a new conversation, in the same row: nothing carried over.
    let again = started(&book, &email).await;
    assert_eq!(again.id, first.id);
    assert_eq!(
        (again.attempts, again.state.as_str(), again.created_at),
        (0, "welcome", clock.now_ms())
    );
    assert!(
        again.version > read.version,
        "a holder of the old one loses"
    );
    assert_eq!(rows(&store).await, 1);
}

#[tokio::test]
async fn the_purge_removes_ended_conversations_and_keeps_live_ones() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (book, clock) = book(&store);
    let (old, used, live) = (key("CA-old"), key("CA-used"), key("CA-live"));
    started(&book, &call(&old)).await;
    clock.advance(Duration::from_secs(5 * 60));
    started(&book, &call(&used)).await;
    started(&book, &call(&live)).await;
    book.use_up(Channel::Voice, &used)
        .await
        .expect("use")
        .expect("taken");
    clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(rows(&store).await, 3);

    // The store's purge, as the guard's timer runs it.
    let guard = Guard::new(
        store.clone(),
        clock.clone(),
        GuardSettings::default(),
        Arc::new(Metrics::default()),
        helpline::domain::keyed::Keys::random(),
    );
    assert!(guard.purge_store().await.expect("purge") >= 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT external_key FROM conversations")
        .fetch_all(store.pool())
        .await
        .expect("keys");
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(&"CA-old".to_string()), "{left:?}");
    assert!(
        book.live(Channel::Voice, &live)
            .await
            .expect("read")
            .is_some()
    );

    clock.advance(LIFETIME);
    assert_eq!(
        conversations::purge_expired(store.pool(), clock.now_ms())
            .await
            .expect("purge"),
        2
    );
    assert_eq!(rows(&store).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_channel_and_key_is_one_conversation() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let (book, clock) = book(&store);
    const OPENERS: usize = 6;
    let k = key("CA-webhooks-at-once");
    let barrier = Arc::new(Barrier::new(OPENERS));
    let mut tasks = Vec::new();
    for who in 0..OPENERS {
        let (book, barrier, k) = (book.clone(), barrier.clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            let state = format!("opened by {who}");
            barrier.wait().await;
            book.open(
                &NewConversation {
                    state: &state,
                    ..call(&k)
                },
                LIFETIME,
            )
            .await
            .expect("open")
        }));
    }
    let mut opened = Vec::new();
    for t in tasks {
        opened.push(t.await.expect("task"));
    }
    let starters: Vec<&Conversation> = opened
        .iter()
        .filter_map(|o| match o {
            Opened::Started(c) => Some(c),
            Opened::Resumed(_) => None,
        })
        .collect();
    assert_eq!(
        starters.len(),
        1,
        "one opener starts it, the rest resume it"
    );
    let first = starters[0].clone();
    for o in &opened {
        assert_eq!(
            o.conversation(),
            &first,
            "everyone has the same conversation"
        );
    }
    assert_eq!(rows(&store).await, 1);

    // The same key on another channel is another conversation.
    let sms = started(
        &book,
        &NewConversation {
            channel: Channel::Sms,
            ..call(&k)
        },
    )
    .await;
    assert_ne!(sms.id, first.id);

    // And the table itself refuses a second row for one (channel, key).
    let twin = sqlx::query(
        "INSERT INTO conversations (channel, external_key, checks, attempts, language, state, \
         version, created_at, updated_at, expires_at) VALUES ($1, $2, '', 0, 'en', '', 1, $3, \
         $3, $4)",
    )
    .bind(Channel::Voice.to_string())
    .bind(k.as_str())
    .bind(clock.now_ms())
    .bind(clock.now_ms() + 1000)
    .execute(store.pool())
    .await
    .expect_err("a duplicate (channel, key)");
    assert!(is_unique_violation(&twin), "{twin}");
}

/// channel, external_key, contractor_id, checks, used_at
type KioskRow = (String, String, Option<ContractorId>, String, Option<i64>);

/// The kiosk's verification is a kiosk conversation: the store holds the digest of the
/// browser's id (never the id), the contractor and the checks passed; the send uses it up.
#[tokio::test]
async fn the_kiosk_verification_is_a_kiosk_conversation() {
    let p = Portal::start().await;
    let store = p.app.state.store.clone();
    let mut b = p.browser();
    let page = b
        .post("/help", &[("number", "C-1001"), ("phone", "3036582075")])
        .await;
    assert_eq!(page.location(), Some("/help/choose"));
    let id = b
        .cookies
        .get("helpline_help")
        .cloned()
        .expect("the kiosk cookie");

    let held: Vec<KioskRow> = sqlx::query_as(
        "SELECT channel, external_key, contractor_id, checks, used_at FROM conversations",
    )
    .fetch_all(store.pool())
    .await
    .expect("conversations");
    assert_eq!(
        held,
        [(
            Channel::Kiosk.to_string(),
            token_digest(&id),
            Some(p.contractor_id("C-1001").await),
            Checks::of(&[Check::Number, Check::Phone]).to_string(),
            None
        )]
    );
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(store.pool())
        .await
        .expect("sessions");
    assert_eq!(
        sessions, 0,
        "no session row stands in for the kiosk any more"
    );
    let stored = every_stored_value(&store, p.app.db.is_postgres()).await;
    assert!(
        !stored.iter().any(|(_, _, v)| v.contains(&id)),
        "the browser's id is stored nowhere"
    );

    assert_eq!(b.get("/help/choose").await.status, 200);
    let page = b.post("/help/send", &[("destination", "email")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let used: Option<i64> = sqlx::query_scalar("SELECT used_at FROM conversations")
        .fetch_one(store.pool())
        .await
        .expect("used_at");
    assert_eq!(used, Some(p.app.clock.now_ms()));

    // The same id again (a replayed cookie) finds nothing to send.
    let mut replay = p.browser();
    replay.cookies.insert("helpline_help".into(), id);
    assert_eq!(replay.get("/help/choose").await.status, 410);
    let page = replay.post("/help/send", &[("destination", "email")]).await;
    assert_eq!(page.status, 410);
    p.smtp.wait_for(1).await;
}
