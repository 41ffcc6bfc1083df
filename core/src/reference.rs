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

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

mod registry_host;

pub(crate) use registry_host::registry_port;
pub use registry_host::{DOCKER_HUB, DOCKER_HUB_API_HOST, canonical_registry, is_host_like};

/// The tag a reference without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";

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
mod tests;
