//! `imagecheck`: resolve image tags to digests and verify signatures from the command line.
//! The output shape and exit codes are a contract (DESIGN.md, CLI): scripts depend on them.

mod containerd_verifier;
mod daemon_client;
mod exit;
mod output;
mod policy_cmd;
mod registry_args;
mod resolve_cmd;
mod serve;
mod trust_args;
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
    /// Serve Talos's ImageService.Verify and imagecheck's resolve/verify over a unix socket:
    /// one warm resolver and verifier per node.
    #[command(after_help = serve::AFTER_HELP)]
    Serve(serve::ServeArgs),
    /// containerd 2.x image verifier (bindir plugin): -name NAME -digest DIGEST; exit 0 allows
    /// the pull. Also runs as `imagecheck-containerd-verifier`. See its --help.
    #[command(disable_help_flag = true)]
    ContainerdVerifier {
        /// containerd's arguments (Go-style single-dash flags).
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
}

/// The program name under which the binary is the containerd verifier (a symlink in bin_dir).
const VERIFIER_NAME: &str = "imagecheck-containerd-verifier";

fn main() -> ExitCode {
    // containerd's Go-style flags (-name, -digest) are not clap's: the verifier parses its own.
    let argv: Vec<String> = std::env::args().collect();
    let invoked_as = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if invoked_as == VERIFIER_NAME {
        init_logging(0, false);
        return ExitCode::from(containerd_verifier::main(&argv[1..]));
    }
    if argv.get(1).map(String::as_str) == Some("containerd-verifier") {
        init_logging(0, false);
        return ExitCode::from(containerd_verifier::main(&argv[2..]));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return argument_error(&error),
    };
    let serving = matches!(cli.command, Command::Serve(_));
    init_logging(cli.verbose, serving);
    if let Command::Serve(args) = cli.command {
        return ExitCode::from(serve_main(args));
    }
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
            Command::Serve(_) | Command::ContainerdVerifier { .. } => exit::INVALID_INPUT,
        }
    });
    ExitCode::from(code)
}

/// clap's own exits: `--help` and `--version` print to stdout and exit 0; a usage error prints
/// to stderr and exits 3 (invalid input), not clap's 2, which here means "verification failed":
/// a CI gate must be able to tell a mistyped command from a refused image.
fn argument_error(error: &clap::Error) -> ExitCode {
    // Nothing better to do if stdout or stderr is closed.
    let _ = error.print();
    ExitCode::from(if error.use_stderr() {
        exit::INVALID_INPUT
    } else {
        exit::OK
    })
}

/// The daemon runs on a runtime with worker threads: calls from many clients at once.
fn serve_main(args: serve::ServeArgs) -> u8 {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve::run(args)),
        Err(e) => {
            eprintln!("imagecheck: cannot start: {e}");
            exit::RUNTIME
        }
    }
}

/// Logs go to stderr; the daemon logs one line per call at info by default, other commands
/// only errors. Stdout stays for results (the containerd verifier's reason in particular).
fn init_logging(verbose: u8, serving: bool) {
    let default = match (verbose, serving) {
        (0, false) => "error",
        (0, true) | (1, _) => "imagecheck=info",
        (2, _) => "imagecheck=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("IMAGECHECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
