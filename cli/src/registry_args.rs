//! Options shared by every command that talks to registries.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use imagecheck::{Credentials, Reference, ResolverOptions};

use crate::exit;

/// Options shared by every command that talks to registries. Debug never shows the password.
#[derive(Args)]
pub(crate) struct RegistryArgs {
    /// Registry username, for the registry named by --registry, or for the one registry the
    /// references name (several: a usage error). References on other registries never get
    /// these credentials. Name --registry whenever the references come from untrusted input.
    #[arg(long, requires = "password_source")]
    username: Option<String>,

    /// The registry (host[:port], as references spell it) that --username and the password
    /// are for. Needed when the references name more than one registry.
    #[arg(long, value_name = "HOST", requires = "username")]
    registry: Option<String>,

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

    /// Limit for each registry request, in seconds [default: 30].
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,

    /// Share tag answers and signature artifacts with other nodes through this Redis or
    /// Valkey: redis://[user@]host[:port][/db], rediss://… (TLS) or unix:///path.sock. Also
    /// read from IMAGECHECK_SHARED_CACHE; its password best from the file
    /// IMAGECHECK_SHARED_CACHE_PASSWORD_FILE names (arguments show in the process list).
    #[arg(long, value_name = "URL")]
    shared_cache: Option<String>,

    #[command(flatten)]
    routing: RoutingArgs,
}

/// How registry requests are routed and paced: mirrors, rate-limit retries, the per-host cap.
/// Shared by the commands that talk to registries and by `imagecheck serve`.
#[derive(Args, Debug, Default)]
pub(crate) struct RoutingArgs {
    /// A containers registries.conf (v2) whose mirrors route registry requests and whose
    /// blocked registries are refused, with the *.conf drop-ins of the registries.conf.d beside
    /// it [default: CONTAINERS_REGISTRIES_CONF, else ~/.config/containers/registries.conf or
    /// /etc/containers/registries.conf when present].
    #[arg(long, value_name = "FILE")]
    registries_conf: Option<PathBuf>,

    /// A containerd config_path directory of <host>/hosts.toml files (mirrors, in order, then
    /// the registry); where it has a file for a registry it decides that registry's route
    /// [default: IMAGECHECK_HOSTS_DIR, else none].
    #[arg(long, value_name = "DIR")]
    hosts_dir: Option<PathBuf>,

    /// Retries of a registry request answered 429 (or 503 with Retry-After), waiting as the
    /// registry asks within the call's deadline; 0 never retries [default: 2].
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,

    /// Requests in flight to one registry host at once (token servers too); more wait their
    /// turn [default: 16].
    #[arg(long, value_name = "N")]
    max_concurrent_requests_per_host: Option<usize>,
}

impl RoutingArgs {
    /// Set what was given on `options`; the rest keeps core's default.
    pub(crate) fn apply(&self, options: &mut ResolverOptions) -> Result<(), u8> {
        if let Some(path) = &self.registries_conf {
            options.registries_conf = Some(path.clone());
        }
        if let Some(dir) = &self.hosts_dir {
            options.hosts_dir = Some(dir.clone());
        }
        if let Some(retries) = self.max_retries {
            options.max_retries = retries;
        }
        if let Some(max) = self.max_concurrent_requests_per_host {
            if max == 0 {
                eprintln!("imagecheck: --max-concurrent-requests-per-host must be at least 1");
                return Err(exit::INVALID_INPUT);
            }
            options.max_concurrent_requests_per_host = max;
        }
        Ok(())
    }

    /// The flags given, for the daemon's warning that its own settings apply.
    fn given(&self) -> Vec<&'static str> {
        [
            (self.registries_conf.is_some(), "--registries-conf"),
            (self.hosts_dir.is_some(), "--hosts-dir"),
            (self.max_retries.is_some(), "--max-retries"),
            (
                self.max_concurrent_requests_per_host.is_some(),
                "--max-concurrent-requests-per-host",
            ),
        ]
        .into_iter()
        .filter_map(|(given, flag)| given.then_some(flag))
        .collect()
    }
}

/// Non-negative seconds; negative means "always fresh" as in every binding.
pub(crate) fn seconds(value: f64) -> Option<Duration> {
    value
        .is_finite()
        .then(|| Duration::from_secs_f64(value.max(0.0)))
}

