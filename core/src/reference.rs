//! Docker image references: parse and normalise the way docker/distribution does, with one
//! canonical spelling of every registry.
//!
//! The grammar and normalisation follow `ParseNormalizedNamed` of
//! `github.com/distribution/reference`, hand-written as a byte scanner (no regex):
//!
//! ```text
//! reference       := name [ ":" tag ] [ "@" digest ]
//! name            := [ domain "/" ] path-component ( "/" path-component )*
//! domain          := host [ ":" port ]
//! host            := domain-component ( "." domain-component )* | "[" [a-fA-F0-9:]+ "]"
//! domain-component:= [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
//! port            := [0-9]+
//! path-component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag             := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! digest          := algorithm ":" hex          (checked by `Digest::parse`)
//! ```
//!
//! Normalisation:
//! - The text before the first `/` is a domain only if it contains `.` or `:` or is
//!   `localhost` (in any case); otherwise the whole name is a Docker Hub repository. A name
//!   without any `/` is always a Docker Hub repository (so `localhost:5000` is
//!   `docker.io/library/localhost` with tag `5000`, exactly as distribution parses it).
//! - The domain is replaced by its canonical form, [`canonical_registry`], so that every
//!   spelling a runtime pulls from the same registry is one registry here: policy patterns,
//!   credentials, insecure-registry lists, configured auth and cache keys all compare that
//!   form, and a `deny` on `ghcr.io/evil/*` cannot be escaped by `GHCR.IO:443/evil/app`.
//!   - ASCII lower case: host names are case-insensitive (IPv6 hex digits too).
//!   - An IPv6 literal in its RFC 5952 form: `[fc00:0:0::1]` is `[fc00::1]`.
//!   - A port without leading zeros (`:05000` is `:5000`; runtimes read the number), and
//!     `:443` dropped: registries are spoken to over HTTPS (unless listed insecure), whose
//!     default port it is. It is kept when the host would not be host-like without it
//!     (`myhost:443` stays: `myhost/app` is a Docker Hub repository). Every other port is
//!     kept, `:80` included: over HTTPS, port 80 is another endpoint than the default. (For a
//!     registry listed insecure, `host` and `host:80` reach the same server over plain HTTP
//!     but stay two names, and `host:443` is `host`, reached on port 80; list and write such
//!     a registry one way.)
//!   - Every Docker Hub alias, `docker.io`, `index.docker.io`, `registry-1.docker.io` and
//!     `registry.hub.docker.com` (each also with `:443`), is [`DOCKER_HUB`]; a
//!     single-component repository on Docker Hub gets `library/` prepended, whichever alias
//!     named it. [`Reference::api_host`] still sends requests to [`DOCKER_HUB_API_HOST`].
//!
//!   [`Reference::respelled_registry`] tells a caller that the input named its registry
//!   otherwise; the verifier and resolver log that at debug level.
//! - The tag defaults to [`DEFAULT_TAG`] only when neither tag nor digest is given; with both,
//!   both are kept.
//! - The (normalised) repository path is limited to 255 characters; the registry host does
//!   not count, as in current distribution/reference (`RepositoryNameTotalLengthMax`).
//! - A bare 64-character lowercase hex string is refused (it is an image ID, not a name).
//!
//! Deliberate differences from distribution besides the canonical registry form:
//! - A first component holding upper-case letters but no `.`/`:` (`Foo/bar`) is *not* taken
//!   as a domain (distribution's `splitDockerDomain` does take it); it stays part of the
//!   repository and is rejected as "repository name must be lowercase". `LOCALHOST/foo` is
//!   the exception: it is `localhost/foo`, as it is for distribution.
//! - A domain-like first component that is not a valid host but is a valid path component
//!   (`my_host.com/app`) is an error here; distribution returns a reference with an *empty*
//!   domain and the whole name as path, which could not be resolved anyway.

use std::borrow::Cow;
use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use crate::digest::Digest;

/// The registry Docker Hub references normalise to (display form, not `index.docker.io`).
pub const DOCKER_HUB: &str = "docker.io";
/// The host Docker Hub's registry API actually answers on.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// The tag a reference without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";

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
/// Namespace of Docker Hub's official images.
const LIBRARY_PREFIX: &str = "library/";
/// Maximum length of the (normalised) repository path.
const MAX_REPOSITORY_LEN: usize = 255;
/// Maximum length of a tag.
const MAX_TAG_LEN: usize = 128;

/// A parsed, normalised image reference.
///
/// Stored as one canonical buffer `registry/repository[:tag]` plus offsets, so parsing
/// allocates once (twice with a digest) and the accessors are slices.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `registry/repository[:tag]`, normalised.
    text: String,
    /// Length of `registry`; `text[registry_len]` is the `/` before the repository.
    registry_len: usize,
    /// Length of `registry/repository`; a tag, if any, follows after a `:`.
    name_len: usize,
    digest: Option<Digest>,
}

/// Why a string is not a reference. The message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference {input:?}: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

