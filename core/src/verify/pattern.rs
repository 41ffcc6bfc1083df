//! Image patterns: the `image` field of a rule, matched against a reference's normalised
//! `registry/repository` name.
//!
//! Semantics (DESIGN.md, "Verify"):
//!
//! * A pattern is compared with [`Reference::name`]: the normalised `registry/repository`,
//!   without tag or digest (`nginx:1.27` is `docker.io/library/nginx`), whose registry is in
//!   canonical form ([`canonical_registry`]: lower case, no `:443`, `docker.io` for every
//!   Docker Hub alias).
//! * `*` matches any run of characters, **including `/`**, and may match nothing. `**` is the
//!   same as `*`. No other character is special: `?`, `[`, `]` and `\` are literal (they cannot
//!   appear in a reference, so a pattern containing them never matches; the policy loader warns).
//! * Matching is anchored (the whole name must match) and case-sensitive. A pattern without `*`
//!   is plain equality.
//! * The pattern's host part is rewritten the way a reference's registry is, so that a rule
//!   covers every spelling of its registry that a runtime pulls from (`GHCR.io/*`,
//!   `ghcr.io:443/*` and `ghcr.io/*` are one rule; `registry-1.docker.io/library/*`, as a
//!   Talos policy may write it, matches `nginx`). The host part is the text before the first
//!   `/` when it is host-like by the rule references use ([`is_host_like`]: it contains `.`
//!   or `:` or is `localhost`); it is replaced by its [`canonical_registry`]. A host part
//!   containing `*` is only lower-cased: a star may stand for part of a name, a port or more,
//!   so neither an alias nor a port can be recognised in it (`*.GCR.io/*` becomes
//!   `*.gcr.io/*`; `*:443/*` stays, it is not "every registry"). The policy loader warns when
//!   a pattern was rewritten, naming both forms.
//! * Nothing else is rewritten: `nginx` stays `nginx` (and so matches no normalised name;
//!   write `docker.io/library/nginx`), `docker.io/nginx` is not given a `library/`, and the
//!   repository part keeps its case (a reference's repository is always lower case).
//!
//! The matcher splits the pattern at its stars once, then checks the first piece as a prefix,
//! the last as a suffix, and finds the middle pieces left to right. For star-only globs the
//! leftmost placement of each middle piece is always a valid choice, so there is no
//! backtracking: the cost is linear in the name (times the number of pieces in the worst case
//! of the substring search), never exponential, whatever the pattern (`*a*a*a*…b`).

use std::borrow::Cow;
use std::fmt;

use crate::reference::{Reference, canonical_registry, is_host_like};

/// A compiled image pattern (the `image` field of a rule).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ImagePattern {
    /// As written in the policy.
    original: String,
    /// With the host part in canonical form: what is matched.
    normalized: String,
    /// `normalized` split at `*` (consecutive stars give empty pieces, which are harmless).
    /// One piece means no star: equality.
    pieces: Vec<String>,
}

impl ImagePattern {
    /// Compile `pattern`. Every string is a valid pattern; an empty one matches nothing (the
    /// policy loader rejects empty patterns before they get here).
    pub fn new(pattern: &str) -> Self {
        let normalized = canonical_host_part(pattern).into_owned();
        let pieces = normalized.split('*').map(str::to_owned).collect();
        ImagePattern {
            original: pattern.to_owned(),
            normalized,
            pieces,
        }
    }

    /// The pattern as written in the policy.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The pattern actually matched: its host part in canonical form.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// Whether the host part was rewritten (the pattern as written is not what is matched).
    pub fn is_respelled(&self) -> bool {
        self.normalized != self.original
    }

    /// Whether the pattern contains a `*`.
    pub fn has_wildcard(&self) -> bool {
        self.pieces.len() > 1
    }

    /// Whether the pattern consists only of stars: it matches every reference.
    pub fn matches_everything(&self) -> bool {
        self.has_wildcard() && self.pieces.iter().all(String::is_empty)
    }

    /// Whether the pattern matches `reference`'s normalised `registry/repository`.
    pub fn matches_reference(&self, reference: &Reference) -> bool {
        self.matches(&reference.name())
    }

