//! The reqwest settings every registry connection shares (the registry's own client and the
//! token-realm clients): user agent, timeouts, connection reuse and TLS.

use std::sync::LazyLock;
use std::time::Duration;

use super::mirrors::TlsProfile;
use crate::runtime::PerProcess;

/// One TLS configuration for every registry client of the process, so the platform trust store
/// is read once (on the first handshake) however many clients there are. Rebuilt after a fork
/// like the clients themselves: its session cache holds a lock a parent's thread may have held.
static TLS: LazyLock<PerProcess<rustls::ClientConfig>> =
    LazyLock::new(|| PerProcess::new(super::tls::client_config));

pub(crate) fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    with_tls(timeout, rustls::ClientConfig::clone(&TLS.get()))
}

/// [`builder`] for an endpoint with TLS settings of its own (the platform's for
/// [`TlsProfile::Platform`]).
pub(crate) fn builder_for(timeout: Duration, profile: &TlsProfile) -> reqwest::ClientBuilder {
    match profile {
        TlsProfile::Platform => builder(timeout),
        other => with_tls(timeout, super::tls::client_config_for(other)),
    }
}

fn with_tls(timeout: Duration, tls: rustls::ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("imagecheck/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(90))
        // A clone of the shared configuration shares the verifier and the session cache.
        .tls_backend_preconfigured(tls)
}
