//! One connection to the tier per process (redis-rs's connection manager, which reconnects by
//! itself), each operation bounded by the configured timeout and gated by the breaker.
//!
//! Operations run on core's own runtime: the connection's driver task lives where it was
//! spawned, and a caller's runtime (a test's, a host's) may end while the connection should
//! stay. A forked child builds its own connection ([`PerProcess`]).

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use redis::aio::ConnectionManager;
use redis::{ConnectionInfo, FromRedisValue, RedisResult};

use super::breaker::{Breaker, Tripped};
use crate::runtime::PerProcess;

/// Connecting (TCP, TLS, `HELLO`/`AUTH`) may take longer than one operation's timeout on a far
/// tier; the connection attempt goes on across operations, each still bounded by its own.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How an operation ended, when it gave no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoValue {
    /// The tier is unavailable (breaker open, connection or operation failed or timed out):
    /// the call goes on without it.
    Unavailable,
    /// The tier answered with something imagecheck never writes (a key of another type).
    Rejected,
}

pub(crate) struct Client {
    /// Where the tier is, redacted: for the log.
    shown: String,
    connection: PerProcess<Option<ConnectionManager>>,
    timeout: Duration,
    breaker: Breaker,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("at", &self.shown)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(info: ConnectionInfo, shown: String, timeout: Duration) -> Client {
        let at = shown.clone();
        let client = Client {
            shown,
            connection: PerProcess::new(move || manager(&info, &at)),
            timeout,
            breaker: Breaker::default(),
        };
        client.connect_ahead();
        client
    }

    /// Start connecting now (not counted by the breaker), so the first call does not pay for
    /// the handshake.
    fn connect_ahead(&self) {
        if let Some(manager) = (*self.connection.get()).clone() {
            let mut manager = manager;
            crate::runtime::runtime().spawn(async move {
                let ping = redis::cmd("PING");
                let _ = tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    ping.query_async::<redis::Value>(&mut manager),
                )
                .await;
            });
        }
    }

    /// Send one command.
    pub(crate) async fn command<T>(&self, command: redis::Cmd) -> Result<T, NoValue>
    where
        T: FromRedisValue + Send + 'static,
    {
        self.run(move |mut manager| {
            Box::pin(async move { command.query_async::<T>(&mut manager).await })
        })
        .await
    }

    /// Send several commands in one round trip.
    pub(crate) async fn pipeline<T>(&self, pipeline: redis::Pipeline) -> Result<T, NoValue>
    where
        T: FromRedisValue + Send + 'static,
    {
        self.run(move |mut manager| {
            Box::pin(async move { pipeline.query_async::<T>(&mut manager).await })
        })
        .await
    }

    async fn run<T, F>(&self, operation: F) -> Result<T, NoValue>
    where
        T: Send + 'static,
        F: FnOnce(ConnectionManager) -> BoxFuture<'static, RedisResult<T>> + Send + 'static,
    {
        if !self.breaker.allows(Instant::now()) {
            return Err(NoValue::Unavailable);
        }
        let Some(manager) = (*self.connection.get()).clone() else {
            return Err(NoValue::Unavailable);
        };
        let timeout = self.timeout;
        let task = crate::runtime::runtime()
            .spawn(async move { tokio::time::timeout(timeout, operation(manager)).await });
        let why = match task.await {
            Ok(Ok(Ok(value))) => {
                if self.breaker.success() {
                    tracing::info!(cache = %self.shown, "shared cache reachable again");
                }
                return Ok(value);
            }
            Ok(Ok(Err(e))) if is_foreign_value(&e) => {
                crate::metrics::shared_cache_rejected();
                tracing::debug!(cache = %self.shown, error = %e, "shared cache value ignored");
                return Err(NoValue::Rejected);
            }
            Ok(Ok(Err(e))) => e.to_string(),
            Ok(Err(_)) => format!("no answer within {} ms", timeout.as_millis()),
            Err(e) => format!("the operation did not finish: {e}"),
        };
        crate::metrics::shared_cache_error();
        if self.breaker.failure(Instant::now()) == Tripped::Opened {
            tracing::warn!(
                cache = %self.shown,
                error = %why,
                "shared cache unavailable; this node uses its own cache and the registries, \
                 and tries the shared cache again in {} s",
                super::breaker::OPEN_FOR.as_secs()
            );
        } else {
            tracing::debug!(cache = %self.shown, error = %why, "shared cache operation failed");
        }
        Err(NoValue::Unavailable)
    }
}

/// A server answer that is not about the tier's health: a key holding another type (written
/// by someone else), or a value of an unexpected shape.
fn is_foreign_value(error: &redis::RedisError) -> bool {
    matches!(
        error.kind(),
        redis::ErrorKind::UnexpectedReturnType | redis::ErrorKind::Parse
    ) || error.code() == Some("WRONGTYPE")
}

/// The connection manager for `info`, built on core's runtime (its background tasks live
/// there). Nothing is connected yet.
fn manager(info: &ConnectionInfo, shown: &str) -> Option<ConnectionManager> {
    let client = match redis::Client::open(info.clone()) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(cache = %shown, error = %e, "shared cache not usable; going on without it");
            return None;
        }
    };
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(CONNECT_TIMEOUT))
        // The breaker decides when to try again; redis-rs's own retries would keep a dead
        // tier's connection attempt (and the callers polling it) going for seconds.
        .set_number_of_retries(0);
    let runtime = crate::runtime::runtime();
    let _inside = runtime.enter();
    match ConnectionManager::new_lazy_with_config(client, config) {
        Ok(manager) => Some(manager),
        Err(e) => {
            tracing::error!(cache = %shown, error = %e, "shared cache not usable; going on without it");
            None
        }
    }
}
