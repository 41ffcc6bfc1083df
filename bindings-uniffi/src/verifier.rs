//! `Verifier`: signature checks against an ordered rule list.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use imagecheck::Policy;

use crate::error::ImageCheckError;
use crate::resolver::{Credentials, Resolver};

/// The answer to a verify call that did not fail.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Verification {
    /// True only when a rule's signature check passed.
    pub verified: bool,
    /// What happened, for people: the rule and how it was verified (or why not).
    pub message: String,
    /// `registry/repository@sha256:…` when the digest is known (always, when verified).
    pub digested_ref: Option<String>,
}

impl From<imagecheck::Verification> for Verification {
    fn from(v: imagecheck::Verification) -> Self {
        Verification {
            verified: v.verified,
            message: v.message,
            digested_ref: v.digested_ref,
        }
    }
}

/// Options for [`Verifier::new`].
#[derive(Debug, Clone, uniffi::Record)]
pub struct VerifierOptions {
    /// Resolve tags through this resolver (`None`: the default resolver, sharing its cache).
    #[uniffi(default)]
    pub resolver: Option<Arc<Resolver>>,
    /// Accept a cached tag digest this old (`None`: zero, so a moved tag is seen at once).
    #[uniffi(default)]
    pub resolve_ttl: Option<Duration>,
    /// How long a successful verification is reused (`None`: the core's default, 5 minutes).
    #[uniffi(default)]
    pub result_ttl: Option<Duration>,
    /// Bound on one verify, signature discovery included (`None`: the core's default, 60 s).
    #[uniffi(default)]
    pub deadline: Option<Duration>,
    /// Path of a Sigstore `trusted_root.json` for keyless rules of a private deployment
    /// (`None`: the embedded public-good root). An unloadable file is `InvalidPolicy`.
    #[uniffi(default)]
    pub trusted_root: Option<String>,
    /// Named Sigstore trusted roots, name → `trusted_root.json` path, for keyless rules that
    /// name one (`trustedRoot: NAME`). An unloadable file, or a rule naming a root not given,
    /// is `InvalidPolicy`.
    #[uniffi(default)]
    pub trusted_roots: HashMap<String, String>,
    /// Keep the default trusted root current from this TUF repository (e.g.
    /// `https://tuf-repo-cdn.sigstore.dev`), refreshed in the background (`None`: offline).
    #[uniffi(default)]
    pub tuf_url: Option<String>,
    /// The TUF repository's `root.json` path (`None`: the embedded one of Sigstore's
    /// public-good repository, required for any other).
    #[uniffi(default)]
    pub tuf_root: Option<String>,
    /// Where the verified TUF copy is kept (`None`: `$XDG_CACHE_HOME/imagecheck/tuf`).
    #[uniffi(default)]
    pub tuf_cache_dir: Option<String>,
    /// Ask the TUF repository again at most this often (`None`: 24 hours).
    #[uniffi(default)]
    pub tuf_refresh_interval: Option<Duration>,
}

/// Verifies references against an ordered rule list (a Talos `ImageVerificationConfig` or the
/// same rules as plain YAML/JSON).
#[derive(Debug, uniffi::Object)]
pub struct Verifier {
    inner: imagecheck::Verifier,
}

#[uniffi::export]
impl Verifier {
    /// A verifier with the rules in `policy` (the policy document's text, not a path).
    #[uniffi::constructor]
    pub fn new(policy: String, options: VerifierOptions) -> Result<Arc<Self>, ImageCheckError> {
        let policy = Policy::parse(&policy).map_err(imagecheck::Error::from)?;
        let mut core = imagecheck::VerifierOptions {
            trusted_root: options.trusted_root.map(Into::into),
            trusted_roots: options
                .trusted_roots
                .into_iter()
                .map(|(name, path)| (name, path.into()))
                .collect(),
            tuf_url: options.tuf_url,
            tuf_root: options.tuf_root.map(Into::into),
            tuf_cache_dir: options.tuf_cache_dir.map(Into::into),
            ..imagecheck::VerifierOptions::default()
        };
        if let Some(interval) = options.tuf_refresh_interval {
            core.tuf_refresh_interval = interval;
        }
        if let Some(ttl) = options.resolve_ttl {
            core.resolve_ttl = ttl;
        }
        if let Some(ttl) = options.result_ttl {
            core.result_ttl = ttl;
        }
        if let Some(deadline) = options.deadline {
            core.deadline = deadline;
        }
        let mut builder = core.builder(policy)?;
        if let Some(resolver) = options.resolver {
            builder = builder.resolver(resolver.core().clone());
        }
        Ok(Arc::new(Verifier {
            inner: builder.build(),
        }))
    }

    /// Verify `reference`, blocking the calling thread. A tag is resolved on the way (the
    /// answer carries the pinned `digested_ref`); a digest reference is verified as given.
    /// No match and skip answer `verified = false`; deny is `Denied`, a failed check
    /// `VerificationFailed`.
    #[uniffi::method(default(credentials = None))]
    pub fn verify_blocking(
        &self,
        reference: String,
        credentials: Option<Arc<Credentials>>,
    ) -> Result<Verification, ImageCheckError> {
        let credentials = credentials.as_deref().map(Credentials::core);
        self.inner
            .call(&reference, credentials)
            .wait()
            .map(Verification::from)
            .map_err(ImageCheckError::from)
    }

    /// [`Self::verify_blocking`] as an async call; the work runs on the library's runtime and
    /// cancelling the caller cancels it.
    #[uniffi::method(default(credentials = None))]
    pub async fn verify(
        &self,
        reference: String,
        credentials: Option<Arc<Credentials>>,
    ) -> Result<Verification, ImageCheckError> {
        let credentials = credentials.as_deref().map(Credentials::core);
        self.inner
            .call(&reference, credentials)
            .await
            .map(Verification::from)
            .map_err(ImageCheckError::from)
    }

    /// Swap the rules atomically (the policy document's text); on error the current rules stay.
    pub fn set_policy(&self, policy: String) -> Result<(), ImageCheckError> {
        let policy = Policy::parse(&policy).map_err(imagecheck::Error::from)?;
        self.inner.set_policy(policy);
        Ok(())
    }
}

static DEFAULT: LazyLock<Arc<Verifier>> = LazyLock::new(|| {
    Arc::new(Verifier {
        inner: imagecheck::default_verifier().clone(),
    })
});

/// The process-wide verifier: rules from the file named by `IMAGECHECK_POLICY` (none: no rule
/// matches anything), replaceable with `set_policy`; it shares the default resolver's cache.
#[uniffi::export]
pub fn default_verifier() -> Arc<Verifier> {
    DEFAULT.clone()
}
