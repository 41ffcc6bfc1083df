//! A loopback registry that misbehaves on purpose (fault injection). Real registries are
//! tested elsewhere; this one exists for answers a real registry never gives.

#![allow(
    dead_code,
    reason = "shared by several test crates; each uses a different part"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the body is sent.
#[derive(Clone, Debug, Default)]
pub enum Body {
    /// `content-length` and these bytes.
    #[default]
    Normal,
    /// Close the connection without answering.
    Reset,
    /// Chunked, never ending.
    Endless,
    /// Claim this `content-length`, then send the body bytes and stall.
    ClaimLength(u64),
}

/// What the fake answers to one request.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering (a stalled registry).
    pub delay: Duration,
    pub mode: Body,
}

impl Answer {
    pub fn new(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        Answer {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_vec(),
            ..Answer::default()
        }
    }
}

pub struct FakeRegistry {
    pub host: String,
    pub requests: Arc<AtomicUsize>,
    /// The request line and headers of every request, in order.
    pub heads: Arc<Mutex<Vec<String>>>,
    /// Requests being answered now (from the end of their head to the end of the answer), and
    /// the most there ever were at once.
    pub in_flight: Gauge,
    /// Connections open now, and the most there ever were at once.
    pub connections: Gauge,
    task: tokio::task::JoinHandle<()>,
}

impl FakeRegistry {
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A count that goes up and down, remembering its peak.
#[derive(Clone, Default)]
pub struct Gauge {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Gauge {
    /// Count one in; the returned guard counts it out when dropped.
    fn enter(&self) -> GaugeGuard {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        GaugeGuard(self.now.clone())
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

struct GaugeGuard(Arc<AtomicUsize>);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve `answer(method, path)` on a fresh loopback port.
pub async fn start<F>(answer: F) -> FakeRegistry
where
    F: Fn(&str, &str) -> Answer + Send + Sync + 'static,
{
    start_seeing(move |method, path, _| answer(method, path)).await
}

/// Serve `answer(method, path, head)` on a fresh loopback port; `head` is the request line and
/// headers as received, for answers that depend on what the client sent (an Authorization).
pub async fn start_seeing<F>(answer: F) -> FakeRegistry
where
    F: Fn(&str, &str, &str) -> Answer + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let requests = Arc::new(AtomicUsize::new(0));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (in_flight, connections) = (Gauge::default(), Gauge::default());
    let (counter, seen) = (requests.clone(), heads.clone());
    let (answering, open) = (in_flight.clone(), connections.clone());
    let answer = Arc::new(answer);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (answer, counter, seen) = (answer.clone(), counter.clone(), seen.clone());
            let answering = answering.clone();
            let connection = open.enter();
            tokio::spawn(async move {
                let _connection = connection;
                loop {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match socket.read(&mut byte).await {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _answering = answering.enter();
                    let text = String::from_utf8_lossy(&head).to_string();
                    seen.lock().unwrap().push(text.clone());
                    let mut parts = text.split_whitespace();
                    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                    let a = answer(method, path, &text);
                    tokio::time::sleep(a.delay).await;
                    if matches!(a.mode, Body::Reset) {
                        return;
                    }
                    let length = match a.mode {
                        Body::Endless => None,
                        Body::ClaimLength(n) => Some(n),
                        _ => Some(a.body.len() as u64),
                    };
                    let mut out = format!("HTTP/1.1 {} X\r\n", a.status);
                    match length {
                        Some(n) => out.push_str(&format!("content-length: {n}\r\n")),
                        None => out.push_str("transfer-encoding: chunked\r\n"),
                    }
                    for (k, v) in &a.headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str("\r\n");
                    if socket.write_all(out.as_bytes()).await.is_err() || method == "HEAD" {
                        if method == "HEAD" {
                            continue;
                        }
                        return;
                    }
                    match a.mode {
                        Body::Endless => {
                            let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
                            while socket.write_all(chunk.as_bytes()).await.is_ok() {}
                            return;
                        }
                        Body::ClaimLength(_) => {
                            let _ = socket.write_all(&a.body).await;
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        }
                        _ => {
                            if socket.write_all(&a.body).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    FakeRegistry {
        host,
        requests,
        heads,
        in_flight,
        connections,
        task,
    }
}

/// A loopback listener that only counts the connections made to it (and closes them): proof
/// that nothing was sent to an address the client should have refused.
pub struct ConnectionCounter {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectionCounter {
    pub fn count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for ConnectionCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn count_connections() -> ConnectionCounter {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    ConnectionCounter {
        port,
        connections,
        task,
    }
}
