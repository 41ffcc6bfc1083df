//! Why a policy cannot be loaded: every problem found, each naming the rule (index and
//! pattern) and the field, so one run of the loader lists everything to fix.

use std::fmt;

/// Why a policy cannot be loaded: every problem found, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    origin: Option<String>,
    problems: Vec<PolicyProblem>,
}

/// One problem in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    rule: Option<usize>,
    image: Option<String>,
    field: Option<String>,
    message: String,
}

impl PolicyError {
    /// The problems found in a policy from `origin` (a file), or from text.
    pub(super) fn new(origin: Option<String>, problems: Vec<PolicyProblem>) -> Self {
        PolicyError { origin, problems }
    }

    /// The file the policy came from, if it was read from one.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Every problem found (at least one).
    pub fn problems(&self) -> &[PolicyProblem] {
        &self.problems
    }

    /// The rule index of the first problem, if it concerns a rule.
    pub fn rule_index(&self) -> Option<usize> {
        self.problems.first().and_then(|p| p.rule)
    }

    /// The field of the first problem, if it concerns one (`keyless.subjectRegex`).
    pub fn field(&self) -> Option<&str> {
        self.problems.first().and_then(|p| p.field.as_deref())
    }
}

impl fmt::Display for PolicyError {
    /// `FILE: rule 2 (image "ghcr.io/*"): keyless.subjectRegex: invalid regex: …; rule 3 …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.origin {
            write!(f, "{origin}: ")?;
        }
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

impl PolicyProblem {
    /// A problem of the document as a whole, or of one of its top-level fields.
    pub(super) fn document(field: Option<&str>, message: String) -> Self {
        PolicyProblem {
            rule: None,
            image: None,
            field: field.map(str::to_owned),
            message,
        }
    }

    /// A problem of rule `rule` (its image pattern, when it has a usable one), at `field`.
    pub(super) fn rule(
        rule: usize,
        image: Option<String>,
        field: Option<&str>,
        message: String,
    ) -> Self {
        PolicyProblem {
            rule: Some(rule),
            image,
            field: field.map(str::to_owned),
            message,
        }
    }

    /// The rule concerned (0-based), or `None` for a document-level problem.
    pub fn rule_index(&self) -> Option<usize> {
        self.rule
    }

    /// The rule's image pattern, when it has a usable one.
    pub fn image(&self) -> Option<&str> {
        self.image.as_deref()
    }

    /// The field concerned, as spelled in the policy (`image`, `keyless.subjectRegex`,
    /// `publicKey.certificate`, `kind`, …), if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What is wrong and what to do.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.rule, &self.image) {
            (Some(rule), Some(image)) => write!(f, "rule {rule} (image {image:?}): ")?,
            (Some(rule), None) => write!(f, "rule {rule}: ")?,
            (None, _) => {}
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}
