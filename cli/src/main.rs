//! `imagecheck`: resolve image tags to digests and verify signatures from the command line.
//! The output shape and exit codes are a contract (DESIGN.md, CLI): scripts depend on them.

mod exit;
mod output;
mod policy_cmd;
mod registry_args;
mod resolve_cmd;
mod verify_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  every reference resolved / verified
  1  some reference not verified (no rule matched, or a skip rule)
  2  verification failed, or a deny rule matched
  3  invalid input (reference, policy, engine, usage)
  4  digest unavailable, or another runtime error
With several references the highest code wins.";

#[derive(Debug, Parser)]
#[command(
    name = "imagecheck",
    version,
    about = "Resolve container image tags to digests and verify cosign/sigstore signatures",
    long_about = "Resolve container image tags to content digests (registry, docker, podman) and \
verify cosign/sigstore signatures against machine-wide rules, without shelling out to cosign, \
crane or skopeo.",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Log more (repeat for more detail); logs go to stderr. IMAGECHECK_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Resolve references to content digests, one line per reference in input order.
    #[command(after_help = resolve_cmd::AFTER_HELP)]
    Resolve(resolve_cmd::ResolveArgs),
    /// Verify references against a policy's rules, one line per reference in input order.
    #[command(after_help = verify_cmd::AFTER_HELP)]
    Verify(verify_cmd::VerifyArgs),
    /// Work with policy files.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    // One thread: a CLI run is a few requests, all concurrent on one event loop; worker threads
    // cost more to start and to join at exit (about 3 ms of a 8 ms resolve) than they save.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("imagecheck: cannot start: {e}");
            return ExitCode::from(exit::RUNTIME);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Resolve(args) => resolve_cmd::run(args).await,
            Command::Verify(args) => verify_cmd::run(args).await,
            Command::Policy(command) => policy_cmd::run(command),
        }
    });
    ExitCode::from(code)
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "imagecheck=info",
        2 => "imagecheck=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("IMAGECHECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
