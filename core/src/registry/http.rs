//! The reqwest settings every registry connection shares (the registry's own client and the
//! token-realm clients): user agent, timeouts, connection reuse and TLS.

use std::time::Duration;

pub(crate) fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("imagecheck/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_idle_timeout(Duration::from_secs(90))
        .tls_backend_preconfigured(super::tls::client_config())
}
