//! tough's [`tough::Transport`] over core's HTTP client: the registry's TLS set-up (platform
//! roots, rustls on aws-lc-rs), a timeout per request, bodies read within a bound, and a count
//! of requests for the log and the benchmarks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Url;
use tough::{TransportError, TransportErrorKind, TransportStream};

/// Largest file read from a repository. tough bounds each file more tightly (1 MiB for root,
/// timestamp and snapshot metadata by default, the signed length for targets); this only stops
/// a server that never ends a body.
const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(super) struct HttpTransport {
    client: reqwest::Client,
    requests: Arc<AtomicUsize>,
}

impl HttpTransport {
    pub(super) fn new(request_timeout: Duration) -> Result<HttpTransport, String> {
        let client = crate::registry::http_client_builder(request_timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(HttpTransport {
            client,
            requests: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Requests sent so far (clones share the count).
    pub(super) fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

#[tough::async_trait]
impl tough::Transport for HttpTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let failed = |kind, why: String| TransportError::new_with_cause(kind, url.as_str(), why);
        let response = self.client.get(url.clone()).send().await.map_err(|e| {
            failed(
                TransportErrorKind::Other,
                crate::registry::describe_transport(&e),
            )
        })?;
        let status = response.status();
        // As tough's own transport: some stores (GCS behind Sigstore's CDN) answer 403 for a
        // file that does not exist, and "no next root version" is learned from exactly that.
        if matches!(status.as_u16(), 403 | 404 | 410) {
            return Err(failed(
                TransportErrorKind::FileNotFound,
                format!("HTTP {status}"),
            ));
        }
        if !status.is_success() {
            return Err(failed(TransportErrorKind::Other, format!("HTTP {status}")));
        }
        let body = crate::registry::read_bounded(response, MAX_FILE_BYTES, "TUF file")
            .await
            .map_err(|cause| failed(TransportErrorKind::Other, cause.to_string()))?;
        Ok(Box::pin(futures::stream::iter([Ok(body)])))
    }
}
