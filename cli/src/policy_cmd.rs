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
        /// Policy file: a Talos ImageVerificationConfig document, or the same rules as YAML/JSON.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

pub(crate) fn run(command: PolicyCommand) -> u8 {
    match command {
        PolicyCommand::Check { file } => check(&file),
    }
}

fn check(file: &std::path::Path) -> u8 {
    let policy = match Policy::from_file(file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("imagecheck: {e}");
            return exit::INVALID_INPUT;
        }
    };
    for warning in policy.warnings() {
        eprintln!("imagecheck: warning: {warning}");
    }
    crate::output::line(&format!(
        "{}: {} rule(s), tried top-down",
        file.display(),
        policy.rules().len()
    ));
    for rule in policy.rules() {
        crate::output::line(&format!("  {rule}: {}", rule.describe_method()));
    }
    exit::OK
}
