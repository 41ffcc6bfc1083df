//! `imagecheck policy check`.

use std::path::PathBuf;

use clap::Subcommand;
use imagecheck::Policy;

use crate::exit;

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Validate a policy file and print its rules in the order they are tried. Exit 0 when
    /// valid (warnings go to stderr), 3 when not, with every problem listed.
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
