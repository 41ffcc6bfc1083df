//! `imagecheck policy check`.

use std::path::PathBuf;

use clap::Subcommand;
use imagecheck::Policy;

use crate::exit;

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Validate a policy file and print its rules in the order they are tried, each with what
    /// it requires beyond its method (each signer of `signers` and the threshold, a keyless
    /// identity's `certificateExtensions`, each of `attestations` with its conditions). Exit 0
    /// when valid (warnings go to stderr), 3 when not, with every problem listed.
    Check {
        /// Also list what Talos's own verifier would do differently with the same document
        /// (on stderr, `imagecheck: talos: …`): Docker Hub patterns it never matches, a
        /// CERTIFICATE it refuses, fields it lacks, checks it skips. Still exit 0, so one file
        /// can be linted for both.
        #[arg(long)]
        talos: bool,
        /// Policy file: a Talos ImageVerificationConfig document, or the same rules as YAML/JSON.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

pub(crate) fn run(command: PolicyCommand) -> u8 {
    match command {
        PolicyCommand::Check { talos, file } => check(&file, talos),
    }
}

/// Load a policy file, printing its warnings; an invalid file is reported and gives the exit
/// code for invalid input.
pub(crate) fn load(file: &std::path::Path) -> Result<Policy, u8> {
    let policy = Policy::from_file(file).map_err(|e| {
        eprintln!("imagecheck: {e}");
        exit::INVALID_INPUT
    })?;
    for warning in policy.warnings() {
        eprintln!("imagecheck: warning: {warning}");
    }
    Ok(policy)
}

fn check(file: &std::path::Path, talos: bool) -> u8 {
    let policy = match load(file) {
        Ok(p) => p,
        Err(code) => return code,
    };
    crate::output::line(&format!(
        "{}: {} rule(s), tried top-down",
        file.display(),
        policy.rules().len()
    ));
    for rule in policy.rules() {
        crate::output::line(&format!("  {rule}: {}", rule.describe_method()));
        for detail in rule_details(rule) {
            crate::output::line(&format!("    {detail}"));
        }
    }
    if talos {
        let differences = policy.talos_differences();
        for difference in differences {
            eprintln!("imagecheck: talos: {difference}");
        }
        crate::output::line(&match differences.len() {
            0 => "Talos reads this document the same way".to_owned(),
            n => format!(
                "Talos would read this document differently: {n} difference(s), listed on stderr"
            ),
        });
    }
    exit::OK
}

/// What a rule requires beyond its method, one line each (imagecheck's extensions): each
/// signer of a `signers` list, the certificate extensions of a keyless identity, each
/// attestation with its conditions.
fn rule_details(rule: &imagecheck::verify::Rule) -> Vec<String> {
    use imagecheck::verify::{KeylessIdentity, RuleAction, Signer};
    let extensions = |identity: &KeylessIdentity| -> Option<String> {
        let required: Vec<String> = identity.extensions().iter().map(|e| e.describe()).collect();
        (!required.is_empty()).then(|| format!("certificateExtensions: {}", required.join(", ")))
    };
    let mut lines = Vec::new();
    match rule.action() {
        RuleAction::Keyless(identity) => lines.extend(extensions(identity)),
        RuleAction::Signers(set) => {
            for (i, signer) in set.signers().iter().enumerate() {
                let what = match signer {
                    Signer::Keyless(identity) => format!("keyless ({identity})"),
                    Signer::PublicKey(key) => {
                        format!(
                            "{} sha256:{}",
                            signer.describe(),
                            &key.fingerprint_hex()[..12]
                        )
                    }
                };
                lines.push(format!("signers[{i}]: {what}"));
            }
        }
        _ => {}
    }
    for attestation in rule.attestations() {
        let conditions: Vec<String> = attestation
            .conditions()
            .iter()
            .map(|c| c.describe())
            .collect();
        let mut line = format!("attestation {:?}", attestation.predicate_type());
        if !conditions.is_empty() {
            line.push_str(&format!(" where {}", conditions.join(" and ")));
        }
        lines.push(line);
    }
    lines
}
