//! Per-call registry credentials. The password never reaches a Debug print, a log line or an
//! error message.

mod fingerprint;

use std::fmt;

pub(crate) use fingerprint::Fingerprint;

/// Credentials for one registry host, given by a caller for one call.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Credentials {
    host: String,
    username: String,
    password: String,
    /// Computed once: cache lookups with credentials must stay cheap.
    fingerprint: Fingerprint,
}

impl Credentials {
    /// `host` is the registry as references spell it (`ghcr.io`, `127.0.0.1:5000`, `docker.io`),
    /// in any spelling that names the same registry (`GHCR.IO`, `ghcr.io:443`,
    /// `https://index.docker.io/v1/`): it is kept in canonical form.
    pub fn new(
        host: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        let (host, username, password) = (
            normalise_host(&host.into()),
            username.into(),
            password.into(),
        );
        let fingerprint = Fingerprint::of(&host, &username, &password);
        Credentials {
            host,
            username,
            password,
            fingerprint,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// The secret. Callers must not log it.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Whether these credentials are meant for `registry` (a normalised reference registry).
    pub fn applies_to(&self, registry: &str) -> bool {
        self.host == registry
    }

    /// The keyed fingerprint that keys cache entries obtained with these credentials, so that
    /// no other caller is served them (see [`Fingerprint`]: it is never printed).
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

/// A registry as users and config files write it (`GHCR.IO`, `https://index.docker.io/v1/`,
/// an auth.json `host/namespace` key) in the form references compare: scheme and API
/// version path dropped, the host in canonical form (lower case, no `:443`, `docker.io` for
/// every Docker Hub alias; [`crate::reference::canonical_registry`]), a namespace kept as is.
pub(crate) fn normalise_host(host: &str) -> String {
    let host = host
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = host.strip_suffix("/v1").unwrap_or(host);
    let host = host.strip_suffix("/v2").unwrap_or(host);
    let (registry, namespace) = match host.split_once('/') {
        Some((registry, namespace)) => (registry, Some(namespace)),
        None => (host, None),
    };
    let registry = crate::reference::canonical_registry(registry);
    match namespace {
        Some(namespace) => format!("{registry}/{namespace}"),
        None => registry.into_owned(),
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("host", &self.host)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_password() {
        let c = Credentials::new("https://index.docker.io/v1/", "me", "s3cret-pw");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(c.host(), "docker.io");
    }

    #[test]
    fn host_is_kept_in_the_form_references_compare() {
        for (given, host) in [
            ("GHCR.IO", "ghcr.io"),
            ("ghcr.io:443", "ghcr.io"),
            ("https://Ghcr.io/", "ghcr.io"),
            ("registry-1.docker.io", "docker.io"),
            ("https://registry-1.docker.io:443/v2/", "docker.io"),
            ("registry.hub.docker.com", "docker.io"),
            ("LOCALHOST:5000", "localhost:5000"),
            ("ghcr.io:80", "ghcr.io:80"),
            ("Quay.io/Team", "quay.io/Team"),
        ] {
            assert_eq!(Credentials::new(given, "u", "p").host(), host, "{given}");
        }
    }

    #[test]
    fn fingerprint_depends_on_every_field() {
        let a = Credentials::new("h", "u", "p");
        assert_ne!(
            a.fingerprint(),
            Credentials::new("h", "u", "q").fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            Credentials::new("h", "v", "p").fingerprint()
        );
        assert_ne!(
            a.fingerprint(),
            Credentials::new("g", "u", "p").fingerprint()
        );
        // Field boundaries count: ("ab","c") differs from ("a","bc").
        assert_ne!(
            Credentials::new("h", "ab", "c").fingerprint(),
            Credentials::new("h", "a", "bc").fingerprint()
        );
    }
}