impl Reference {
    /// Parse and normalise `input`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        parse_reference(input).map_err(|reason| ReferenceError {
            input: input.to_owned(),
            reason: match input.find("://") {
                // `https://ghcr.io/...`: say so rather than only "empty path component".
                Some(at) if at > 0 && input[..at].bytes().all(|b| b.is_ascii_alphabetic()) => {
                    format!(
                        "a reference has no URL scheme (drop {:?}): {reason}",
                        &input[..at + 3]
                    )
                }
                _ => reason,
            },
        })
    }

    /// `registry/repository[:tag]` without the digest: the key a tag resolves under.
    pub fn tagged_name(&self) -> &str {
        &self.text
    }

    /// Registry host in its canonical form ([`canonical_registry`]): `docker.io`,
    /// `localhost:5000`, `[::1]:5000`.
    pub fn registry(&self) -> &str {
        &self.text[..self.registry_len]
    }

    /// The registry host as `input` (the text this reference was parsed from) wrote it, when
    /// that differs from [`Self::registry`]: `Some("GHCR.IO:443")` for `GHCR.IO:443/org/app`,
    /// `Some("index.docker.io")` for `index.docker.io/nginx`; `None` for `ghcr.io/org/app`
    /// and for a name without registry (`nginx`).
    pub fn respelled_registry<'a>(&self, input: &'a str) -> Option<&'a str> {
        split_domain(input)
            .0
            .filter(|written| *written != self.registry())
    }

    /// Log at debug level that `input`, parsed into this reference, named its registry
    /// otherwise: what is matched, cached and contacted is the canonical form.
    pub(crate) fn debug_respelling(&self, input: &str) {
        if let Some(written) = self.respelled_registry(input) {
            tracing::debug!(
                reference = input,
                registry = self.registry(),
                "{written:?} is a spelling of registry {:?}: matched, cached and resolved as {self}",
                self.registry()
            );
        }
    }

    /// The host the registry API is reached on (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        match self.registry() {
            DOCKER_HUB => DOCKER_HUB_API_HOST,
            registry => registry,
        }
    }

    /// Repository path: `library/nginx`.
    pub fn repository(&self) -> &str {
        &self.text[self.registry_len + 1..self.name_len]
    }

    /// The tag, if any (`latest` when neither tag nor digest was given).
    pub fn tag(&self) -> Option<&str> {
        self.text.get(self.name_len + 1..)
    }

    /// The digest, if the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Whether the reference names its image by digest only (no tag).
    pub fn is_digest_only(&self) -> bool {
        self.text.len() == self.name_len
    }

    /// `registry/repository`, the string policy patterns match.
    pub fn name(&self) -> String {
        self.text[..self.name_len].to_owned()
    }

    /// `registry/repository@digest`: the pinned form returned as `digested_ref`.
    pub fn pinned(&self, digest: &Digest) -> String {
        let digest = digest.as_str();
        let mut out = String::with_capacity(self.name_len + 1 + digest.len());
        out.push_str(&self.text[..self.name_len]);
        out.push('@');
        out.push_str(digest);
        out
    }
}

