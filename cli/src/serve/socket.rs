//! The daemon's unix socket: the trust boundary. Created with its final mode and group before it
//! appears under its name (bound under a temporary name, then renamed over the path), never
//! taking over a live socket, replacing a stale one, removed on exit. Accepted connections are
//! capped: past the cap a connection is closed at once and the refusal logged once per interval.

use std::io;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tonic::transport::server::{Connected, UdsConnectInfo};

/// How long a connect to an existing socket may take before it counts as not answering.
const LIVE_CHECK: Duration = Duration::from_millis(500);
/// At most one "connection refused: cap reached" log line per this interval.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The socket file, removed when dropped (normal exit, SIGTERM, an error after binding).
#[derive(Debug)]
pub(crate) struct BoundSocket {
    pub(crate) listener: UnixListener,
    path: PathBuf,
}

impl Drop for BoundSocket {
    fn drop(&mut self) {
        remove_if_socket(&self.path);
    }
}

impl BoundSocket {
    /// Remove the name now (on a stop signal, so new clients fail fast instead of queueing on
    /// a listener nobody accepts from). Dropping later removes nothing more.
    pub(crate) fn unlink(&self) {
        remove_if_socket(&self.path);
    }
}

fn remove_if_socket(path: &Path) {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = std::fs::remove_file(path);
    }
}

/// Bind `path` with `mode` and (optionally) group `gid`. Refuses a path that a live daemon
/// answers on, or that is not a socket; replaces a stale socket.
pub(crate) async fn bind(path: &Path, mode: u32, gid: Option<u32>) -> Result<BoundSocket, String> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(format!(
                "{shown} exists and is not a socket; refusing to replace it"
            ));
        }
        Ok(_) => {
            if let Ok(Ok(_)) = tokio::time::timeout(LIVE_CHECK, UnixStream::connect(path)).await {
                return Err(format!(
                    "another process is serving on {shown}; stop it first (or choose another --socket)"
                ));
            }
            tracing::info!(socket = %shown, "replacing a stale socket nobody answers on");
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot inspect {shown}: {e}")),
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {} for the socket: {e}", dir.display()))?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| format!("{shown} names no file"))?;
    let staging = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    remove_if_socket(&staging);
    let listener = UnixListener::bind(&staging)
        .map_err(|e| format!("cannot create a socket in {}: {e}", dir.display()))?;
    let prepared = (|| {
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(mode))?;
        if let Some(gid) = gid {
            std::os::unix::fs::chown(&staging, None, Some(gid))?;
        }
        std::fs::rename(&staging, path)
    })();
    if let Err(e) = prepared {
        remove_if_socket(&staging);
        return Err(format!("cannot set up {shown}: {e}"));
    }
    Ok(BoundSocket {
        listener,
        path: path.to_owned(),
    })
}

/// The gid of group `name` (a name from /etc/group, or a number).
pub(crate) fn group_id(name: &str) -> Result<u32, String> {
    if let Ok(gid) = name.parse() {
        return Ok(gid);
    }
    let groups = std::fs::read_to_string("/etc/group")
        .map_err(|e| format!("cannot read /etc/group to find group {name:?}: {e}"))?;
    groups
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let group = fields.next()?;
            let gid = fields.nth(1)?;
            (group == name).then(|| gid.parse().ok()).flatten()
        })
        .next()
        .ok_or_else(|| format!("no group {name:?} in /etc/group"))
}

/// Accepted connections, at most `cap` open at once.
pub(crate) fn incoming(
    listener: &UnixListener,
    cap: usize,
) -> impl Stream<Item = io::Result<CappedStream>> + '_ {
    let acceptor = Acceptor {
        listener,
        cap,
        open: Arc::new(AtomicUsize::new(0)),
        last_refusal_log: None,
        refused_since_log: 0,
    };
    futures::stream::unfold(acceptor, |mut acceptor| async move {
        let stream = acceptor.next().await;
        Some((Ok(stream), acceptor))
    })
}

struct Acceptor<'a> {
    listener: &'a UnixListener,
    cap: usize,
    open: Arc<AtomicUsize>,
    last_refusal_log: Option<Instant>,
    refused_since_log: u64,
}

impl Acceptor<'_> {
    async fn next(&mut self) -> CappedStream {
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE and friends: back off a little instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if self.open.fetch_add(1, Ordering::AcqRel) >= self.cap {
                self.open.fetch_sub(1, Ordering::AcqRel);
                drop(stream);
                self.log_refusal();
                continue;
            }
            return CappedStream {
                inner: stream,
                open: self.open.clone(),
            };
        }
    }

    fn log_refusal(&mut self) {
        self.refused_since_log += 1;
        if self
            .last_refusal_log
            .is_none_or(|t| t.elapsed() >= REFUSAL_LOG_INTERVAL)
        {
            tracing::warn!(
                cap = self.cap,
                refused = self.refused_since_log,
                "connection cap reached: closing new connections at once (--max-connections)"
            );
            self.last_refusal_log = Some(Instant::now());
            self.refused_since_log = 0;
        }
    }
}

/// A connection that frees its slot under the cap when closed.
#[derive(Debug)]
pub(crate) struct CappedStream {
    inner: UnixStream,
    open: Arc<AtomicUsize>,
}

impl Drop for CappedStream {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Connected for CappedStream {
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
