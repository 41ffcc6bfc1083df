//! A minimal HTTP/1.1 client for the Docker Engine API over a unix socket.
//!
//! Why not `bollard`: we need three endpoints (image inspect, image create, distribution
//! inspect). bollard brings its own generated model crate, `serde_with`, `url`, `hyperlocal`
//! and more, plus its own timeout and API-version negotiation, for thousands of endpoints we
//! never call. hyper 1, hyper-util and http-body-util are already in the dependency graph
//! through reqwest with the features used here (`client`, `http1`, `tokio`), so this client
//! adds no crate to the build and no compile time; the code is ~200 lines we control: one
//! connection per request (a unix `connect` costs microseconds), bounded bodies, and a
//! connection task that dies with the request so a cancelled resolve leaves nothing behind.
//!
//! Every call here is unbounded in time on purpose: the caller wraps a whole exchange
//! (request, headers and body) in one `tokio::time::timeout`.

use std::io;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tokio::task::JoinHandle;

use crate::error::{CauseKind, DigestCause};

/// One daemon API socket and the name used for it in messages ("docker daemon").
#[derive(Debug, Clone)]
pub(crate) struct UnixHttp {
    socket: PathBuf,
    label: &'static str,
}

/// A response whose body is still on the wire. Dropping it closes the connection.
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    body: Incoming,
    socket: PathBuf,
    label: &'static str,
    _connection: AbortOnDrop,
}

/// Ends the connection task when the response (or the request future) is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl UnixHttp {
    pub(crate) fn new(socket: impl Into<PathBuf>, label: &'static str) -> Self {
        UnixHttp {
            socket: socket.into(),
            label,
        }
    }

    pub(crate) fn socket(&self) -> &Path {
        &self.socket
    }

    pub(crate) fn label(&self) -> &'static str {
        self.label
    }

    /// Send a bodiless request to `path_and_query` (starting with `/`) with extra headers.
    pub(crate) async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Response, DigestCause> {
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|e| self.connect_cause(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.broken(&e))?;
        let connection = AbortOnDrop(tokio::spawn(async move {
            // Errors surface on the request or body side; nothing to report here.
            let _ = connection.await;
        }));
        let mut request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, "localhost");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let request = request.body(Empty::<Bytes>::new()).map_err(|e| {
            DigestCause::new(
                CauseKind::Engine,
                format!("cannot build a request for {path_and_query}: {e}"),
            )
        })?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| self.broken(&e))?;
        Ok(Response {
            status: response.status(),
            body: response.into_body(),
            socket: self.socket.clone(),
            label: self.label,
            _connection: connection,
        })
    }

    fn connect_cause(&self, e: &io::Error) -> DigestCause {
        let path = self.socket.display();
        let label = self.label;
        let detail = match e.kind() {
            io::ErrorKind::NotFound => format!(
                "no {label} socket at {path} (is the {label} running? point imagecheck at its \
                 socket with the builder option or the environment variable)"
            ),
            io::ErrorKind::ConnectionRefused => format!(
                "the {label} socket {path} refuses connections (the {label} is not running, \
                 or was stopped)"
            ),
            io::ErrorKind::PermissionDenied => format!(
                "permission denied on the {label} socket {path} (run as a user allowed to use it)"
            ),
            _ => format!("cannot connect to the {label} socket {path}: {e}"),
        };
        DigestCause::new(CauseKind::Network, detail)
    }

    fn broken(&self, e: &hyper::Error) -> DigestCause {
        DigestCause::new(
            CauseKind::Network,
            format!(
                "connection to the {} socket {} failed: {e}",
                self.label,
                self.socket.display()
            ),
        )
    }
}

impl Response {
    /// The next piece of the body, or None at its end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, DigestCause> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(DigestCause::new(
                        CauseKind::Network,
                        format!(
                            "connection to the {} socket {} broke while reading: {e}",
                            self.label,
                            self.socket.display()
                        ),
                    ));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The whole body, refused (InvalidResponse) past `limit` bytes.
    pub(crate) async fn read_all(
        &mut self,
        limit: usize,
        what: &str,
    ) -> Result<Bytes, DigestCause> {
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            if buf.len() + chunk.len() > limit {
                return Err(DigestCause::new(
                    CauseKind::InvalidResponse,
                    format!("the {} sent more than {limit} bytes for {what}", self.label),
                ));
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    /// The daemon's error message from a non-2xx body (`{"message": …}`), bounded; the raw
    /// text (trimmed) when it is not that JSON.
    pub(crate) async fn error_message(&mut self) -> String {
        const LIMIT: usize = 64 * 1024;
        let mut buf = BytesMut::new();
        while let Ok(Some(chunk)) = self.chunk().await {
            let room = LIMIT.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if buf.len() >= LIMIT {
                break;
            }
        }
        #[derive(serde::Deserialize)]
        struct Message {
            message: String,
        }
        match serde_json::from_slice::<Message>(&buf) {
            Ok(m) => m.message,
            Err(_) => {
                let text = String::from_utf8_lossy(&buf);
                let text = text.trim();
                if text.is_empty() {
                    format!("HTTP {}", self.status)
                } else {
                    text.chars().take(2000).collect()
                }
            }
        }
    }
}
