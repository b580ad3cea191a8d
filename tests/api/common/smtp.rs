//! A real SMTP server on loopback for tests: it speaks enough ESMTP for lettre, records what it
//! receives, and can be told to refuse (4xx or 5xx), to hang mid-message, or to hold its answer
//! until the test releases it. [`SmtpSink::start_secure`] makes one that requires TLS (STARTTLS
//! or implicit, with a certificate from a CA made for the test) and a login (AUTH PLAIN or
//! LOGIN) before it takes a message, as a city's mail relay does.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `550` to every recipient, echoing the address as real servers do.
    RejectPermanent,
    /// `451` to every recipient.
    RejectTransient,
    /// Reads the whole message, records it in [`SmtpSink::attempts`], then answers `451`.
    RejectAfterData,
    /// Reads the message after DATA and then never answers.
    HangAfterData,
    /// Reads the message, then answers (accepting it) only once [`SmtpSink::release`] is
    /// called: the test decides when the delivery ends.
    Hold,
}

/// TLS the server requires before it takes a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `STARTTLS` after `EHLO` (`smtp://…?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://…`).
    Implicit,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    /// The message came over TLS.
    pub tls: bool,
    /// The user that logged in, if any.
    pub user: Option<String>,
}

struct Secure {
    tls: Tls,
    acceptor: TlsAcceptor,
    user: String,
    password: String,
}

struct Shared {
    mode: Mutex<Mode>,
    received: Mutex<Vec<Received>>,
    attempts: Mutex<Vec<Received>>,
    /// Every command line the server was sent, before any login (AUTH lines are kept out).
    refusals: Mutex<Vec<String>>,
    data_started: Notify,
    released: watch::Sender<bool>,
    secure: Option<Secure>,
}

/// A running sink; stops when dropped.
pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    ca_pem: Option<String>,
}

/// A loopback port held by a socket that is bound but not listening: connections to it are
/// refused, and no other test can take the port while this lives.
pub struct ClosedPort {
    socket: TcpSocket,
    pub port: u16,
}

/// A loopback port with nothing listening on it, kept for this test.
pub async fn closed_port() -> ClosedPort {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind((Ipv4Addr::LOCALHOST, 0).into())
        .expect("bind a port");
    let port = socket.local_addr().expect("addr").port();
    ClosedPort { socket, port }
}