impl RegistryArgs {
    /// The resolver's options from these arguments (and the environment, which the options
    /// read by default); what was not given keeps core's default.
    pub(crate) fn options(&self) -> Result<ResolverOptions, u8> {
        let mut options = ResolverOptions {
            insecure_registries: self.insecure_registries.clone(),
            ..ResolverOptions::default()
        };
        if let Some(timeout) = self.timeout {
            let Some(timeout) = seconds(timeout).filter(|t| !t.is_zero()) else {
                eprintln!("imagecheck: --timeout must be a positive number of seconds");
                return Err(exit::INVALID_INPUT);
            };
            options.request_timeout = timeout;
        }
        self.routing.apply(&mut options)?;
        options.shared_cache = shared_cache(self.shared_cache.as_deref())?;
        Ok(options)
    }

    /// The password from --password, IMAGECHECK_PASSWORD or stdin.
    fn password(&self) -> Result<String, u8> {
        if self.password_stdin {
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                eprintln!("imagecheck: cannot read the password from stdin: {e}");
                return Err(exit::INVALID_INPUT);
            }
            return Ok(text.trim_end_matches(['\n', '\r']).to_owned());
        }
        Ok(self.password.clone().unwrap_or_default())
    }

    /// The credentials given on the command line, for their one registry: `--registry`, or the
    /// registry every reference names. With several registries among the references and none
    /// named, a usage error: a password must never go to a registry picked by the input.
    /// The password is read (from stdin, perhaps) only once the registry is settled.
    pub(crate) fn credentials(&self, references: &[String]) -> Result<Option<Credentials>, u8> {
        let Some(username) = self.username.as_deref() else {
            return Ok(None);
        };
        let registries: BTreeSet<String> = references
            .iter()
            .filter_map(|r| Reference::parse(r).ok())
            .map(|r| r.registry().to_owned())
            .collect();
        let host = match (&self.registry, registries.len()) {
            (Some(host), _) if host.trim().is_empty() => {
                eprintln!("imagecheck: --registry needs a host, e.g. --registry ghcr.io");
                return Err(exit::INVALID_INPUT);
            }
            (Some(host), _) => host.clone(),
            (None, 0) => return Ok(None),
            (None, 1) => registries.first().cloned().unwrap_or_default(),
            (None, n) => {
                let names: Vec<&str> = registries.iter().map(String::as_str).collect();
                eprintln!(
                    "imagecheck: --username is for one registry, and the references name {n} \
                     ({}): say which with --registry HOST (references on the others are then \
                     resolved without these credentials)",
                    names.join(", ")
                );
                return Err(exit::INVALID_INPUT);
            }
        };
        let credentials = Credentials::new(host, username, self.password()?);
        if !registries.iter().any(|r| credentials.applies_to(r)) {
            eprintln!(
                "imagecheck: warning: no reference is on --registry {}; the credentials are not used",
                credentials.host()
            );
        }
        Ok(Some(credentials))
    }
}

impl fmt::Debug for RegistryArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryArgs")
            .field("username", &self.username)
            .field("registry", &self.registry)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_stdin", &self.password_stdin)
            .field("insecure_registries", &self.insecure_registries)
            .field("timeout", &self.timeout)
            .field("routing", &self.routing)
            .field(
                "shared_cache",
                &self
                    .shared_cache
                    .as_deref()
                    .map(imagecheck::shared_cache::SharedCacheUrl::parse),
            )
            .finish()
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
        if self.timeout.is_some() {
            eprintln!("imagecheck: warning: --timeout is ignored: the daemon's settings apply");
        }
        for flag in self.routing.given() {
            eprintln!("imagecheck: warning: {flag} is ignored: the daemon's settings apply");
        }
        if self.shared_cache.is_some() {
            eprintln!(
                "imagecheck: warning: --shared-cache is ignored: the daemon's settings apply"
            );
        }
    }
}

/// `--shared-cache URL`, checked (a usage error names what is wrong, never the password).
pub(crate) fn shared_cache(
    given: Option<&str>,
) -> Result<Option<imagecheck::shared_cache::SharedCacheUrl>, u8> {
    given
        .map(imagecheck::shared_cache::SharedCacheUrl::parse)
        .transpose()
        .map_err(|e| {
            eprintln!("imagecheck: --shared-cache: {e}");
            exit::INVALID_INPUT
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        registry: RegistryArgs,
    }

    #[test]
    fn debug_hides_the_password() {
        let parsed = Command::try_parse_from([
            "imagecheck",
            "--username",
            "alice",
            "--password",
            "s3cret-pw",
            "--shared-cache",
            "redis://:cache-pw@127.0.0.1:6379",
        ])
        .unwrap();
        let shown = format!("{parsed:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(!shown.contains("cache-pw"), "{shown}");
        assert!(
            shown.contains("alice") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
