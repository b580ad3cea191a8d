//! Password and answer hashing: Argon2id with the OWASP parameters (m = 19456 KiB, t = 2,
//! p = 1). Hashing is CPU-bound, so it runs on a few threads of its own, at most one per core at
//! once, with a short bounded queue in front: a flood of logins is told "busy" at once instead
//! of piling up behind argon2. Unknown users are checked against a dummy hash so the time taken
//! says nothing about who exists; under a flood those checks are the first to be shed (see
//! `Hasher::verify`).

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::{self, CustomizedPasswordHasher, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Semaphore, TryAcquireError, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing thread failed")]
    Thread,
    #[error("password hasher is shut down")]
    Closed,
    /// Every permit is taken and the queue is full: try again later.
    #[error("password hasher is busy; try again")]
    Busy,
}

/// The parameters new hashes get (OWASP: m = 19456 KiB, t = 2, p = 1).
fn params() -> Params {
    // Constant, valid parameters: `Params::new` only fails on out-of-range values.
    Params::new(19_456, 2, 1, None).unwrap_or_default()
}

/// Argon2's working memory for one hash: `blocks` KiB (19 MiB with our parameters), reserved
/// as more than 32 MiB of which only those `blocks` are touched.
///
/// Why: glibc's malloc serves a request above its mmap threshold (128 KiB at start) with its
/// own mmap and unmaps it on free, but freeing such a block also raises the threshold to its
/// size, up to 32 MiB. Left to the argon2 crate, the first 19 MiB buffer freed raised it to
/// 19 MiB (and the trim threshold to 38 MiB): from then on every buffer, argon2's and each
/// request's, came from per-thread arenas that kept the freed memory: 365 MB during a flood,
/// and still there 30 s after. A request above 32 MiB is always mapped and unmapped and never
/// moves the threshold, and the pages not touched cost nothing; so RSS holds one 19 MiB buffer
/// per running hash and gives it back when the hash ends, with the system allocator.
fn working_memory(blocks: usize) -> Vec<Block> {
    const RESERVED: usize = 33 * 1024; // blocks of 1 KiB: 33 MiB
    let mut memory = Vec::with_capacity(blocks.max(RESERVED));
    memory.resize(blocks, Block::new());
    memory
}

/// Argon2 exactly as the argon2 crate's `CustomizedPasswordHasher` does it (same PHC strings,
/// and `verify_password` from password-hash's blanket impl, which compares the outputs in
/// constant time), except that the working memory comes from `working_memory`.
struct Argon2OwnMemory;

impl CustomizedPasswordHasher<PasswordHash> for Argon2OwnMemory {
    type Params = Params;

    fn hash_password_customized(
        &self,
        password: &[u8],
        salt: &[u8],
        algorithm: Option<&str>,
        version: Option<u32>,
        params: Params,
    ) -> password_hash::Result<PasswordHash> {
        let algorithm = algorithm
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let salt = Salt::new(salt)?;
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let mut buffer = [0u8; Output::MAX_LENGTH];
        let out = buffer
            .get_mut(..output_len)
            .ok_or(password_hash::Error::OutputSize)?;
        let mut memory = working_memory(params.block_count());
        Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password,
            &salt,
            out,
            &mut memory,
        )?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(Output::new(out)?),
        })
    }
}

fn hash_blocking(secret: &str) -> Result<String, HashError> {
    let salt = crate::domain::secret::random_bytes::<{ Salt::RECOMMENDED_LENGTH }>();
    Argon2OwnMemory
        .hash_password_customized(
            secret.as_bytes(),
            &salt,
            Some(Algorithm::Argon2id.ident().as_str()),
            Some(Version::V0x13.into()),
            params(),
        )
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

fn verify_blocking(phc: &str, candidate: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2OwnMemory
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random string, computed once, verified against when there is no real hash.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking(&crate::domain::secret::random_token(16)).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3bJb7rQ8m9u7bCqk7qGQXw0oQp6mJ6zQy8b5mB0m0nQ"
                .to_string()
        })
    })
}

