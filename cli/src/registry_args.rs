//! Options shared by every command that talks to registries.

use std::time::Duration;

use clap::Args;
use imagecheck::resolve::ResolverBuilder;
use imagecheck::{Credentials, Reference, Resolver};

use crate::exit;

/// Options shared by every command that talks to registries.
#[derive(Debug, Args)]
pub(crate) struct RegistryArgs {
    /// Registry username for the references' registries.
    #[arg(long, requires = "password_source")]
    username: Option<String>,

    /// Registry password (prefer --password-stdin or IMAGECHECK_PASSWORD: arguments are
    /// visible to other users in the process list).
    #[arg(
        long,
        env = "IMAGECHECK_PASSWORD",
        hide_env_values = true,
        group = "password_source"
    )]
    password: Option<String>,

    /// Read the registry password from standard input.
    #[arg(long, group = "password_source")]
    password_stdin: bool,

    /// Reach this registry (host:port) over plain HTTP; repeatable. Also read from
    /// IMAGECHECK_INSECURE_REGISTRIES (comma-separated).
    #[arg(long = "insecure-registry", value_name = "HOST:PORT")]
    insecure_registries: Vec<String>,

    /// Limit for each registry request, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
}

/// Non-negative seconds; negative means "always fresh" as in every binding.
pub(crate) fn seconds(value: f64) -> Option<Duration> {
    value
        .is_finite()
        .then(|| Duration::from_secs_f64(value.max(0.0)))
}

impl RegistryArgs {
    /// The resolver's options from these arguments and the environment.
    pub(crate) fn builder(&self) -> Result<ResolverBuilder, u8> {
        let Some(timeout) = seconds(self.timeout).filter(|t| !t.is_zero()) else {
            eprintln!("imagecheck: --timeout must be a positive number of seconds");
            return Err(exit::INVALID_INPUT);
        };
        Ok(Resolver::builder()
            .from_env()
            .insecure_registries(self.insecure_registries.iter().cloned())
            .request_timeout(timeout))
    }

    /// The password from --password, IMAGECHECK_PASSWORD or stdin.
    pub(crate) fn password(&self) -> Result<Option<String>, u8> {
        if self.password_stdin {
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                eprintln!("imagecheck: cannot read the password from stdin: {e}");
                return Err(exit::INVALID_INPUT);
            }
            return Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned()));
        }
        Ok(self.password.clone())
    }

    /// Credentials for `reference`'s registry when a username was given.
    pub(crate) fn credentials_for(
        &self,
        reference: &str,
        password: Option<&str>,
    ) -> Option<Credentials> {
        let username = self.username.as_deref()?;
        let registry = Reference::parse(reference).ok()?.registry().to_owned();
        Some(Credentials::new(
            registry,
            username,
            password.unwrap_or_default(),
        ))
    }
}

impl RegistryArgs {
    /// Through the daemon, its own registry settings apply: say which options are ignored.
    pub(crate) fn warn_ignored_by_daemon(&self) {
        if !self.insecure_registries.is_empty() {
            eprintln!(
                "imagecheck: warning: --insecure-registry is ignored: the daemon's settings apply"
            );
        }
        if self.timeout != 30.0 {
            eprintln!("imagecheck: warning: --timeout is ignored: the daemon's settings apply");
        }
    }
}
