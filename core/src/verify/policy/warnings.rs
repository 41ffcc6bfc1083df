//! Legal but probably unintended rules: what they are ([`WarningKind`]), how they are said
//! ([`PolicyWarning`]), and how a loaded rule list is searched for them.

use std::fmt;

use regex::Regex;

use super::rule::{Rule, RuleAction, StringMatch};

/// A legal but probably unintended rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWarning {
    rule_index: usize,
    pattern: String,
    /// The pattern as matched (host part in canonical form), for suggestions.
    matched: String,
    kind: WarningKind,
}

/// The kinds of [`PolicyWarning`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// The pattern's registry host is not written in canonical form (`GHCR.io:443/*`,
    /// `registry-1.docker.io/library/*`): it is matched as `matched`, which covers every
    /// spelling of that registry. Not a mistake, but what is matched is not what is written.
    HostRespelled {
        /// The pattern as matched.
        matched: String,
    },
    /// The pattern contains `@`: patterns never see digests.
    PatternHasDigest,
    /// The pattern has a `:` after its last `/`: patterns never see tags.
    PatternHasTag,
    /// The pattern has no `/` and no `*`, so it cannot match a normalised
    /// `registry/repository` name (`nginx` is `docker.io/library/nginx`).
    PatternHasNoSlash,
    /// `docker.io/NAME` without `library/`: Docker Hub official images normalise to
    /// `docker.io/library/NAME`, so this never matches.
    DockerHubWithoutLibrary,
    /// The pattern contains a character that other glob dialects treat specially but that is
    /// literal here and cannot occur in a reference (`?`, `[`, `]`, `{`, `}`).
    LiteralGlobCharacter(char),
    /// An earlier rule matches every image this rule matches, so this rule is never used.
    Unreachable {
        /// The index of the earlier rule.
        shadowed_by: usize,
    },
    /// A regular expression that matches any value (`.*`, `.+`, …): the field constrains
    /// nothing.
    RegexMatchesAnything {
        /// `keyless.issuerRegex` or `keyless.subjectRegex`.
        field: &'static str,
    },
    /// `subject` and `subjectRegex` are both set, and the regex does not match the subject:
    /// both must match one name, so no certificate satisfies the rule.
    SubjectFailsSubjectRegex,
}

impl PolicyWarning {
    /// The index of the rule concerned.
    pub fn rule_index(&self) -> usize {
        self.rule_index
    }

    /// The rule's pattern, as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// What is suspicious.
    pub fn kind(&self) -> &WarningKind {
        &self.kind
    }

    /// The explanation, without the rule prefix.
    pub fn message(&self) -> String {
        match &self.kind {
            WarningKind::HostRespelled { matched } => format!(
                "the registry host is compared in canonical form (lower case, no ':443', \
                 docker.io for every Docker Hub alias), so this pattern is matched as {matched:?}, \
                 for every spelling of that registry; write it so to silence this warning"
            ),
            WarningKind::PatternHasDigest => {
                "the pattern contains '@', but patterns match only registry/repository, never a digest: it matches nothing".into()
            }
            WarningKind::PatternHasTag => {
                "the pattern contains ':' after its last '/', but patterns match only registry/repository, never a tag".into()
            }
            WarningKind::PatternHasNoSlash => format!(
                "the pattern has no '/' and no '*', so it matches no normalised registry/repository name (for example `nginx` is matched as `docker.io/library/nginx`); did you mean \"docker.io/library/{}\"?",
                self.pattern
            ),
            WarningKind::DockerHubWithoutLibrary => format!(
                "Docker Hub official images normalise to docker.io/library/NAME, so this pattern matches nothing; did you mean {:?}?",
                self.matched.replacen("docker.io/", "docker.io/library/", 1)
            ),
            WarningKind::LiteralGlobCharacter(c) => format!(
                "'{c}' is not special in patterns (only '*' is) and cannot occur in a reference, so this pattern matches nothing"
            ),
            WarningKind::Unreachable { shadowed_by } => format!(
                "rule {shadowed_by} comes first and matches every image this rule matches, so this rule is never used"
            ),
            WarningKind::RegexMatchesAnything { field } => format!(
                "{field} matches any value, so it constrains nothing (regexes are unanchored, as in cosign)"
            ),
            WarningKind::SubjectFailsSubjectRegex => {
                "keyless.subjectRegex does not match keyless.subject, and a certificate name must match both, so no signature satisfies this rule".into()
            }
        }
    }
}

impl fmt::Display for PolicyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {} (image {:?}): {}",
            self.rule_index,
            self.pattern,
            self.message()
        )
    }
}

/// Every warning for `rules`, rule by rule, in the order of the checks below.
pub(super) fn collect(rules: &[Rule]) -> Vec<PolicyWarning> {
    let mut warnings = Vec::new();
    for (position, rule) in rules.iter().enumerate() {
        let pattern = rule.pattern().normalized();
        let mut warn = |kind: WarningKind| {
            warnings.push(PolicyWarning {
                rule_index: rule.index(),
                pattern: rule.pattern().as_str().to_owned(),
                matched: pattern.to_owned(),
                kind,
            })
        };
        if rule.pattern().is_respelled() {
            warn(WarningKind::HostRespelled {
                matched: pattern.to_owned(),
            });
        }
        if pattern.contains('@') {
            warn(WarningKind::PatternHasDigest);
        }
        // The part before any '@': a digest's own ':' is not a tag.
        let name = pattern.split('@').next().unwrap_or(pattern);
        match name.rfind('/') {
            Some(slash) if name[slash..].contains(':') => warn(WarningKind::PatternHasTag),
            Some(_) => {}
            None if !rule.pattern().has_wildcard() => warn(WarningKind::PatternHasNoSlash),
            None => {}
        }
        if let Some(name) = pattern.strip_prefix("docker.io/")
            && !name.is_empty()
            && !name.contains('/')
            && !name.contains('*')
        {
            warn(WarningKind::DockerHubWithoutLibrary);
        }
        if let Some(c) = pattern.chars().find(|c| "?[]{}".contains(*c)) {
            warn(WarningKind::LiteralGlobCharacter(c));
        }
        // An earlier star-glob that matches this pattern's text (its stars read as literal
        // characters) matches every name this pattern matches: each of its literal pieces
        // lies inside one of this pattern's literal pieces, so this pattern's stars fall
        // inside its stars.
        if let Some(earlier) = rules[..position]
            .iter()
            .find(|earlier| earlier.pattern().matches(pattern))
        {
            warn(WarningKind::Unreachable {
                shadowed_by: earlier.index(),
            });
        }
        if let RuleAction::Keyless(identity) = rule.action() {
            for (field, matcher) in [
                ("keyless.issuerRegex", identity.issuer()),
                ("keyless.subjectRegex", identity.subject()),
            ] {
                if let StringMatch::Regex(regex) = matcher
                    && regex_matches_anything(regex)
                {
                    warn(WarningKind::RegexMatchesAnything { field });
                }
            }
            if let StringMatch::ExactAndRegex { exact, regex } = identity.subject()
                && !regex.is_match(exact)
            {
                warn(WarningKind::SubjectFailsSubjectRegex);
            }
        }
    }
    warnings
}

/// Heuristic: a regex that matches the empty string or an improbable value matches anything
/// in practice (`.*`, `.+`, `^.*$`, `x?`).
fn regex_matches_anything(regex: &Regex) -> bool {
    regex.is_match("") || regex.is_match("\u{1}imagecheck-improbable-value\u{1}")
}
