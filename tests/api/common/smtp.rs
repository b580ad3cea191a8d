//! A real SMTP server on loopback for tests: it speaks enough ESMTP for lettre, records what it
//! receives, and can be told to refuse (4xx or 5xx) or to hang mid-message.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `550` to every recipient, echoing the address as real servers do.
    RejectPermanent,
    /// `451` to every recipient.
    RejectTransient,
    /// Reads the message after DATA and then never answers.
    HangAfterData,
    /// Reads the message, waits this long, then accepts.
    SlowAccept(Duration),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
struct Shared {
    mode: Mutex<Option<Mode>>,
    received: Mutex<Vec<Received>>,
    data_started: Notify,
}

/// A running sink; stops when dropped.
pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start(mode: Mode) -> SmtpSink {
        Self::start_on(0, mode).await
    }

    /// Starts on a given port (0 for any), e.g. after the port was seen to be down.
    pub async fn start_on(port: u16, mode: Mode) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared::default());
        *shared.mode.lock().expect("lock") = Some(mode);
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
        SmtpSink { port, shared, task }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().expect("lock") = Some(mode);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
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

/// A loopback port with nothing listening on it.
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mode = || {
        shared
            .mode
            .lock()
            .map(|m| m.unwrap_or(Mode::Accept))
            .unwrap_or(Mode::Accept)
    };
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            to.clear();
            write.write_all(b"250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = line[8..].trim().to_string();
            match mode() {
                Mode::RejectPermanent => {
                    let answer = format!("550 5.1.1 {rcpt}: recipient address rejected\r\n");
                    write.write_all(answer.as_bytes()).await?;
                }
                Mode::RejectTransient => {
                    write.write_all(b"451 4.3.0 try again later\r\n").await?;
                }
                _ => {
                    to.push(rcpt);
                    write.write_all(b"250 2.1.5 OK\r\n").await?;
                }
            }
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            shared.data_started.notify_one();
            let mut data = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.extend_from_slice(unstuffed.as_bytes());
            }
            match mode() {
                Mode::HangAfterData => {
                    std::future::pending::<()>().await;
                }
                Mode::SlowAccept(d) => tokio::time::sleep(d).await,
                _ => {}
            }
            shared.received.lock().expect("lock").push(Received {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            write.write_all(b"250 2.0.0 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            // RSET, NOOP and anything else lettre may send between messages.
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}