/// How many callers may wait for a turn, per permit, in `for_this_machine`. A hash takes about
/// 25–40 ms on one core here, so a full queue is drained in 4 hashes' time (100–160 ms): a
/// caller that is let in is still answered well inside the 400 ms sign-in floor, so waiting in
/// the queue does not show in the response time, and a handful of people pressing "Sign in"
/// at the same moment still all get in. Anything beyond that is a flood, and waiting would
/// only make every answer late (and keep its connection and memory) without making argon2
/// any faster: it is told `Busy` at once instead.
pub const QUEUE_PER_PERMIT: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

fn refused(e: TryAcquireError) -> HashError {
    match e {
        TryAcquireError::NoPermits => HashError::Busy,
        TryAcquireError::Closed => HashError::Closed,
    }
}

/// Starts the `n` threads argon2 runs on. A fixed few, rather than tokio's blocking pool
/// (which starts a new thread whenever none is idle at that instant): the 19 MiB each hash
/// allocates and frees then stays with the same few threads, and their allocator arenas,
/// however many requests come, so memory is bounded by `n` hashes. The threads end when the
/// last `Hasher` holding the sender is dropped.
fn start_threads(n: usize) -> mpsc::Sender<Job> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..n {
        let queue = queue.clone();
        let started = std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                loop {
                    let next = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => break,
                    };
                    let Ok(job) = next else { break };
                    // A panic drops the job's reply; its caller gets `HashError::Thread`.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        if let Err(error) = started {
            tracing::error!(%error, "could not start an argon2 thread");
        }
    }
    jobs
}

/// Hashes and verifies secrets off the async runtime, on `permits` threads of its own: at most
/// `permits` at a time, and at most `queue` callers waiting for a turn; a caller beyond that
/// gets `HashError::Busy` at once.
#[derive(Debug, Clone)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
    /// One per running hash. The owned permit moves into the job, so it is given back only
    /// when the hash has really ended, even when the caller gave up long before (a cancelled
    /// request): argon2 work, and its 19 MiB, never exceed the cap.
    running: Arc<Semaphore>,
    /// `permits + queue` tickets: one for each caller waiting or hashing. A caller that finds
    /// none left is refused rather than queued.
    tickets: Arc<Semaphore>,
    /// Held by a verification against the dummy hash (an unknown username) from its start to
    /// the end of its hash: `permits - 1` of them (at least 1), and no queue of their own.
    unknown: Arc<Semaphore>,
    #[cfg(test)]
    probe: Option<Arc<probe::Probe>>,
}

impl Hasher {
    pub fn new(permits: usize, queue: usize) -> Self {
        let permits = permits.max(1);
        Self {
            jobs: start_threads(permits),
            running: Arc::new(Semaphore::new(permits)),
            tickets: Arc::new(Semaphore::new(permits + queue)),
            unknown: Arc::new(Semaphore::new(permits.saturating_sub(1).max(1))),
            #[cfg(test)]
            probe: None,
        }
    }

    /// One permit per core (argon2 with p = 1 uses one core each) and a queue of
    /// `QUEUE_PER_PERMIT` per permit.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores, QUEUE_PER_PERMIT * cores)
    }

    /// Permits not held by a running hash.
    pub fn available_permits(&self) -> usize {
        self.running.available_permits()
    }

    pub async fn hash(&self, secret: &SecretString) -> Result<String, HashError> {
        let secret = secret.clone();
        self.run(move || hash_blocking(secret.expose_secret()))
            .await?
    }

    /// Verifies `candidate` against `phc`, or against the dummy hash when there is none, so
    /// both cases cost the same and answer at the same time. Returns false when `phc` is
    /// `None`.
    ///
    /// A flood of sign-ins with made-up usernames costs the attacker nothing and would take
    /// every permit; real accounts are rarer (a few failures and the account waits, see
    /// guard.rs). So dummy verifications may hold at most `permits - 1` permits and do not
    /// queue: one beyond that is `Busy` at once, while a verification against a real hash
    /// (and every `hash`) still finds a permit free and the contractor signs in. Either way a
    /// wrong password is refused after the same floor, so this shows nowhere in the answer.
    pub async fn verify(
        &self,
        phc: Option<&str>,
        candidate: &SecretString,
    ) -> Result<bool, HashError> {
        let lane = match phc {
            Some(_) => None,
            None => Some(self.unknown.clone().try_acquire_owned().map_err(refused)?),
        };
        let real = phc.is_some();
        let phc = phc.map(str::to_string);
        let candidate = candidate.clone();
        let ok = self
            .run(move || {
                let phc = phc.as_deref().unwrap_or_else(|| dummy_hash());
                let ok = verify_blocking(phc, candidate.expose_secret());
                drop(lane);
                ok
            })
            .await?;
        Ok(ok && real)
    }

    /// Waits for a turn (or is refused at once when the queue is full), then runs `work` on
    /// one of the hashing threads, holding the permit until it returns.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let ticket = self.tickets.clone().try_acquire_owned().map_err(refused)?;
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Closed)?;
        #[cfg(test)]
        let probe = self.probe.clone();
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let out = {
                #[cfg(test)]
                let _running = probe.as_deref().map(probe::Probe::enter);
                work()
            };
            drop((permit, ticket));
            let _ = reply.send(out);
        });
        self.jobs.send(job).map_err(|_| HashError::Closed)?;
        answer.await.map_err(|_| HashError::Thread)
    }

    /// Computes the dummy hash now rather than on the first unknown login.
    pub async fn warm_up(&self) {
        let _ = self.run(|| dummy_hash().len()).await;
    }
}