impl fmt::Display for Reference {
    /// Canonical form: `registry/repository[:tag][@digest]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        if let Some(digest) = &self.digest {
            f.write_str("@")?;
            f.write_str(digest.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// The parser proper; the error is the `reason` of a [`ReferenceError`].
fn parse_reference(input: &str) -> Result<Reference, String> {
    if input.is_empty() {
        return Err("empty reference".to_owned());
    }
    if input.len() == 64 && input.bytes().all(is_lower_hex) {
        return Err(
            "cannot specify a 64-byte hexadecimal string (an image ID) as a repository name"
                .to_owned(),
        );
    }

    // Domain: `None` means Docker Hub.
    let (domain, remainder) = split_domain(input);
    // remainder = path [":" tag] ["@" digest]. The path holds neither ':' nor '@' and the tag
    // no '@', so the path ends at the first ':' or '@', a tag at the first '@' after it, and
    // the digest is the rest. The validators scan up to those ends.
    let (path_len, multi_component) = validate_path(remainder)?;
    let path = &remainder[..path_len];
    let domain = match domain {
        Some(d) => {
            validate_domain(d)?;
            Some(canonical_registry(d)).filter(|d| d != DOCKER_HUB)
        }
        None => None,
    };
    let mut rest = &remainder[path_len..];
    let mut tag = None;
    if let Some(after_colon) = rest.strip_prefix(':') {
        let tag_len = validate_tag(after_colon)?;
        tag = Some(&after_colon[..tag_len]);
        rest = &after_colon[tag_len..];
    }
    // `rest` is now empty or '@' and the digest.
    let digest_text = rest.get(1..);
    let library = domain.is_none() && !multi_component;
    let repository_len = path.len() + if library { LIBRARY_PREFIX.len() } else { 0 };
    if repository_len > MAX_REPOSITORY_LEN {
        return Err(format!(
            "repository name longer than {MAX_REPOSITORY_LEN} characters ({repository_len})"
        ));
    }
    let digest = match digest_text {
        Some("") => return Err("empty digest after '@'".to_owned()),
        Some(d) => Some(Digest::parse(d).map_err(|e| format!("invalid digest: {e}"))?),
        None => None,
    };

    let registry = domain.as_deref().unwrap_or(DOCKER_HUB);
    let tag = match (tag, &digest) {
        (Some(t), _) => Some(t),
        (None, None) => Some(DEFAULT_TAG),
        (None, Some(_)) => None,
    };
    let name_len = registry.len() + 1 + repository_len;
    let mut text = String::with_capacity(name_len + tag.map_or(0, |t| 1 + t.len()));
    text.push_str(registry);
    text.push('/');
    if library {
        text.push_str(LIBRARY_PREFIX);
    }
    text.push_str(path);
    if let Some(tag) = tag {
        text.push(':');
        text.push_str(tag);
    }
    Ok(Reference {
        text,
        registry_len: registry.len(),
        name_len,
        digest,
    })
}

/// distribution's `splitDockerDomain`: the text before the first `/` is a domain if it is
/// [`is_host_like`]. Returns the domain (unvalidated, not yet normalised) and the rest;
/// `None` for a Docker Hub name, whose rest is the whole input.
fn split_domain(input: &str) -> (Option<&str>, &str) {
    match input.split_once('/') {
        Some((first, rest)) if is_host_like(first) => (Some(first), rest),
        _ => (None, input),
    }
}

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

#[inline]
fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

#[inline]
fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

#[inline]
fn is_separator(b: u8) -> bool {
    matches!(b, b'.' | b'_' | b'-')
}

/// `\w` of Go's regexp: ASCII letters, digits and `_`.
#[inline]
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The first character at byte offset `at` of `s` (which must be a char boundary).
fn char_at(s: &str, at: usize) -> char {
    s[at..].chars().next().unwrap_or('\u{fffd}')
}

/// What is wrong with a path component.
#[derive(Debug, Clone, Copy)]
enum PathFault {
    Empty,
    BadStart,
    BadEnd,
    /// Byte offset (in the path) of a character that is not allowed.
    BadChar(usize),
    /// Byte range (in the path) of a separator run that is not `.`, `_`, `__` or `-+`.
    BadSeparator(usize, usize),
}

/// Check the repository path at the start of `remainder`: `/`-separated
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, ended by the end, a `:` or an `@`. One pass; returns
/// the length of the path and whether it has more than one component.
fn validate_path(remainder: &str) -> Result<(usize, bool), String> {
    let b = remainder.as_bytes();
    let n = b.len();
    let mut i = 0;
    let mut component = 0;
    let mut multi = false;
    loop {
        // An alphanumeric run: at the start of a component or after a separator.
        let run = i;
        while i < n && is_lower_alnum(b[i]) {
            i += 1;
        }
        if i == run {
            let fault = if i == n || matches!(b[i], b'/' | b':' | b'@') {
                if i == component {
                    PathFault::Empty
                } else {
                    PathFault::BadEnd
                }
            } else if i == component && is_separator(b[i]) {
                PathFault::BadStart
            } else {
                PathFault::BadChar(i)
            };
            return Err(path_error(remainder, component, fault));
        }
        if i == n {
            return Ok((i, multi));
        }
        match b[i] {
            b':' | b'@' => return Ok((i, multi)),
            b'/' => {
                multi = true;
                i += 1;
                component = i;
            }
            b'.' | b'_' | b'-' => {
                let sep = i;
                i += 1;
                while i < n && is_separator(b[i]) {
                    i += 1;
                }
                let s = &b[sep..i];
                if !(s.len() == 1 || s == b"__" || s.iter().all(|&c| c == b'-')) {
                    return Err(path_error(
                        remainder,
                        component,
                        PathFault::BadSeparator(sep, i),
                    ));
                }
            }
            _ => return Err(path_error(remainder, component, PathFault::BadChar(i))),
        }
    }
}

#[cold]
#[inline(never)]
fn path_error(remainder: &str, component_start: usize, fault: PathFault) -> String {
    let path = remainder
        .find([':', '@'])
        .map_or(remainder, |end| &remainder[..end]);
    // Like distribution: any upper case in the repository is reported as such.
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return "repository name must be lowercase".to_owned();
    }
    let rest = &path[component_start.min(path.len())..];
    let component = rest.split('/').next().unwrap_or(rest);
    match fault {
        PathFault::Empty if path.is_empty() => {
            "empty path component (no repository name)".to_owned()
        }
        PathFault::Empty => "empty path component (leading, trailing or repeated '/')".to_owned(),
        PathFault::BadStart => {
            format!("path component {component:?} must start with a lowercase letter or digit")
        }
        PathFault::BadEnd => {
            format!("path component {component:?} must end with a lowercase letter or digit")
        }
        PathFault::BadChar(at) => format!(
            "invalid character {:?} in path component {component:?}",
            char_at(path, at)
        ),
        PathFault::BadSeparator(from, to) => format!(
            "invalid separator {:?} in path component {component:?} \
             (allowed: '.', '_', '__' or a run of '-')",
            &path[from..to]
        ),
    }
}

/// `host [":" port]` with host a dotted name or a bracketed IPv6 address.
fn validate_domain(domain: &str) -> Result<(), String> {
    let port = if let Some(inner_and_rest) = domain.strip_prefix('[') {
        let Some(close) = inner_and_rest.find(']') else {
            return Err(domain_error(
                domain,
                "IPv6 address is missing its closing ']'",
            ));
        };
        let inner = &inner_and_rest[..close];
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(domain_error(
                domain,
                "invalid IPv6 address (only hex digits and ':' are allowed between '[' and ']')",
            ));
        }
        let rest = &inner_and_rest[close + 1..];
        if rest.is_empty() {
            None
        } else if let Some(port) = rest.strip_prefix(':') {
            Some(port)
        } else {
            return Err(domain_error(
                domain,
                "only ':port' may follow a bracketed IPv6 address",
            ));
        }
    } else {
        let host_len = validate_host_name(domain)?;
        domain.get(host_len + 1..)
    };
    match port {
        Some("") => Err(domain_error(domain, "empty port after ':'")),
        Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => {
            Err(domain_error(domain, &format!("port {p:?} must be numeric")))
        }
        _ => Ok(()),
    }
}

