//! A TCP relay in front of a real registry that adds latency to every answer and notes when
//! each request arrived, so tests can tell requests sent together from requests sent one
//! after another without timing the library itself.

#![allow(
    dead_code,
    reason = "shared by several test crates; each uses a different part"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request seen by the relay: its request line and when its first bytes arrived.
#[derive(Debug, Clone)]
pub struct Seen {
    pub line: String,
    pub at: Instant,
}

pub struct SlowLink {
    /// `127.0.0.1:port` of the relay (use it as the registry host).
    pub host: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SlowLink {
    /// Requests seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

impl Drop for SlowLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Relay to `upstream` (`host:port`), holding every chunk of every answer for `delay`.
pub async fn start(upstream: &str, delay: Duration) -> SlowLink {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let upstream = upstream.to_owned();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                return;
            };
            tokio::spawn(relay(client, server, delay, log.clone()));
        }
    });
    SlowLink { host, seen, task }
}

async fn relay(client: TcpStream, server: TcpStream, delay: Duration, log: Arc<Mutex<Vec<Seen>>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = client_read.read(&mut buf).await {
            let chunk = &buf[..n];
            if chunk.starts_with(b"GET ") || chunk.starts_with(b"HEAD ") {
                let line = String::from_utf8_lossy(chunk)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                log.lock().unwrap().push(Seen {
                    line,
                    at: Instant::now(),
                });
            }
            if server_write.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let answers = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = server_read.read(&mut buf).await {
            tokio::time::sleep(delay).await;
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(requests, answers);
}