/// A test's view into the hashing jobs: each hash announces that it started, then waits for
/// the test to let it go, and the most hashes ever running at once is kept.
#[cfg(test)]
mod probe {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex, mpsc};

    #[derive(Debug)]
    pub struct Probe {
        pub started: tokio::sync::mpsc::UnboundedSender<()>,
        pub release: Mutex<mpsc::Receiver<()>>,
        pub running: AtomicUsize,
        pub most: AtomicUsize,
    }

    /// Counts the hash as running until dropped (when the hash has ended).
    pub struct Running<'a>(&'a Probe);

    impl Probe {
        pub fn enter(&self) -> Running<'_> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            let _ = self.started.send(());
            let _ = self.release.lock().unwrap().recv();
            Running(self)
        }
    }

    impl Drop for Running<'_> {
        fn drop(&mut self) {
            self.0.running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A hasher whose hashes wait for `release`; `started` hears of each one starting.
    pub fn hasher(
        permits: usize,
        queue: usize,
    ) -> (
        super::Hasher,
        Arc<Probe>,
        tokio::sync::mpsc::UnboundedReceiver<()>,
        mpsc::Sender<()>,
    ) {
        let (started, started_rx) = tokio::sync::mpsc::unbounded_channel();
        let (release_tx, release) = mpsc::channel();
        let probe = Arc::new(Probe {
            started,
            release: Mutex::new(release),
            running: AtomicUsize::new(0),
            most: AtomicUsize::new(0),
        });
        let mut h = super::Hasher::new(permits, queue);
        h.probe = Some(probe.clone());
        (h, probe, started_rx, release_tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = Hasher::new(2, 8);
        let secret = SecretString::from("Tr0ub4dor&3");
        let phc = h.hash(&secret).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify(Some(&phc), &secret).await.unwrap());
        assert!(
            !h.verify(Some(&phc), &SecretString::from("wrong"))
                .await
                .unwrap()
        );
        assert!(!h.verify(None, &secret).await.unwrap());
        assert!(!h.verify(Some("not a hash"), &secret).await.unwrap());
    }

    /// Our own working memory changes nothing in the result: the same PHC string as the
    /// argon2 crate's hasher for the same salt, and hashes it made (with other parameters
    /// too) still verify.
    #[test]
    fn own_memory_hashes_exactly_as_the_argon2_crate() {
        use argon2::PasswordHasher as _;
        let salt = Salt::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
        let crate_hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let theirs = crate_hasher
            .hash_password_with_salt(b"Tr0ub4dor&3", &salt)
            .unwrap();
        let ours = Argon2OwnMemory
            .hash_password_customized(
                b"Tr0ub4dor&3",
                &salt,
                Some(Algorithm::Argon2id.ident().as_str()),
                Some(Version::V0x13.into()),
                params(),
            )
            .unwrap();
        assert_eq!(ours.to_string(), theirs.to_string());
        // What argon2 0.5 (before the upgrade to 0.6) wrote for the same password and salt:
        // stored hashes are the same strings and still verify.
        let by_argon2_0_5 = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                             3bIrDHSLHbgIpELJwEYLId8/5VlyiPasaEPDAgV3mYg";
        assert_eq!(ours.to_string(), by_argon2_0_5);
        assert!(verify_blocking(by_argon2_0_5, "Tr0ub4dor&3"));

        let small = Params::new(8_192, 3, 1, None).unwrap();
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, small)
            .hash_password_with_salt(b"Tr0ub4dor&3", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking(&older, "Tr0ub4dor&3"));
        assert!(!verify_blocking(&older, "Tr0ub4dor&4"));
    }

    /// A request cancelled while its hash runs (a timeout, a closed connection) must not
    /// free the permit: the blocking hash goes on, and another must not start beside it.
    #[tokio::test]
    async fn a_cancelled_verify_keeps_its_permit_until_its_hash_ends() {
        let (h, probe, mut started, release) = probe::hasher(1, 4);
        let secret = SecretString::from("Tr0ub4dor&3");
        tokio::select! {
            _ = h.verify(None, &secret) => panic!("the hash is held until released"),
            // Dropping the verify future here is what a request timeout does.
            _ = started.recv() => {}
        }
        assert_eq!(h.available_permits(), 0, "the cancelled hash still runs");

        let second = tokio::spawn({
            let h = h.clone();
            async move { h.hash(&SecretString::from("another-Secret1")).await }
        });
        release.send(()).unwrap(); // the cancelled hash ends...
        started.recv().await.unwrap(); // ...and only then does the second start
        release.send(()).unwrap();
        assert!(second.await.unwrap().unwrap().starts_with("$argon2id$"));
        assert_eq!(probe.most.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(h.available_permits(), 1);
    }

    /// Unknown usernames cannot take the last permit: a real account still signs in.
    #[tokio::test]
    async fn dummy_verifications_leave_a_permit_for_real_ones() {
        let (h, probe, mut started, release) = probe::hasher(2, 8);
        let unknown = tokio::spawn({
            let h = h.clone();
            async move { h.verify(None, &SecretString::from("guess-1")).await }
        });
        started.recv().await.unwrap(); // one dummy verification runs

        let another = h.verify(None, &SecretString::from("guess-2")).await;
        assert!(matches!(another, Err(HashError::Busy)), "{another:?}");

        let real = tokio::spawn({
            let h = h.clone();
            async move { h.hash(&SecretString::from("real-Secret1")).await }
        });
        started.recv().await.unwrap(); // the real one runs beside it
        assert_eq!(h.available_permits(), 0);
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert!(!unknown.await.unwrap().unwrap());
        assert!(real.await.unwrap().unwrap().starts_with("$argon2id$"));
        assert_eq!(probe.most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn past_the_queue_a_caller_is_told_busy_at_once() {
        let (h, probe, mut started, release) = probe::hasher(1, 1);
        let first = tokio::spawn({
            let h = h.clone();
            async move { h.hash(&SecretString::from("first-Secret1")).await }
        });
        started.recv().await.unwrap(); // the first holds the permit...
        let second_secret = SecretString::from("second-Secret2");
        let mut second = std::pin::pin!(h.hash(&second_secret));
        let waiting = std::future::poll_fn(|cx| {
            std::task::Poll::Ready(second.as_mut().poll(cx).is_pending())
        })
        .await;
        assert!(waiting, "...and the second waits in the queue");

        // The first is still hashing (it waits for `release`), so any answer now is at once;
        // the timeout only turns a third caller queued by mistake into a failure, not a hang.
        let third = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            h.verify(None, &SecretString::from("third")),
        )
        .await;
        assert!(matches!(third, Ok(Err(HashError::Busy))), "{third:?}");

        release.send(()).unwrap();
        release.send(()).unwrap();
        let first = first.await.unwrap().unwrap();
        let second = second.await.unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert!(second.starts_with("$argon2id$"), "{second}");
        assert_eq!(probe.most.load(std::sync::atomic::Ordering::SeqCst), 1);

        // With the queue empty again, the next caller is let in.
        release.send(()).unwrap();
        let again = h
            .verify(Some(&first), &SecretString::from("first-Secret1"))
            .await;
        assert!(again.unwrap());
    }
}
