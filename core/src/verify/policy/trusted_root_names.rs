//! Keyless rules that name a trusted root (`keyless.trustedRoot`) against the names a verifier
//! holds: a policy is loaded without knowing the verifier, so this check is the verifier's,
//! made when rules and roots meet (building, loading, verifying).

use super::problem::{PolicyError, PolicyProblem};
use super::rule::{Rule, RuleAction};

/// Every keyless rule of `rules` whose `trustedRoot` is not one of `known` (the verifier's
/// named trusted roots), as one error naming the known ones.
pub(super) fn check(rules: &[Rule], known: &[&str]) -> Result<(), PolicyError> {
    let problems: Vec<PolicyProblem> = rules
        .iter()
        .filter_map(|rule| problem(rule, known))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PolicyError::new(None, problems))
    }
}

/// The error of `rule` naming a trusted root that is not in `known`, if it does (checked again
/// at verify time, for rules swapped in without [`check`]).
pub(crate) fn unknown_trusted_root(rule: &Rule, known: &[&str]) -> Option<PolicyError> {
    problem(rule, known).map(|p| PolicyError::new(None, vec![p]))
}

fn problem(rule: &Rule, known: &[&str]) -> Option<PolicyProblem> {
    let RuleAction::Keyless(identity) = rule.action() else {
        return None;
    };
    let name = identity.trusted_root()?;
    if known.contains(&name) {
        return None;
    }
    let message = if known.is_empty() {
        format!(
            "unknown trusted root {name:?}: the verifier has no named trusted roots (give it \
             some: the trusted_roots option, --named-trusted-root NAME=FILE)"
        )
    } else {
        let names: Vec<String> = known.iter().map(|n| format!("{n:?}")).collect();
        format!(
            "unknown trusted root {name:?}; the verifier's named trusted roots are {}",
            names.join(", ")
        )
    };
    Some(PolicyProblem::rule(
        rule.index(),
        Some(rule.pattern().as_str().to_owned()),
        Some("keyless.trustedRoot"),
        message,
    ))
}

#[cfg(test)]
mod tests {
    use crate::verify::policy::{Policy, RuleAction};

    const TWO_ROOTS: &str = r#"
rules:
  - image: "ghcr.io/private/*"
    keyless: {issuer: "https://issuer.example", subject: "ci@example.com", trustedRoot: private}
  - image: "ghcr.io/*"
    keyless: {issuer: "https://issuer.example", subject: "ci@example.com"}
"#;

    #[test]
    fn a_keyless_rule_may_name_a_trusted_root() {
        let policy = Policy::parse(TWO_ROOTS).unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<Option<&str>> = policy
            .rules()
            .iter()
            .map(|rule| match rule.action() {
                RuleAction::Keyless(identity) => identity.trusted_root(),
                _ => Some("not keyless"),
            })
            .collect();
        assert_eq!(names, [Some("private"), None]);
        assert_ne!(
            policy.rules()[0].fingerprint(),
            Policy::parse(&TWO_ROOTS.replacen(", trustedRoot: private", "", 1))
                .unwrap_or_else(|e| panic!("{e}"))
                .rules()[0]
                .fingerprint(),
            "the root a rule names is part of what the rule is"
        );
        assert!(policy.check_trusted_root_names(&["private"]).is_ok());
    }

    #[test]
    fn an_unknown_name_is_an_error_naming_the_known_ones() {
        let policy = Policy::parse(TWO_ROOTS).unwrap_or_else(|e| panic!("{e}"));
        let error = policy
            .check_trusted_root_names(&["public-good", "staging"])
            .unwrap_err();
        assert_eq!(error.rule_index(), Some(0));
        assert_eq!(error.field(), Some("keyless.trustedRoot"));
        assert_eq!(
            error.to_string(),
            "rule 0 (image \"ghcr.io/private/*\"): keyless.trustedRoot: unknown trusted root \
             \"private\"; the verifier's named trusted roots are \"public-good\", \"staging\""
        );
        let error = policy.check_trusted_root_names(&[]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("the verifier has no named trusted roots"),
            "{error}"
        );
    }

    #[test]
    fn the_design_drafts_spelling_is_refused_with_the_right_one() {
        let error = Policy::parse(&TWO_ROOTS.replacen("trustedRoot", "trustRoot", 1)).unwrap_err();
        assert_eq!(error.field(), Some("keyless.trustRoot"));
        assert!(error.to_string().contains("use `trustedRoot`"), "{error}");
    }
}
