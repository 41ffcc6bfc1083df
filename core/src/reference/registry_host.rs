//! The canonical spelling of a registry host, which references, image patterns, credentials,
//! insecure-registry lists and credential files all compare (see the parent module's
//! documentation for why each rule).

use std::borrow::Cow;
use std::net::Ipv6Addr;

/// The registry Docker Hub references normalise to (display form, not `index.docker.io`).
pub const DOCKER_HUB: &str = "docker.io";
/// The host Docker Hub's registry API actually answers on.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// Every name Docker Hub's registry answers to, normalised to [`DOCKER_HUB`]: the display
/// form, the legacy "Docker Index", the API host and the old Hub host.
const DOCKER_HUB_ALIASES: &[&str] = &[
    DOCKER_HUB,
    "index.docker.io",
    DOCKER_HUB_API_HOST,
    "registry.hub.docker.com",
];
/// HTTPS's default port, which every registry not listed insecure is reached on.
const HTTPS_DEFAULT_PORT: &str = "443";
/// The one host name that is a domain without a `.` or `:`.
const LOCALHOST: &str = "localhost";

/// Whether `first`, the text before a name's first `/`, names a registry rather than a Docker
/// Hub namespace: it contains `.` or `:` or is `localhost` (in any case). Image patterns use
/// the same rule for their host part.
pub fn is_host_like(first: &str) -> bool {
    first.contains(['.', ':']) || first.eq_ignore_ascii_case(LOCALHOST)
}

/// The canonical spelling of a registry host (`host[:port]`, as references, patterns,
/// credentials, insecure-registry lists and credential files write it): lower case, an IPv6
/// literal in RFC 5952 form, a port without leading zeros and without the HTTPS default
/// `:443` (unless the host is not [`is_host_like`] without it), and [`DOCKER_HUB`] for every
/// Docker Hub alias (see the module documentation for why). Borrows when `registry` is
/// already canonical, which is the usual case. The result is a fixed point.
///
/// It does not validate: text that is not a host comes back lower-cased and otherwise as
/// given, so comparing canonical forms never makes two different registries equal.
pub fn canonical_registry(registry: &str) -> Cow<'_, str> {
    let (host, written_port) = split_port(registry);
    let host = canonical_host(host);
    // `myhost:443/app` keeps its port: `myhost/app` is the Docker Hub repository `myhost/app`.
    let port = written_port
        .map(without_leading_zeros)
        .filter(|p| *p != HTTPS_DEFAULT_PORT || !is_host_like(&host));
    if port.is_none() && DOCKER_HUB_ALIASES.contains(&host.as_ref()) {
        return Cow::Borrowed(DOCKER_HUB);
    }
    match (host, port) {
        (Cow::Borrowed(_), port) if port == written_port => Cow::Borrowed(registry),
        (host, None) => host,
        (host, Some(port)) => Cow::Owned(format!("{host}:{port}")),
    }
}

/// The port of `registry` (`host[:port]`) as written, if it has one.
pub(crate) fn registry_port(registry: &str) -> Option<&str> {
    split_port(registry).1
}

/// `host[:port]` split at the port's `:`; a bracketed IPv6 literal keeps its colons, and an
/// unbracketed text with several colons is all host (it has no unambiguous port).
fn split_port(registry: &str) -> (&str, Option<&str>) {
    let host_end = if registry.starts_with('[') {
        registry.find(']').map_or(registry.len(), |close| close + 1)
    } else {
        match registry.find(':') {
            Some(colon) if !registry[colon + 1..].contains(':') => colon,
            _ => registry.len(),
        }
    };
    match registry[host_end..].strip_prefix(':') {
        Some(port) => (&registry[..host_end], Some(port)),
        None => (registry, None),
    }
}

/// A numeric port as a runtime reads it: `05000` is `5000`. Anything else is left as is.
fn without_leading_zeros(port: &str) -> &str {
    if port.len() > 1 && port.bytes().all(|b| b.is_ascii_digit()) {
        let trimmed = port.trim_start_matches('0');
        if trimmed.is_empty() { "0" } else { trimmed }
    } else {
        port
    }
}

/// A host name in lower case, or a bracketed IPv6 literal in RFC 5952 form.
fn canonical_host(host: &str) -> Cow<'_, str> {
    if let Some(address) = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<Ipv6Addr>().ok())
    {
        let segments = address.segments();
        // Rust shows an IPv4-mapped address dotted (`::ffff:1.2.3.4`); references have no
        // dots between brackets, so write its last two groups in hex like the rest.
        let canonical = if address.to_ipv4_mapped().is_some() {
            format!("[::ffff:{:x}:{:x}]", segments[6], segments[7])
        } else {
            format!("[{address}]")
        };
        return if canonical == host {
            Cow::Borrowed(host)
        } else {
            Cow::Owned(canonical)
        };
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}