/// Dot-separated `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]` components at the start
/// of `domain`, ended by its end or a `:`. One pass; returns the length of the host name.
fn validate_host_name(domain: &str) -> Result<usize, String> {
    let b = domain.as_bytes();
    let mut start = 0;
    let mut i = 0;
    loop {
        match b.get(i) {
            Some(c) if c.is_ascii_alphanumeric() || *c == b'-' => {}
            end @ (None | Some(b'.' | b':')) => {
                let label = &b[start..i];
                match (label.first(), label.last()) {
                    (None, _) if i == 0 && end != Some(&b'.') => {
                        return Err(domain_error(domain, "empty host name"));
                    }
                    (None, _) => return Err(domain_error(domain, "empty domain component")),
                    (Some(b'-'), _) | (_, Some(b'-')) => {
                        return Err(domain_error(
                            domain,
                            &format!(
                                "domain component {:?} must start and end with a letter or digit",
                                &domain[start..i]
                            ),
                        ));
                    }
                    _ if end == Some(&b'.') => start = i + 1,
                    _ => return Ok(i),
                }
            }
            Some(_) => {
                let end = domain[i..].find(['.', ':']).map_or(domain.len(), |e| i + e);
                return Err(domain_error(
                    domain,
                    &format!(
                        "invalid character {:?} in domain component {:?}",
                        char_at(domain, i),
                        &domain[start..end]
                    ),
                ));
            }
        }
        i += 1;
    }
}

#[cold]
#[inline(never)]
fn domain_error(domain: &str, detail: &str) -> String {
    format!("invalid registry host {domain:?}: {detail}")
}

/// `[\w][\w.-]{0,127}` at the start of `after_colon`, ended by the end or an `@` (which
/// cannot be part of a tag); returns the length of the tag.
fn validate_tag(after_colon: &str) -> Result<usize, String> {
    let b = after_colon.as_bytes();
    match b.first() {
        None | Some(b'@') => return Err("empty tag after ':'".to_owned()),
        Some(&first) if !is_word(first) => {
            return Err(tag_error(
                after_colon,
                "must start with a letter, digit or '_'".to_owned(),
            ));
        }
        Some(_) => {}
    }
    let mut len = 1;
    while len < b.len() && (is_word(b[len]) || b[len] == b'.' || b[len] == b'-') {
        len += 1;
    }
    if len < b.len() && b[len] != b'@' {
        return Err(tag_error(
            after_colon,
            format!(
                "character {:?} is not allowed (letters, digits, '_', '.' and '-' are)",
                char_at(after_colon, len)
            ),
        ));
    }
    if len > MAX_TAG_LEN {
        return Err(tag_error(
            after_colon,
            format!("longer than {MAX_TAG_LEN} characters ({len})"),
        ));
    }
    Ok(len)
}