impl SmtpSink {
    pub async fn start(mode: Mode) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        Self::serve(listener, mode, None, None)
    }

    /// Starts listening on a port that was closed until now (the server "comes back").
    pub async fn start_on(port: ClosedPort, mode: Mode) -> SmtpSink {
        let listener = port.socket.listen(64).expect("listen on the kept port");
        Self::serve(listener, mode, None, None)
    }

    /// A server that takes a message only over TLS and after `user` logged in with
    /// `password`. Its certificate (for `127.0.0.1` and `localhost`) is signed by a CA made
    /// for this sink: see [`SmtpSink::ca_pem`].
    pub async fn start_secure(tls: Tls, user: &str, password: &str) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let (ca_pem, acceptor) = test_ca();
        let secure = Secure {
            tls,
            acceptor,
            user: user.to_string(),
            password: password.to_string(),
        };
        Self::serve(listener, Mode::Accept, Some(secure), Some(ca_pem))
    }

    fn serve(
        listener: TcpListener,
        mode: Mode,
        secure: Option<Secure>,
        ca_pem: Option<String>,
    ) -> SmtpSink {
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            received: Mutex::default(),
            attempts: Mutex::default(),
            refusals: Mutex::default(),
            data_started: Notify::new(),
            released: watch::channel(false).0,
            secure,
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = session(stream, s).await;
                });
            }
        });
        SmtpSink {
            port,
            shared,
            task,
            ca_pem,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The PEM of the CA that signed a secure sink's certificate.
    pub fn ca_pem(&self) -> &str {
        self.ca_pem.as_deref().expect("a secure sink")
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    /// Lets every held delivery (see [`Mode::Hold`]) be accepted, now and from now on.
    pub fn release(&self) {
        self.shared.released.send_replace(true);
    }

    /// Messages the server accepted.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// Messages the server read whole and then refused ([`Mode::RejectAfterData`]).
    pub fn attempts(&self) -> Vec<Received> {
        self.shared.attempts.lock().expect("lock").clone()
    }

    /// The answers of a secure sink that refused a step (no TLS yet, no login, a bad login).
    pub fn refusals(&self) -> Vec<String> {
        self.shared.refusals.lock().expect("lock").clone()
    }

    /// Waits (at most 10 s) until `n` messages have arrived, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the SMTP server did not get {n} message(s) within 10 s");
    }

    /// Resolves once a client has sent DATA (the message is in flight).
    pub async fn data_started(&self) {
        self.shared.data_started.notified().await;
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A CA made for one test, and a TLS acceptor whose certificate (for 127.0.0.1 and
/// localhost) it signed. Returns the CA's PEM, which a client must trust.
fn test_ca() -> (String, TlsAcceptor) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Helpline test mail CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("ca key");
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).expect("leaf params");
    leaf.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    leaf.distinguished_name
        .push(DnType::CommonName, "sink.test");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf cert");

    let key = pki_types::PrivateKeyDer::Pkcs8(pki_types::PrivatePkcs8KeyDer::from(
        leaf_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![leaf_cert.der().clone()], key)
    .expect("server certificate");
    (ca_cert.pem(), TlsAcceptor::from(Arc::new(config)))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn reply(conn: &mut BufReader<Box<dyn Io>>, text: &str) -> std::io::Result<()> {
    conn.write_all(text.as_bytes()).await?;
    conn.flush().await
}

async fn read_line(conn: &mut BufReader<Box<dyn Io>>) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if conn.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line))
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let secure = shared.secure.as_ref();
    let mut tls = false;
    let mut conn: BufReader<Box<dyn Io>> = match secure {
        Some(s) if s.tls == Tls::Implicit => {
            tls = true;
            BufReader::new(Box::new(s.acceptor.accept(stream).await?))
        }
        _ => BufReader::new(Box::new(stream)),
    };
    reply(&mut conn, "220 sink.test ESMTP ready\r\n").await?;
    let mode = || *shared.mode.lock().expect("lock");
    let refuse = |answer: &str| {
        shared
            .refusals
            .lock()
            .expect("lock")
            .push(answer.trim_end().to_string());
    };
    let mut user: Option<String> = None;
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let Some(line) = read_line(&mut conn).await? else {
            return Ok(());
        };
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            let mut lines = vec!["250-sink.test", "250-8BITMIME"];
            if let Some(s) = secure {
                if s.tls == Tls::StartTls && !tls {
                    lines.push("250-STARTTLS");
                }
                if tls {
                    lines.push("250-AUTH PLAIN LOGIN");
                }
            }
            lines.push("250 PIPELINING");
            reply(&mut conn, &(lines.join("\r\n") + "\r\n")).await?;
        } else if upper.starts_with("HELO") {
            reply(&mut conn, "250 sink.test\r\n").await?;
        } else if upper.starts_with("STARTTLS") {
            match secure {
                Some(s) if s.tls == Tls::StartTls && !tls => {
                    reply(&mut conn, "220 2.0.0 ready to start TLS\r\n").await?;
                    let raw = conn.into_inner();
                    conn = BufReader::new(Box::new(s.acceptor.accept(raw).await?));
                    tls = true;
                    // RFC 3207: everything learned before TLS is forgotten.
                    user = None;
                    from.clear();
                    to.clear();
                }
                _ => reply(&mut conn, "503 5.5.1 TLS not available\r\n").await?,
            }
        } else if upper.starts_with("AUTH") {
            let Some(s) = secure else {
                reply(&mut conn, "502 5.5.1 no AUTH here\r\n").await?;
                continue;
            };
            if !tls {
                let answer = "538 5.7.11 encryption required for AUTH\r\n";
                refuse(answer);
                reply(&mut conn, answer).await?;
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let mechanism = words.get(1).map(|m| m.to_ascii_uppercase());
            let credentials = match mechanism.as_deref() {
                Some("PLAIN") => {
                    let initial = match words.get(2) {
                        Some(i) => i.to_string(),
                        None => {
                            reply(&mut conn, "334 \r\n").await?;
                            read_line(&mut conn).await?.unwrap_or_default()
                        }
                    };
                    let plain = base64_decode(initial.trim()).unwrap_or_default();
                    let parts: Vec<&[u8]> = plain.split(|b| *b == 0).collect();
                    match parts.as_slice() {
                        [_, u, p] => Some((
                            String::from_utf8_lossy(u).into_owned(),
                            String::from_utf8_lossy(p).into_owned(),
                        )),
                        _ => None,
                    }
                }
                Some("LOGIN") => {
                    reply(&mut conn, "334 VXNlcm5hbWU6\r\n").await?;
                    let u = read_line(&mut conn).await?.unwrap_or_default();
                    reply(&mut conn, "334 UGFzc3dvcmQ6\r\n").await?;
                    let p = read_line(&mut conn).await?.unwrap_or_default();
                    let text = |t: &str| {
                        String::from_utf8_lossy(&base64_decode(t.trim()).unwrap_or_default())
                            .into_owned()
                    };
                    Some((text(&u), text(&p)))
                }
                _ => None,
            };
            match credentials {
                Some((u, p)) if u == s.user && p == s.password => {
                    user = Some(u);
                    reply(&mut conn, "235 2.7.0 authentication succeeded\r\n").await?;
                }
                _ => {
                    let answer = "535 5.7.8 authentication credentials invalid\r\n";
                    refuse(answer);
                    reply(&mut conn, answer).await?;
                }
            }
        } else if upper.starts_with("MAIL FROM:") {
            if secure.is_some() && !tls {
                let answer = "530 5.7.0 must issue a STARTTLS command first\r\n";
                refuse(answer);
                reply(&mut conn, answer).await?;
                continue;
            }
            if secure.is_some() && user.is_none() {
                let answer = "530 5.7.0 authentication required\r\n";
                refuse(answer);
                reply(&mut conn, answer).await?;
                continue;
            }
            from = line[10..].trim().to_string();
            to.clear();
            reply(&mut conn, "250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = line[8..].trim().to_string();
            match mode() {
                Mode::RejectPermanent => {
                    let answer = format!("550 5.1.1 {rcpt}: recipient address rejected\r\n");
                    reply(&mut conn, &answer).await?;
                }
                Mode::RejectTransient => {
                    reply(&mut conn, "451 4.3.0 try again later\r\n").await?;
                }
                _ => {
                    to.push(rcpt);
                    reply(&mut conn, "250 2.1.5 OK\r\n").await?;
                }
            }
        } else if upper.starts_with("DATA") {
            reply(&mut conn, "354 end with <CRLF>.<CRLF>\r\n").await?;
            shared.data_started.notify_one();
            let mut data = Vec::new();
            loop {
                let Some(line) = read_line(&mut conn).await? else {
                    return Ok(());
                };
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.extend_from_slice(unstuffed.as_bytes());
            }
            let message = Received {
                from: from.clone(),
                to: to.clone(),
                data,
                tls,
                user: user.clone(),
            };
            match mode() {
                Mode::HangAfterData => {
                    std::future::pending::<()>().await;
                }
                Mode::Hold => {
                    let mut released = shared.released.subscribe();
                    let _ = released.wait_for(|r| *r).await;
                }
                Mode::RejectAfterData => {
                    shared.attempts.lock().expect("lock").push(message);
                    reply(&mut conn, "451 4.3.0 try again later\r\n").await?;
                    continue;
                }
                _ => {}
            }
            shared.received.lock().expect("lock").push(message);
            reply(&mut conn, "250 2.0.0 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            reply(&mut conn, "221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            // RSET, NOOP and anything else lettre may send between messages.
            reply(&mut conn, "250 OK\r\n").await?;
        }
    }
}

/// Standard base64 (with or without padding); `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for b in text.bytes().filter(|b| *b != b'=') {
        let v = ALPHABET.iter().position(|a| *a == b)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[test]
fn base64_decodes_the_rfc_examples() {
    assert_eq!(base64_decode("Zm9vYmFy").as_deref(), Some(&b"foobar"[..]));
    assert_eq!(base64_decode("Zm8=").as_deref(), Some(&b"fo"[..]));
    assert_eq!(base64_decode("Zg==").as_deref(), Some(&b"f"[..]));
    assert_eq!(base64_decode("Zm9v!"), None);
}
