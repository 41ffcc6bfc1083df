//! Image patterns: the `image` field of a rule, matched against a reference's normalised
//! `registry/repository` name.
//!
//! Semantics (DESIGN.md, "Verify"):
//!
//! * A pattern is compared with [`Reference::name`]: the normalised `registry/repository`,
//!   without tag or digest (`nginx:1.27` is `docker.io/library/nginx`).
//! * `*` matches any run of characters, **including `/`**, and may match nothing. `**` is the
//!   same as `*`. No other character is special: `?`, `[`, `]` and `\` are literal (they cannot
//!   appear in a reference, so a pattern containing them never matches; the policy loader warns).
//! * Matching is anchored (the whole name must match) and case-sensitive. A pattern without `*`
//!   is plain equality.
//! * The only rewrite applied to a pattern is the one references get too: a literal
//!   `index.docker.io/` prefix becomes `docker.io/`, so a pattern copied from a tool that spells
//!   Docker Hub that way still matches. Nothing else is rewritten: `nginx` stays `nginx` (and so
//!   matches no normalised name; write `docker.io/library/nginx`), `docker.io/nginx` is not
//!   given a `library/`.
//!
//! The matcher splits the pattern at its stars once, then checks the first piece as a prefix,
//! the last as a suffix, and finds the middle pieces left to right. For star-only globs the
//! leftmost placement of each middle piece is always a valid choice, so there is no
//! backtracking: the cost is linear in the name (times the number of pieces in the worst case
//! of the substring search), never exponential, whatever the pattern (`*a*a*a*…b`).

use std::fmt;

use crate::reference::Reference;

/// The Docker Hub spelling references normalise away from.
const INDEX_DOCKER_IO: &str = "index.docker.io/";
/// ... and the one they normalise to.
const DOCKER_IO: &str = "docker.io/";

/// A compiled image pattern (the `image` field of a rule).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ImagePattern {
    /// As written in the policy.
    original: String,
    /// After the `index.docker.io/` → `docker.io/` rewrite: what is matched.
    normalized: String,
    /// `normalized` split at `*` (consecutive stars give empty pieces, which are harmless).
    /// One piece means no star: equality.
    pieces: Vec<String>,
}

impl ImagePattern {
    /// Compile `pattern`. Every string is a valid pattern; an empty one matches nothing (the
    /// policy loader rejects empty patterns before they get here).
    pub fn new(pattern: &str) -> Self {
        let normalized = match pattern.strip_prefix(INDEX_DOCKER_IO) {
            Some(rest) => format!("{DOCKER_IO}{rest}"),
            None => pattern.to_owned(),
        };
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

    /// The pattern actually matched (after the `index.docker.io/` → `docker.io/` rewrite).
    pub fn normalized(&self) -> &str {
        &self.normalized
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
        // no normalisation of the pattern beyond index.docker.io/
        ("nginx", "docker.io/library/nginx", false),
        ("docker.io/nginx", "docker.io/library/nginx", false),
        ("index.docker.io/library/*", "docker.io/library/nginx", true),
        (
            "index.docker.io/library/nginx",
            "docker.io/library/nginx",
            true,
        ),
        ("index.docker.io/*", "docker.io/org/app", true),
        // other glob characters are literal
        ("docker.io/library/ngin?", "docker.io/library/nginx", false),
        (
            "docker.io/library/[n]ginx",
            "docker.io/library/nginx",
            false,
        ),
        // case-sensitive
        ("GHCR.io/*", "ghcr.io/org/app", false),
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