#[cold]
#[inline(never)]
fn tag_error(after_colon: &str, detail: String) -> String {
    let tag = after_colon
        .find('@')
        .map_or(after_colon, |end| &after_colon[..end]);
    format!("tag {tag:?} is invalid: {detail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const HEX512: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                          47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

    type Parts = (String, String, Option<String>, Option<String>);

    struct Case {
        input: String,
        expect: Result<Parts, &'static str>,
    }

    fn ok(
        input: impl Into<String>,
        registry: &str,
        repository: impl Into<String>,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Case {
        Case {
            input: input.into(),
            expect: Ok((
                registry.to_owned(),
                repository.into(),
                tag.map(str::to_owned),
                digest.map(str::to_owned),
            )),
        }
    }

    fn err(input: impl Into<String>, reason: &'static str) -> Case {
        Case {
            input: input.into(),
            expect: Err(reason),
        }
    }

    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        let d256 = format!("sha256:{HEX256}");
        let d512 = format!("sha512:{HEX512}");
        let d256 = d256.as_str();
        let d512 = d512.as_str();
        let hub = DOCKER_HUB;
        let latest = Some(DEFAULT_TAG);
        let a = |n: usize| "a".repeat(n);
        vec![
            // ---- Docker Hub short names and `library/` insertion ----
            ok("nginx", hub, "library/nginx", latest, None),
            ok("nginx:1.25", hub, "library/nginx", Some("1.25"), None),
            ok("nginx:1.25-alpine", hub, "library/nginx", Some("1.25-alpine"), None),
            ok("library/nginx", hub, "library/nginx", latest, None),
            ok("bitnami/redis", hub, "bitnami/redis", latest, None),
            ok("docker/docker", hub, "docker/docker", latest, None),
            ok("a/b", hub, "a/b", latest, None),
            ok("docker.io/nginx", hub, "library/nginx", latest, None),
            ok("docker.io/library/nginx", hub, "library/nginx", latest, None),
            ok("docker.io/bitnami/redis:7.2", hub, "bitnami/redis", Some("7.2"), None),
            ok("index.docker.io/nginx", hub, "library/nginx", latest, None),
            ok("index.docker.io/library/nginx:1", hub, "library/nginx", Some("1"), None),
            ok("index.docker.io/bitnami/redis", hub, "bitnami/redis", latest, None),
            ok("library/a/b/c", hub, "library/a/b/c", latest, None),
            // bare names are always Docker Hub repositories, even host-like ones
            // (distribution's `splitDockerDomain` fast path)
            ok("localhost", hub, "library/localhost", latest, None),
            ok("localhost:5000", hub, "library/localhost", Some("5000"), None),
            ok("example.com", hub, "library/example.com", latest, None),
            ok("192.168.0.1:80", hub, "library/192.168.0.1", Some("80"), None),
            ok("index.docker.io", hub, "library/index.docker.io", latest, None),
            // a 64-hex name is fine once a registry disambiguates it
            ok(format!("docker.io/{HEX256}"), hub, format!("library/{HEX256}"), latest, None),
            // ---- digests ----
            ok(format!("nginx@{d256}"), hub, "library/nginx", None, Some(d256)),
            ok(format!("nginx:1.25@{d256}"), hub, "library/nginx", Some("1.25"), Some(d256)),
            ok(format!("docker.io/library/nginx@{d512}"), hub, "library/nginx", None, Some(d512)),
            ok(format!("ghcr.io/org/app:v1@{d512}"), "ghcr.io", "org/app", Some("v1"), Some(d512)),
            ok(format!("my-registry.local:443/ns/img@{d256}"), "my-registry.local", "ns/img", None, Some(d256)),
            // ---- other registries, ports, localhost, IPs ----
            ok("ghcr.io/org/app:v1.0.0", "ghcr.io", "org/app", Some("v1.0.0"), None),
            ok("ghcr.io/app", "ghcr.io", "app", latest, None),
            ok("quay.io/prometheus/node-exporter:v1.8.2", "quay.io", "prometheus/node-exporter", Some("v1.8.2"), None),
            ok("registry.example.com:5000/team/app:tag", "registry.example.com:5000", "team/app", Some("tag"), None),
            ok("127.0.0.1:5000/foo", "127.0.0.1:5000", "foo", latest, None),
            ok("192.168.0.1:8/debian", "192.168.0.1:8", "debian", latest, None),
            ok("localhost/foo", "localhost", "foo", latest, None),
            ok("localhost/library/debian", "localhost", "library/debian", latest, None),
            ok("localhost:5000/foo/bar:dev", "localhost:5000", "foo/bar", Some("dev"), None),
            ok("myhost:5000/foo", "myhost:5000", "foo", latest, None),
            ok("sub-domain.example-registry.io/x", "sub-domain.example-registry.io", "x", latest, None),
            ok("xn--bcher-kva.example/x", "xn--bcher-kva.example", "x", latest, None),
            // ---- one canonical spelling per registry (a runtime pulls the same image) ----
            // `:443` is HTTPS's default port; Docker Hub's aliases, with or without it, are
            // `docker.io` and get its `library/` rule
            ok("docker.io:443/nginx", hub, "library/nginx", latest, None),
            ok("ghcr.io:443/evil/app:v1", "ghcr.io", "evil/app", Some("v1"), None),
            ok(format!("ghcr.io:443/evil/app@{d256}"), "ghcr.io", "evil/app", None, Some(d256)),
            ok("ghcr.io:0443/evil/app", "ghcr.io", "evil/app", latest, None),
            ok("registry-1.docker.io/library/nginx", hub, "library/nginx", latest, None),
            ok("registry-1.docker.io/nginx:1", hub, "library/nginx", Some("1"), None),
            ok("registry-1.docker.io:443/bitnami/redis", hub, "bitnami/redis", latest, None),
            ok("index.docker.io:443/nginx", hub, "library/nginx", latest, None),
            ok("registry.hub.docker.com/nginx", hub, "library/nginx", latest, None),
            ok("registry.hub.docker.com:443/library/nginx", hub, "library/nginx", latest, None),
            // other ports are other endpoints, :80 included; leading zeros are not part of
            // the number
            ok("ghcr.io:80/evil/app", "ghcr.io:80", "evil/app", latest, None),
            ok("docker.io:80/nginx", "docker.io:80", "nginx", latest, None),
            ok("registry-1.docker.io:5000/nginx", "registry-1.docker.io:5000", "nginx", latest, None),
            ok("localhost:05000/foo", "localhost:5000", "foo", latest, None),
            ok("localhost:0/foo", "localhost:0", "foo", latest, None),
            ok("localhost:000/foo", "localhost:0", "foo", latest, None),
            ok("localhost:443/foo", "localhost", "foo", latest, None),
            // ... unless the host would stop being one: `myhost/foo` is on Docker Hub
            ok("myhost:443/foo", "myhost:443", "foo", latest, None),
            ok("IO:0443/nginx", "io:443", "nginx", latest, None),
            // IPv6
            ok("[::1]/foo", "[::1]", "foo", latest, None),
            ok("[::1]:5000/foo", "[::1]:5000", "foo", latest, None),
            ok("[2001:db8::1]/team/app:1", "[2001:db8::1]", "team/app", Some("1"), None),
            ok("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", latest, None),
            // IPv6 literals in RFC 5952 form: lower-case hex, zeros compressed
            ok("[FC00::1]:5000/foo", "[fc00::1]:5000", "foo", latest, None),
            ok("[fc00:0:0:0:0:0:0:0001]:5000/foo", "[fc00::1]:5000", "foo", latest, None),
            ok("[0:0::1]:443/foo", "[::1]", "foo", latest, None),
            ok("[::FFFF:102:304]/foo", "[::ffff:102:304]", "foo", latest, None),
            // host names are case-insensitive: upper case is allowed and lowered
            ok("Example.COM/foo", "example.com", "foo", latest, None),
            ok("EXAMPLE.com:5000/foo:Tag", "example.com:5000", "foo", Some("Tag"), None),
            ok("GHCR.IO/evil/app:v1", "ghcr.io", "evil/app", Some("v1"), None),
            ok("Ghcr.io/evil/app:v1", "ghcr.io", "evil/app", Some("v1"), None),
            ok(format!("GHCR.IO:443/evil/app:v1@{d256}"), "ghcr.io", "evil/app", Some("v1"), Some(d256)),
            ok("DOCKER.IO/nginx", hub, "library/nginx", latest, None),
            ok("Registry-1.Docker.IO:443/nginx", hub, "library/nginx", latest, None),
            ok("LOCALHOST/foo", "localhost", "foo", latest, None),
            ok("LocalHost:5000/foo", "localhost:5000", "foo", latest, None),
            // ---- deep paths and separators ----
            ok("gcr.io/a/b/c/d/e/f:x", "gcr.io", "a/b/c/d/e/f", Some("x"), None),
            ok("example.com/a.b", "example.com", "a.b", latest, None),
            ok("example.com/a_b", "example.com", "a_b", latest, None),
            ok("example.com/a__b", "example.com", "a__b", latest, None),
            ok("example.com/a-b", "example.com", "a-b", latest, None),
            ok("example.com/a--b", "example.com", "a--b", latest, None),
            ok("example.com/a---b", "example.com", "a---b", latest, None),
            ok("example.com/a.b_c__d-e--f/g0.9", "example.com", "a.b_c__d-e--f/g0.9", latest, None),
            // ---- tags ----
            ok("nginx:_tag", hub, "library/nginx", Some("_tag"), None),
            ok("nginx:Latest_V1.2-rc", hub, "library/nginx", Some("Latest_V1.2-rc"), None),
            ok(format!("nginx:{}", a(128)), hub, "library/nginx", Some(&a(128)), None),
            // ---- length: the repository path (normalised) is limited, not the host ----
            ok(format!("example.com/{}", a(255)), "example.com", a(255), latest, None),
            ok(a(247), hub, format!("library/{}", a(247)), latest, None),
            ok(format!("{}.example.com/{}", "r".repeat(63), a(255)), &format!("{}.example.com", "r".repeat(63)), a(255), latest, None),
            // ================= invalid =================
            err("", "empty reference"),
            err(" ", "invalid character ' '"),
            err("nginx ", "invalid character ' '"),
            err(" nginx", "invalid character ' '"),
            err("foo\tbar", "invalid character '\\t'"),
            err("ngïnx", "invalid character 'ï'"),
            err("/nginx", "empty path component"),
            err("nginx/", "empty path component"),
            err("foo//bar", "empty path component"),
            err("example.com/", "empty path component"),
            err("example.com:5000/", "empty path component"),
            err(":tag", "empty path component"),
            err(format!("@{d256}"), "empty path component"),
            // upper case in the repository (including a would-be upper-case namespace)
            err("Nginx", "repository name must be lowercase"),
            err("docker.io/library/Nginx", "repository name must be lowercase"),
            err("example.com/Foo/bar", "repository name must be lowercase"),
            err("FOO/bar", "repository name must be lowercase"),
            err("foo/-Bar", "repository name must be lowercase"),
            // path component shape
            err("-foo/bar", "must start with a lowercase letter or digit"),
            err("_foo/bar", "must start with a lowercase letter or digit"),
            err("foo-/bar", "must end with a lowercase letter or digit"),
            err("example.com/foo.", "must end with a lowercase letter or digit"),
            err("foo..bar", "invalid separator \"..\""),
            err("foo_.bar", "invalid separator \"_.\""),
            err("foo-.bar", "invalid separator \"-.\""),
            err("foo.-bar", "invalid separator \".-\""),
            err("foo___bar", "invalid separator \"___\""),
            // tags
            err("nginx:", "empty tag"),
            err(format!("nginx:@{d256}"), "empty tag"),
            err("nginx:-tag", "tag \"-tag\" is invalid: must start"),
            err("nginx:.tag", "tag \".tag\" is invalid: must start"),
            err("nginx:ta g", "tag \"ta g\" is invalid: character ' '"),
            err("nginx:tag!", "tag \"tag!\" is invalid: character '!'"),
            err("nginx:a:b", "tag \"a:b\" is invalid: character ':'"),
            err("foo/bar:tag/baz", "tag \"tag/baz\" is invalid: character '/'"),
            err(format!("nginx:{}", a(129)), "is invalid: longer than 128 characters"),
            // digests
            err("nginx@", "empty digest"),
            err("nginx:tag@", "empty digest"),
            err("nginx@sha256:abc", "invalid digest: sha256 digest must have 64 hex characters"),
            err(format!("nginx@md5:{HEX256}"), "invalid digest: unsupported digest algorithm"),
            err(format!("nginx@sha256:{}", HEX256.to_uppercase()), "invalid digest: digest hex must be lowercase"),
            err(format!("nginx@{HEX256}"), "invalid digest: digest has no algorithm prefix"),
            err(format!("nginx@sha512:{HEX256}"), "invalid digest: sha512 digest must have 128"),
            err(format!("nginx@{d256}@{d256}"), "invalid digest"),
            err(HEX256, "64-byte hexadecimal"),
            // registry hosts
            err("example.com:abc/foo", "port \"abc\" must be numeric"),
            err("example.com:50a0/foo", "port \"50a0\" must be numeric"),
            err("foo:bar/baz", "port \"bar\" must be numeric"),
            err("fc00::1:5000/debian", "port \":1:5000\" must be numeric"),
            err("example.com:/foo", "empty port"),
            err("https://github.com/docker/docker", "no URL scheme (drop \"https://\")"),
            err("[::1]:/foo", "empty port"),
            err(":5000/foo", "empty host name"),
            err("[::1/foo", "missing its closing ']'"),
            err("[]:5000/foo", "invalid IPv6 address"),
            err("[fe80::1%eth0]:5000/debian", "invalid IPv6 address"),
            err("[2001:db8::192.0.2.33]/x", "invalid IPv6 address"),
            err("[::1]x/foo", "only ':port' may follow"),
            err("-example.com/foo", "must start and end with a letter or digit"),
            err("example-.com/foo", "must start and end with a letter or digit"),
            err("example..com/foo", "empty domain component"),
            err(".example.com/foo", "empty domain component"),
            err("exa_mple.com/foo", "invalid character '_' in domain component"),
            // length
            err(format!("example.com/{}", a(256)), "repository name longer than 255 characters"),
            err(a(248), "repository name longer than 255 characters"),
            err(format!("example.com/{}/{}", a(200), a(100)), "repository name longer than 255 characters"),
        ]
    }

    #[test]
    fn table() {
        let cases = cases();
        let valid = cases.iter().filter(|c| c.expect.is_ok()).count();
        let invalid = cases.len() - valid;
        assert!(cases.len() >= 80, "only {} cases", cases.len());
        assert!(
            valid >= 40 && invalid >= 40,
            "{valid} valid, {invalid} invalid"
        );

        let mut failures = Vec::new();
        for case in &cases {
            let got = Reference::parse(&case.input);
            match (&case.expect, got) {
                (Ok(want), Ok(r)) => {
                    let have = (
                        r.registry().to_owned(),
                        r.repository().to_owned(),
                        r.tag().map(str::to_owned),
                        r.digest().map(|d| d.as_str().to_owned()),
                    );
                    if &have != want {
                        failures.push(format!("{:?}: want {want:?}, got {have:?}", case.input));
                        continue;
                    }
                    // Display round trip: the canonical form parses back to the same value.
                    let shown = r.to_string();
                    match Reference::parse(&shown) {
                        Ok(again) if again == r => {}
                        other => failures.push(format!(
                            "{:?}: display {shown:?} does not round-trip: {other:?}",
                            case.input
                        )),
                    }
                }
                (Err(want), Err(e)) => {
                    if e.input != case.input || !e.reason.contains(want) {
                        failures.push(format!(
                            "{:?}: want reason containing {want:?}, got {e:?}",
                            case.input
                        ));
                    }
                }
                (want, got) => {
                    failures.push(format!("{:?}: want {want:?}, got {got:?}", case.input))
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    fn parse(s: &str) -> Reference {
        match Reference::parse(s) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn name_and_display() {
        assert_eq!(parse("nginx").name(), "docker.io/library/nginx");
        assert_eq!(parse("localhost:5000/a/b:t").name(), "localhost:5000/a/b");
        assert_eq!(parse("[::1]:5000/x").name(), "[::1]:5000/x");
        assert_eq!(parse("nginx").to_string(), "docker.io/library/nginx:latest");
        let both = parse(&format!("index.docker.io/nginx:1@sha256:{HEX256}"));
        assert_eq!(
            both.to_string(),
            format!("docker.io/library/nginx:1@sha256:{HEX256}")
        );
        assert_eq!(
            format!("{both:?}"),
            format!("Reference(docker.io/library/nginx:1@sha256:{HEX256})")
        );
        assert!(!both.is_digest_only());
        assert!(parse(&format!("nginx@sha256:{HEX256}")).is_digest_only());
    }

    #[test]
    fn pinned() {
        let digest = match Digest::parse(&format!("sha256:{HEX256}")) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            parse("nginx:1.25").pinned(&digest),
            format!("docker.io/library/nginx@sha256:{HEX256}")
        );
        assert_eq!(
            parse("ghcr.io/o/a:v1").pinned(&digest),
            format!("ghcr.io/o/a@sha256:{HEX256}")
        );
        // the pinned form is itself a reference, digest only
        let pinned = parse(&parse("ghcr.io/o/a:v1").pinned(&digest));
        assert_eq!(pinned.tag(), None);
        assert_eq!(pinned.digest(), Some(&digest));
    }

    #[test]
    fn api_host() {
        assert_eq!(parse("nginx").api_host(), DOCKER_HUB_API_HOST);
        assert_eq!(parse("index.docker.io/a/b").api_host(), DOCKER_HUB_API_HOST);
        assert_eq!(parse("docker.io/a/b").registry(), DOCKER_HUB);
        assert_eq!(parse("ghcr.io/a/b").api_host(), "ghcr.io");
        assert_eq!(parse("localhost:5000/a").api_host(), "localhost:5000");
        assert_eq!(parse("[::1]:5000/a").api_host(), "[::1]:5000");
        // every alias is reached on the API host, however it was spelled
        for alias in [
            "registry-1.docker.io/a/b",
            "Registry.Hub.Docker.com:443/a/b",
            "DOCKER.IO:443/a/b",
        ] {
            assert_eq!(parse(alias).api_host(), DOCKER_HUB_API_HOST, "{alias}");
        }
        assert_eq!(parse("GHCR.io:443/a/b").api_host(), "ghcr.io");
    }

    #[test]
    fn canonical_registry_forms() {
        for (written, canonical) in [
            ("ghcr.io", "ghcr.io"),
            ("GHCR.IO", "ghcr.io"),
            ("ghcr.io:443", "ghcr.io"),
            ("Ghcr.Io:0443", "ghcr.io"),
            ("ghcr.io:80", "ghcr.io:80"),
            ("ghcr.io:8443", "ghcr.io:8443"),
            ("ghcr.io:4430", "ghcr.io:4430"),
            ("ghcr.io:00", "ghcr.io:0"),
            ("docker.io", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("registry-1.docker.io:443", "docker.io"),
            ("REGISTRY.HUB.DOCKER.COM", "docker.io"),
            ("docker.io:5000", "docker.io:5000"),
            ("localhost", "localhost"),
            ("LOCALHOST:443", "localhost"),
            ("[::1]", "[::1]"),
            ("[::1]:443", "[::1]"),
            ("[0:0:0:0:0:0:0:1]:5000", "[::1]:5000"),
            ("[FC00::ABCD]", "[fc00::abcd]"),
            ("[::ffff:c000:0201]", "[::ffff:c000:201]"),
            // not validated: an unparsable IPv6 literal is only lowered, and a text with
            // several colons but no brackets has no port to drop
            ("[FC00::1::2]:443", "[fc00::1::2]"),
            // without its port the host would not be one (`myhost/app` is on Docker Hub)
            ("myhost:443", "myhost:443"),
            ("MyHost:0443", "myhost:443"),
            ("fe80::443", "fe80::443"),
            ("", ""),
        ] {
            assert_eq!(canonical_registry(written), canonical, "{written:?}");
            // canonical is a fixed point, and borrowed
            assert!(
                matches!(canonical_registry(canonical), Cow::Borrowed(c) if c == canonical),
                "{canonical:?}"
            );
        }
    }

    #[test]
    fn respelled_registry_names_the_written_host() {
        for (input, written) in [
            ("GHCR.IO:443/org/app:v1", Some("GHCR.IO:443")),
            ("index.docker.io/nginx", Some("index.docker.io")),
            (
                "registry-1.docker.io/library/nginx",
                Some("registry-1.docker.io"),
            ),
            ("[0::1]:5000/a", Some("[0::1]:5000")),
            ("ghcr.io/org/app", None),
            ("docker.io/nginx", None),
            ("nginx", None),
            ("bitnami/redis", None),
        ] {
            assert_eq!(parse(input).respelled_registry(input), written, "{input}");
        }
    }

    #[test]
    fn error_display_and_from_str() {
        let e = match "docker.io/Nginx".parse::<Reference>() {
            Err(e) => e,
            Ok(r) => panic!("parsed {r:?}"),
        };
        assert_eq!(e.input, "docker.io/Nginx");
        assert_eq!(
            e.to_string(),
            "invalid reference \"docker.io/Nginx\": repository name must be lowercase"
        );
        assert_eq!(
            "nginx".parse::<Reference>(),
            Ok(parse("docker.io/library/nginx:latest"))
        );
    }
}