    /// Whether the pattern matches `name`, a normalised `registry/repository` (as
    /// [`Reference::name`] gives it). No normalisation is applied to `name`.
    pub fn matches(&self, name: &str) -> bool {
        if self.normalized.is_empty() {
            return false;
        }
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return false,
        };
        let Some((last, middle)) = rest.split_last() else {
            // No star: equality.
            return name == first;
        };
        if name.len() < first.len() + last.len()
            || !name.starts_with(first.as_str())
            || !name.ends_with(last.as_str())
        {
            return false;
        }
        // The part between the fixed prefix and suffix; the middle pieces must appear in it in
        // order, without overlapping. Leftmost placement is optimal for `*`-only globs.
        let mut window = &name[first.len()..name.len() - last.len()];
        for piece in middle {
            if piece.is_empty() {
                continue;
            }
            match window.find(piece.as_str()) {
                Some(at) => window = &window[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

/// `pattern` with its host part in the form references give their registry (see the module
/// documentation); borrowed when nothing changes.
fn canonical_host_part(pattern: &str) -> Cow<'_, str> {
    let Some((host, rest)) = pattern.split_once('/') else {
        return Cow::Borrowed(pattern);
    };
    let canonical = if host.contains('*') {
        if !host.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Borrowed(pattern);
        }
        Cow::Owned(host.to_ascii_lowercase())
    } else if is_host_like(host) {
        canonical_registry(host)
    } else {
        return Cow::Borrowed(pattern);
    };
    if canonical == host {
        Cow::Borrowed(pattern)
    } else {
        Cow::Owned(format!("{canonical}/{rest}"))
    }
}

impl fmt::Display for ImagePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl fmt::Debug for ImagePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImagePattern({:?})", self.original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (pattern, normalised name, expected)
    const NAME_CASES: &[(&str, &str, bool)] = &[
        // equality
        ("docker.io/library/nginx", "docker.io/library/nginx", true),
        ("docker.io/library/nginx", "docker.io/library/nginx2", false),
        ("docker.io/library/nginx", "docker.io/library/ngin", false),
        ("ghcr.io/org/app", "ghcr.io/org/app", true),
        ("ghcr.io/org/app", "ghcr.io/org/app/sub", false),
        // a single star: any run, including '/', including nothing
        ("*", "docker.io/library/nginx", true),
        ("*", "localhost:5000/a/b/c", true),
        ("**", "ghcr.io/x", true),
        ("docker.io/library/*", "docker.io/library/nginx", true),
        ("docker.io/library/*", "docker.io/library/a/b/c", true),
        ("docker.io/library/*", "docker.io/library/", true),
        ("docker.io/library/*", "docker.io/libraryx/nginx", false),
        ("docker.io/library/*", "docker.io/other/nginx", false),
        ("ghcr.io/*", "ghcr.io/org/app", true),
        ("ghcr.io/*", "ghcr.iox/org/app", false),
        ("ghcr.io/*", "evil.com/ghcr.io/org/app", false),
        ("*/library/nginx", "docker.io/library/nginx", true),
        ("*/library/nginx", "mirror.local:5000/library/nginx", true),
        ("*/library/nginx", "docker.io/library/nginx/extra", false),
        // several stars
        ("ghcr.io/*/app", "ghcr.io/org/app", true),
        ("ghcr.io/*/app", "ghcr.io/a/b/c/app", true),
        ("ghcr.io/*/app", "ghcr.io/org/application", false),
        ("ghcr.io/*/app-*", "ghcr.io/org/app-web", true),
        ("ghcr.io/*/app-*", "ghcr.io/org/app", false),
        ("*nginx*", "docker.io/library/nginx", true),
        ("*nginx*", "docker.io/library/apache", false),
        ("*a*b*c*", "xaxbxcx", true),
        ("*a*b*c*", "xcxbxax", false),
        ("a*a", "a", false),
        ("a*a", "aa", true),
        ("a*a*a", "aaa", true),
        ("a*a*a", "aaaa", true),
        ("a*a*a", "aa", false),
        ("*ab*ab", "abab", true),
        ("*ab*ab", "aab", false),
        // anchoring: a pattern without stars never matches a prefix or suffix
        ("docker.io/library", "docker.io/library/nginx", false),
        ("library/nginx", "docker.io/library/nginx", false),
        // no normalisation of the pattern beyond its host part
        ("nginx", "docker.io/library/nginx", false),
        ("docker.io/nginx", "docker.io/library/nginx", false),
        ("ghcr.io/Org/*", "ghcr.io/org/app", false),
        ("index.docker.io/library/*", "docker.io/library/nginx", true),
        (
            "index.docker.io/library/nginx",
            "docker.io/library/nginx",
            true,
        ),
        ("index.docker.io/*", "docker.io/org/app", true),
        // the host part in canonical form, as references have it
        (
            "registry-1.docker.io/library/*",
            "docker.io/library/nginx",
            true,
        ),
        (
            "registry.hub.docker.com/library/*",
            "docker.io/library/nginx",
            true,
        ),
        ("Docker.IO:443/library/*", "docker.io/library/nginx", true),
        ("docker.io:443/*", "docker.io/org/app", true),
        ("GHCR.IO/evil/*", "ghcr.io/evil/app", true),
        ("ghcr.io:443/evil/*", "ghcr.io/evil/app", true),
        ("ghcr.io:0443/evil/app", "ghcr.io/evil/app", true),
        ("ghcr.io:80/evil/*", "ghcr.io/evil/app", false),
        ("ghcr.io:80/evil/*", "ghcr.io:80/evil/app", true),
        ("LOCALHOST:5000/*", "localhost:5000/app", true),
        ("[FC00:0::1]:5000/*", "[fc00::1]:5000/app", true),
        // a host part with a star is only lower-cased
        ("*.GCR.io/*", "eu.gcr.io/org/app", true),
        ("*.docker.io/*", "docker.io/library/nginx", false),
        ("*:443/*", "ghcr.io/org/app", false),
        // without a host part nothing is rewritten
        ("GHCR.io*", "ghcr.io/org/app", false),
        // other glob characters are literal
        ("docker.io/library/ngin?", "docker.io/library/nginx", false),
        (
            "docker.io/library/[n]ginx",
            "docker.io/library/nginx",
            false,
        ),
        // host names are case-insensitive (the pattern's host is lowered), the rest is not
        ("GHCR.io/*", "ghcr.io/org/app", true),
        ("ghcr.io/ORG/*", "ghcr.io/org/app", false),
        // registries with ports and IPv6 literals
        ("localhost:5000/*", "localhost:5000/app", true),
        ("localhost:5000/*", "localhost:5001/app", false),
        ("[::1]:5000/*", "[::1]:5000/app", true),
        // empty pattern matches nothing
        ("", "", false),
        ("", "docker.io/library/nginx", false),
    ];

    #[test]
    fn table_on_names() {
        assert!(NAME_CASES.len() >= 30);
        for &(pattern, name, expected) in NAME_CASES {
            assert_eq!(
                ImagePattern::new(pattern).matches(name),
                expected,
                "pattern {pattern:?} against {name:?}"
            );
        }
    }

    /// (pattern, reference as a user writes it, expected): references go through
    /// `Reference::parse` and are matched by their normalised name, ignoring tag and digest.
    const REFERENCE_CASES: &[(&str, &str, bool)] = &[
        ("docker.io/library/*", "nginx", true),
        ("docker.io/library/*", "nginx:1.27", true),
        ("docker.io/library/*", "docker.io/library/nginx:1.27", true),
        ("docker.io/library/nginx", "nginx:latest", true),
        ("index.docker.io/library/*", "nginx", true),
        ("registry-1.docker.io/library/*", "nginx", true),
        (
            "docker.io/library/*",
            "registry-1.docker.io/library/nginx",
            true,
        ),
        ("docker.io/library/*", "Index.Docker.IO:443/nginx:1", true),
        ("ghcr.io/evil/*", "GHCR.IO/evil/app:v1", true),
        ("ghcr.io/evil/*", "Ghcr.io/evil/app:v1", true),
        ("ghcr.io/evil/*", "ghcr.io:443/evil/app:v1", true),
        (
            "ghcr.io/evil/*",
            "GHCR.IO:443/evil/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            true,
        ),
        ("GHCR.IO:443/evil/*", "ghcr.io/evil/app", true),
        ("ghcr.io/evil/*", "ghcr.io:8443/evil/app", false),
        ("docker.io/library/*", "ghcr.io/library/nginx", false),
        ("docker.io/*", "bitnami/redis:7", true),
        ("docker.io/bitnami/*", "bitnami/redis:7", true),
        (
            "ghcr.io/org/*",
            "ghcr.io/org/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            true,
        ),
        ("ghcr.io/org/app", "ghcr.io/org/app:v1", true),
        ("ghcr.io/org/app:v1", "ghcr.io/org/app:v1", false),
        ("localhost:5000/*", "localhost:5000/team/app:dev", true),
        ("*", "registry.example.com/x/y/z:1", true),
    ];

    #[test]
    fn table_on_references() {
        for &(pattern, reference, expected) in REFERENCE_CASES {
            let parsed = Reference::parse(reference).expect("test reference parses");
            assert_eq!(
                ImagePattern::new(pattern).matches_reference(&parsed),
                expected,
                "pattern {pattern:?} against reference {reference:?} (name {})",
                parsed.name()
            );
        }
    }

    #[test]
    fn accessors() {
        let p = ImagePattern::new("index.docker.io/library/*");
        assert_eq!(p.as_str(), "index.docker.io/library/*");
        assert_eq!(p.normalized(), "docker.io/library/*");
        assert_eq!(p.to_string(), "index.docker.io/library/*");
        assert!(p.has_wildcard());
        assert!(!p.matches_everything());
        assert!(ImagePattern::new("**").matches_everything());
        assert!(!ImagePattern::new("ghcr.io/a").has_wildcard());
        assert!(p.is_respelled());
        assert!(!ImagePattern::new("docker.io/library/*").is_respelled());
        let p = ImagePattern::new("GHCR.io:443/evil/*");
        assert_eq!(
            (p.as_str(), p.normalized(), p.to_string().as_str()),
            ("GHCR.io:443/evil/*", "ghcr.io/evil/*", "GHCR.io:443/evil/*")
        );
        assert!(p.is_respelled());
    }

    #[test]
    fn no_exponential_backtracking() {
        // `*a*a*a…*b` against `aaaa…`: a backtracking matcher takes exponential time here.
        let pattern = format!("{}b", "*a".repeat(40));
        let name = "a".repeat(10_000);
        let p = ImagePattern::new(&pattern);
        let started = std::time::Instant::now();
        assert!(!p.matches(&name));
        assert!(p.matches(&format!("{name}b")));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
