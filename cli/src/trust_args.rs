//! Options shared by `verify` and `serve` for the trusted roots beyond `--trusted-root`: named
//! roots for keyless rules that name one, and a TUF repository keeping the default root
//! current.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use imagecheck::VerifierOptions;

use crate::exit;
use crate::registry_args::seconds;

#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// A Sigstore trusted_root.json under a name, for keyless rules that name it
    /// (`keyless.trustedRoot: NAME`); repeatable. Rules naming none use the default root.
    #[arg(long = "named-trusted-root", value_name = "NAME=FILE", value_parser = named_root)]
    named_trusted_roots: Vec<(String, PathBuf)>,

    /// Keep the default trusted root current from this TUF repository (Sigstore's public-good
    /// one is https://tuf-repo-cdn.sigstore.dev), refreshed in the background and cached on
    /// disk; verifying never waits for it while the cached copy is valid. Not with
    /// --trusted-root.
    #[arg(long, value_name = "URL")]
    tuf_url: Option<String>,

    /// The TUF root.json the repository's chain of trust starts from [default: the embedded
    /// one of Sigstore's public-good repository; required for any other].
    #[arg(long, value_name = "FILE", requires = "tuf_url")]
    tuf_root: Option<PathBuf>,

    /// Where the verified TUF copy is kept [default: $XDG_CACHE_HOME/imagecheck/tuf, else
    /// ~/.cache/imagecheck/tuf].
    #[arg(long, value_name = "DIR", requires = "tuf_url")]
    tuf_cache_dir: Option<PathBuf>,

    /// Ask the TUF repository again at most this often, in seconds [default: 86400].
    #[arg(long, value_name = "SECS", requires = "tuf_url")]
    tuf_refresh_interval: Option<f64>,
}

fn named_root(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_owned(), PathBuf::from(path)))
        }
        _ => Err(format!("{text:?}: expected NAME=FILE")),
    }
}

impl TrustArgs {
    /// Set these options on `options`; a usage error (printed) for a bad interval or a name
    /// given twice.
    pub(crate) fn apply(&self, options: &mut VerifierOptions) -> Result<(), u8> {
        let mut named = BTreeMap::new();
        for (name, path) in &self.named_trusted_roots {
            if named.insert(name.clone(), path.clone()).is_some() {
                eprintln!("imagecheck: --named-trusted-root {name}=… is given twice");
                return Err(exit::INVALID_INPUT);
            }
        }
        options.trusted_roots = named;
        options.tuf_url = self.tuf_url.clone();
        options.tuf_root = self.tuf_root.clone();
        options.tuf_cache_dir = self.tuf_cache_dir.clone();
        if let Some(interval) = self.tuf_refresh_interval {
            options.tuf_refresh_interval = seconds(interval).ok_or_else(|| {
                eprintln!("imagecheck: --tuf-refresh-interval must be a finite number of seconds");
                exit::INVALID_INPUT
            })?;
        }
        Ok(())
    }

    /// The flags given, by name: a daemon decides with its own roots, so `verify` through it
    /// refuses them.
    pub(crate) fn given(&self) -> Vec<&'static str> {
        [
            ("--named-trusted-root", !self.named_trusted_roots.is_empty()),
            ("--tuf-url", self.tuf_url.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// The named roots' files, for the daemon's reloads.
    pub(crate) fn named_root_files(&self) -> BTreeMap<String, PathBuf> {
        self.named_trusted_roots.iter().cloned().collect()
    }
}
