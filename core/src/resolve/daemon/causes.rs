//! What a daemon's error text means, as a [`CauseKind`].
//!
//! Daemons forward the registry's error codes inside free text (docker: "pull access denied
//! for …", "manifest for … not found: manifest unknown"; podman: "reading manifest … in …:
//! manifest unknown", "unauthorized: authentication required"). The HTTP status is a weak
//! hint: docker answers 404 for a denied pull, podman answers 200 and reports the error in the
//! progress stream.

use hyper::StatusCode;

use crate::error::CauseKind;

/// Classify a daemon's error `message` (and the HTTP status, when it came with one).
pub(crate) fn classify(message: &str, status: Option<StatusCode>) -> CauseKind {
    let m = message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    // Order matters: docker's denied message also says "repository does not exist".
    if has(&[
        "unauthorized",
        "authentication required",
        "access denied",
        "denied:",
        "requested access to the resource is denied",
        "incorrect username or password",
        "no basic auth credentials",
        "401 unauthorized",
    ]) {
        return CauseKind::Unauthorized;
    }
    if has(&["toomanyrequests", "too many requests", "rate limit"]) {
        return CauseKind::RateLimited;
    }
    if has(&[
        "manifest unknown",
        "name unknown",
        "not found: manifest",
        "manifest for ",
        "no such image",
        "repository does not exist",
    ]) && !has(&["connection refused", "no such host"])
    {
        return CauseKind::NotFound;
    }
    if has(&["timeout", "timed out", "deadline exceeded", "i/o timeout"]) {
        return CauseKind::Timeout;
    }
    if has(&[
        "connection refused",
        "no such host",
        "connection reset",
        "network is unreachable",
        "tls: ",
        "x509:",
        "server gave http response to https client",
    ]) {
        return CauseKind::Network;
    }
    match status {
        Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => CauseKind::Unauthorized,
        Some(StatusCode::TOO_MANY_REQUESTS) => CauseKind::RateLimited,
        _ => CauseKind::Engine,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn real_daemon_messages() {
        // dockerd 20.10, HTTP 404.
        let denied = "pull access denied for 127.0.0.1:40045/private/hello, repository does not \
                      exist or may require 'docker login': denied: requested access to the \
                      resource is denied";
        assert_eq!(
            classify(denied, Some(StatusCode::NOT_FOUND)),
            CauseKind::Unauthorized
        );
        let unknown = "manifest for 127.0.0.1:32833/test/hello:nope not found: manifest unknown: manifest unknown";
        assert_eq!(
            classify(unknown, Some(StatusCode::NOT_FOUND)),
            CauseKind::NotFound
        );
        // podman 4.3, in the progress stream.
        let podman_denied = "initializing source docker://127.0.0.1:40045/private/hello:v1: \
                             reading manifest v1 in 127.0.0.1:40045/private/hello: errors:\n\
                             denied: requested access to the resource is denied\n\
                             unauthorized: authentication required\n";
        assert_eq!(classify(podman_denied, None), CauseKind::Unauthorized);
        let podman_unknown = "initializing source docker://127.0.0.1:32833/test/hello:nope: \
                              reading manifest nope in 127.0.0.1:32833/test/hello: manifest \
                              unknown: manifest unknown";
        assert_eq!(classify(podman_unknown, None), CauseKind::NotFound);
        assert_eq!(
            classify(
                "Get \"https://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused",
                Some(StatusCode::INTERNAL_SERVER_ERROR)
            ),
            CauseKind::Network
        );
        assert_eq!(
            classify(
                "Get \"https://r/v2/\": net/http: request canceled (Client.Timeout exceeded)",
                None
            ),
            CauseKind::Timeout
        );
        assert_eq!(
            classify(
                "toomanyrequests: You have reached your pull rate limit",
                None
            ),
            CauseKind::RateLimited
        );
        assert_eq!(
            classify("write /var/lib/docker/tmp: no space left on device", None),
            CauseKind::Engine
        );
        assert_eq!(
            classify("something", Some(StatusCode::FORBIDDEN)),
            CauseKind::Unauthorized
        );
    }
}
