//! The [`Verifier`]: rules applied top-down, the tag resolved on the way, signatures found and
//! checked, successes cached.
//!
//! Why one file of ~730 lines: the verify path (match, roots, resolve, walk, evaluate, cache)
//! reads the verifier's private state at every step, and the builder fills that state; the
//! parts with a job of their own are elsewhere (`result_cache.rs`, `rule_roots.rs`,
//! `evaluation.rs`, `trusted_roots.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex, RwLock};
use std::time::Duration;

use super::blob_cache::BlobCache;
use super::discovery::{RequestBudget, SharedReads, SignatureSource, SignatureWalker};
use super::evaluation::Evaluation;
use super::failure::{DiscoveryReport, DiscoveryStop, VerificationFailure};
use super::keyless::unix_now;
use super::policy::{KeylessIdentity, Policy, Rule, RuleAction, Signer, unknown_trusted_root};
use super::result_cache::{ResultCache, ResultKey};
use super::rule_roots::RuleRoots;
use super::trusted_root::TrustedRoot;
use super::trusted_roots::{DefaultRoot, TrustedRoots, Unusable};
use super::tuf::{TufRepository, TufRoot, TufStatus};
use crate::call::{Call, Subject};
use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::{CauseKind, DigestCause, Error, Result};
use crate::reference::Reference;
use crate::registry::call_limits::CallLimits;
use crate::resolve::{Engine, Resolver, default_resolver};

/// Environment variable naming the default verifier's policy file.
pub const POLICY_ENV: &str = "IMAGECHECK_POLICY";

/// The answer to a verify call that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// True only when a rule's signature check passed.
    pub verified: bool,
    /// What happened, for people: the rule (index and pattern) and how it was verified.
    pub message: String,
    /// `registry/repository@sha256:…` when the digest is known (always, when verified).
    pub digested_ref: Option<String>,
}

/// Verifies references against an ordered rule list. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policy: RwLock<std::result::Result<Arc<Policy>, Error>>,
    resolver: Resolver,
    trusted_roots: TrustedRoots,
    resolve_ttl: Duration,
    deadline: Duration,
    results: ResultCache<Verification>,
    /// The signature source that last verified per registry, tried first next time. Any valid
    /// signature verifies, so the order changes which one is reported, never the verdict; it
    /// saves the requests of sources a registry does not use.
    preferred: Mutex<HashMap<String, SignatureSource>>,
    /// Signature manifests and blobs by digest, for re-verification.
    blobs: BlobCache,
}

/// Options for a [`Verifier`].
#[derive(Debug)]
pub struct VerifierBuilder {
    policy: Policy,
    resolver: Option<Resolver>,
    trusted_root: Option<TrustedRoot>,
    named_trusted_roots: BTreeMap<String, TrustedRoot>,
    tuf: Option<TufRepository>,
    resolve_ttl: Duration,
    result_ttl: Duration,
    deadline: Duration,
}

impl VerifierBuilder {
    /// Resolve tags through `resolver` (default: the process-wide one, sharing its cache).
    pub fn resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Verify keyless signatures against `trusted_root` (default: the embedded Sigstore
    /// public-good root, [`TrustedRoot::public_good`]).
    pub fn trusted_root(mut self, trusted_root: TrustedRoot) -> Self {
        self.trusted_root = Some(trusted_root);
        self.tuf = None;
        self
    }

    /// Also hold `trusted_root` under `name`, for keyless rules that name it
    /// (`keyless.trustedRoot: NAME`); rules that name none use the default root. A rule that
    /// names a root the verifier does not hold is an `InvalidPolicy` error naming the ones it
    /// does.
    pub fn named_trusted_root(
        mut self,
        name: impl Into<String>,
        trusted_root: TrustedRoot,
    ) -> Self {
        self.named_trusted_roots.insert(name.into(), trusted_root);
        self
    }

    /// Keep the default trusted root current from a TUF repository (see
    /// [`crate::verify::tuf`]), in place of a fixed one: its verified copy on disk is read
    /// now (no network), and refreshed in the background when due.
    pub fn tuf(mut self, repository: TufRepository) -> Self {
        self.tuf = Some(repository);
        self.trusted_root = None;
        self
    }

    /// Accept a cached tag digest this old (default zero: a moved tag is seen at once).
    pub fn resolve_ttl(mut self, ttl: Duration) -> Self {
        self.resolve_ttl = ttl;
        self
    }

    /// How long a successful verification is reused (default 5 minutes; zero disables). A
    /// success whose certificate was checked at the current time (no transparency log) is
    /// reused only while that certificate is valid. At most 4,096 results are kept.
    pub fn result_ttl(mut self, ttl: Duration) -> Self {
        self.result_ttl = ttl;
        self
    }

    /// How long one verify may take in all: resolving the tag and finding and checking
    /// signatures (default [`DEFAULT_DEADLINE`], 60 s; [`Duration::MAX`] for none). Every
    /// request also has the resolver's own timeout; this bounds their sum. A verify that runs
    /// out of time fails: with `DigestUnavailable` (cause `Timeout`) if the tag's digest was
    /// not known yet, as any other failure to resolve; with `VerificationFailed` once it was,
    /// as any other failure to find a valid signature. Never with `verified = true`.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The verifier. A policy naming a trusted root the verifier does not hold makes every
    /// verify an `InvalidPolicy` error (as a policy that failed to load);
    /// [`crate::VerifierOptions::build`] reports it here instead.
    pub fn build(self) -> Verifier {
        let default = match (self.tuf, self.trusted_root) {
            (Some(repository), _) => DefaultRoot::Tuf(TufRoot::open(repository)),
            (None, root) => DefaultRoot::Fixed(root.unwrap_or_else(TrustedRoot::public_good)),
        };
        let roots = TrustedRoots::new(default, self.named_trusted_roots);
        let names = roots.names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let policy = match self.policy.check_trusted_root_names(&names) {
            Ok(()) => Ok(Arc::new(self.policy)),
            Err(e) => Err(Error::from(e)),
        };
        Verifier::with_policy_result(
            policy,
            self.resolver.unwrap_or_else(|| default_resolver().clone()),
            roots,
            Timing {
                resolve_ttl: self.resolve_ttl,
                result_ttl: self.result_ttl,
                deadline: self.deadline,
            },
        )
    }
}

/// How long a successful verification is reused unless configured otherwise.
pub const DEFAULT_RESULT_TTL: Duration = Duration::from_secs(300);

/// The default of [`VerifierBuilder::deadline`]. A verify of a signed image is a HEAD, the
/// listings (sent together) and one or two reads: a few round trips, seconds even on a slow
/// link. A minute leaves room for two requests that run into the resolver's 30 s timeout, and
/// stops a registry that answers slowly on purpose from holding a caller (an image pull
/// waiting on the verdict) for longer than that.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// The verifier's durations.
#[derive(Debug, Clone, Copy)]
struct Timing {
    resolve_ttl: Duration,
    result_ttl: Duration,
    deadline: Duration,
}

/// `work`'s output, or None if `deadline` passes first (no deadline: always the output).
async fn within<F: std::future::Future>(
    deadline: Option<tokio::time::Instant>,
    work: F,
) -> Option<F::Output> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, work).await.ok(),
        None => Some(work.await),
    }
}

impl Verifier {
    pub fn builder(policy: Policy) -> VerifierBuilder {
        VerifierBuilder {
            policy,
            resolver: None,
            trusted_root: None,
            named_trusted_roots: BTreeMap::new(),
            tuf: None,
            resolve_ttl: Duration::ZERO,
            result_ttl: DEFAULT_RESULT_TTL,
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// A verifier with `policy` and default options.
    pub fn new(policy: Policy) -> Verifier {
        Verifier::builder(policy).build()
    }

    fn with_policy_result(
        policy: std::result::Result<Arc<Policy>, Error>,
        resolver: Resolver,
        trusted_roots: TrustedRoots,
        timing: Timing,
    ) -> Verifier {
        Verifier {
            inner: Arc::new(Inner {
                policy: RwLock::new(policy),
                resolver,
                trusted_roots,
                resolve_ttl: timing.resolve_ttl,
                deadline: timing.deadline,
                results: ResultCache::new(timing.result_ttl),
                preferred: Mutex::new(HashMap::new()),
                blobs: BlobCache::default(),
            }),
        }
    }

    /// The rules in force (an error if the policy failed to load and was never replaced).
    pub fn policy(&self) -> Result<Arc<Policy>> {
        self.inner
            .policy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Swap the rules atomically; cached results are dropped. Calls already under way finish
    /// with the rules they started with. A keyless rule naming a trusted root the verifier
    /// does not hold fails its verifies with `InvalidPolicy` ([`Self::check_policy`] tells
    /// before; [`Self::load_policy`] checks).
    pub fn set_policy(&self, policy: Policy) {
        *self.inner.policy.write().unwrap_or_else(|p| p.into_inner()) = Ok(Arc::new(policy));
        self.inner.results.clear();
    }

    /// Load rules from `path` and swap them in; on error the current rules stay.
    pub fn load_policy(&self, path: &Path) -> Result<()> {
        let policy = Policy::from_file(path)?;
        self.check_policy(&policy)?;
        self.set_policy(policy);
        Ok(())
    }

    /// Whether `policy` suits this verifier: every `keyless.trustedRoot` it names is one of
    /// the verifier's named trusted roots (else `InvalidPolicy`, naming the known ones).
    pub fn check_policy(&self, policy: &Policy) -> Result<()> {
        let names = self.inner.trusted_roots.names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Ok(policy.check_trusted_root_names(&names)?)
    }

    pub fn resolver(&self) -> &Resolver {
        &self.inner.resolver
    }

    /// The default trust root keyless rules are verified against now: the fixed one, or the
    /// copy a TUF repository keeps current (before the first refresh of a repository with no
    /// embedded copy, a root that trusts nothing; keyless rules wait for the refresh then).
    pub fn trusted_root(&self) -> TrustedRoot {
        self.inner.trusted_roots.default_now()
    }

    /// The named trusted root `name`, if the verifier holds one.
    pub fn named_trusted_root(&self, name: &str) -> Option<TrustedRoot> {
        self.inner.trusted_roots.named(name)
    }

    /// The names of the verifier's named trusted roots, sorted.
    pub fn trusted_root_names(&self) -> Vec<String> {
        self.inner.trusted_roots.names()
    }

    /// Replace the default trusted root atomically (a TUF repository keeping it current
    /// included). Calls under way finish with the root they started with; cached results
    /// stay, keyed by the root they were verified against.
    pub fn set_trusted_root(&self, trusted_root: TrustedRoot) {
        self.inner
            .trusted_roots
            .set_default(DefaultRoot::Fixed(trusted_root));
    }

    /// Add or replace the named trusted root `name` atomically.
    pub fn set_named_trusted_root(&self, name: &str, trusted_root: TrustedRoot) {
        self.inner.trusted_roots.set_named(name, trusted_root);
    }

    /// Where the TUF-refreshed default root stands; None when the default root is fixed.
    pub fn tuf_status(&self) -> Option<TufStatus> {
        self.inner.trusted_roots.tuf().map(|tuf| tuf.status())
    }

    /// Start a TUF refresh of the default root in the background when one is due. Keyless
    /// verifies do this themselves; a long-lived process that may sit idle (the daemon) calls
    /// it now and then, so its copy is renewed before it expires rather than on the next
    /// verify.
    pub fn refresh_trusted_root_if_due(&self) {
        if let Some(tuf) = self.inner.trusted_roots.tuf() {
            let _ = tuf.current();
        }
    }

    /// Wait (at most `timeout`) for a TUF refresh under way to finish, so that a short-lived
    /// process (the CLI) leaves an up-to-date copy on disk for the next one; true when none
    /// is under way. Verifies never need this.
    pub async fn wait_for_trusted_root_refresh(&self, timeout: Duration) -> bool {
        match self.inner.trusted_roots.tuf() {
            Some(tuf) => tuf.settled(timeout).await,
            None => true,
        }
    }

    /// Verify `reference` (a tag is resolved on the way; a digest is verified as given).
    pub async fn verify(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
    ) -> Result<Verification> {
        // No timer until there is I/O to bound: a call answered from the caches needs no
        // runtime at all.
        let deadline = tokio::time::Instant::now().checked_add(self.inner.deadline);
        self.verify_within(reference, credentials, deadline).await
    }

    async fn verify_within(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Verification> {
        let parsed = Reference::parse(reference)?;
        parsed.debug_respelling(reference);
        let policy = self.policy()?;
        let known_digest = parsed.digest().map(|d| parsed.pinned(d));
        // Matching happens before any I/O: no match, skip and deny never contact a registry.
        let Some(rule) = policy.first_match(&parsed) else {
            return Ok(Verification {
                verified: false,
                message: format!("no rule matched {}", parsed.name()),
                digested_ref: known_digest,
            });
        };
        match rule.action() {
            RuleAction::Skip => {
                return Ok(Verification {
                    verified: false,
                    message: format!("{rule} skips verification"),
                    digested_ref: known_digest,
                });
            }
            RuleAction::Deny => {
                return Err(Error::Denied {
                    reference: parsed.to_string(),
                    rule_index: rule.index(),
                    pattern: rule.pattern().as_str().to_owned(),
                });
            }
            RuleAction::PublicKey(_) | RuleAction::Keyless(_) | RuleAction::Signers(_) => {}
        }
        // The roots are picked (and, TUF-refreshed, checked to be valid) before anything
        // else: their fingerprint is part of the result key.
        let roots = self.rule_roots(&parsed, rule, deadline).await?;
        let trusted_root = roots.fingerprint();
        let result_key = |digest: &Digest| ResultKey {
            name: parsed.name(),
            digest: digest.clone(),
            rule: rule.fingerprint(),
            trusted_root,
        };
        let resolver = &self.inner.resolver;
        let ttl = self.inner.resolve_ttl;
        // Without I/O (a digest reference, or a tag resolved within the TTL): the result cache
        // answers most calls here.
        let fresh = resolver.answer_without_io(&Engine::Registry, &parsed, ttl, credentials);
        if let Some(cached) = fresh
            .as_ref()
            .and_then(|d| self.cached_result(&result_key(d)))
        {
            return Ok(cached);
        }
        // A registry the mirror configuration blocks is refused before any I/O. Checked after
        // the caches (routing builds the host list): the configuration is fixed for the
        // resolver's life, so nothing is ever cached for a blocked registry.
        let resolves_tag = parsed.digest().is_none();
        if let Some(why) = self
            .inner
            .resolver
            .registry()
            .refusal(&parsed, resolves_tag, true)
        {
            return Err(Error::InvalidArgument(why));
        }
        // I/O from here on. The registry client waits on rate limits no longer than the
        // deadline and takes its retries and mirror fall-backs from this verify's budget; both
        // are made only now, so a call the caches answer allocates and scopes nothing.
        let budget = Arc::new(RequestBudget::default());
        let limits = CallLimits {
            deadline,
            requests: Some(budget.clone()),
        };
        let budget = &*budget;
        limits
            .scope(async {
                let (mut order, learned) = self.source_order(parsed.registry());
                if !rule.attestations().is_empty() {
                    order.push(SignatureSource::AttestationTag);
                }
                // The fleet's tier for signature reads, unless they are made with credentials.
                let shared = resolver
                    .shared_cache_for(&parsed, credentials)
                    .await
                    .map(|tier| SharedReads {
                        tier,
                        listing_ttl: ttl,
                    });
                let walker = |digest| {
                    SignatureWalker::new(
                        resolver.registry(),
                        &self.inner.blobs,
                        budget,
                        &parsed,
                        digest,
                        credentials,
                        &order,
                        !learned,
                    )
                    .share_through(shared.as_ref())
                };
                // A tag that must be re-checked, whose last digest has no cached result: list that
                // digest's signatures while the HEAD is in flight. The tag usually has not moved, and
                // then the listing is the one the walk needs; if it moved, the listing is dropped.
                let guess = match fresh {
                    Some(_) => None,
                    None => resolver
                        .last_known(&Engine::Registry, &parsed, credentials)
                        .filter(|guess| self.cached_result(&result_key(guess)).is_none()),
                };
                let resolve = within(
                    deadline,
                    resolver.resolve_reference(&Engine::Registry, &parsed, ttl, credentials),
                );
                let (digest, listed_ahead) = match &guess {
                    Some(guess) => {
                        let mut ahead = walker(guess);
                        // The listing stops at the deadline too; the walk then finds it past.
                        let (digest, _) =
                            tokio::join!(resolve, within(deadline, ahead.list_ahead()));
                        let digest = digest.ok_or_else(|| self.resolve_too_late(&parsed))??;
                        let ahead = (ahead.digest() == &digest).then_some(ahead);
                        (digest, ahead)
                    }
                    None => (
                        resolve
                            .await
                            .ok_or_else(|| self.resolve_too_late(&parsed))??,
                        None,
                    ),
                };
                let result_key = result_key(&digest);
                if let Some(cached) = self.cached_result(&result_key) {
                    return Ok(cached);
                }
                let walker = listed_ahead.unwrap_or_else(|| walker(&digest));
                let (verification, valid_until) = self
                    .check_signatures(&parsed, walker, rule, &roots, budget, deadline)
                    .await?;
                self.remember(result_key, &verification, valid_until);
                Ok(verification)
            })
            .await
    }

    /// The trusted root `identity`'s rule checks certificates against: InvalidPolicy when it
    /// names one the verifier does not hold; VerificationFailed (fail closed) when the
    /// TUF-refreshed default root has no valid copy.
    async fn keyless_root(
        &self,
        reference: &Reference,
        rule: &Rule,
        identity: &KeylessIdentity,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<TrustedRoot> {
        let roots = &self.inner.trusted_roots;
        match roots.for_rule(identity.trusted_root(), deadline).await {
            Ok(root) => Ok(root),
            Err(Unusable::UnknownName) => {
                let names = roots.names();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                Err(match unknown_trusted_root(rule, &names) {
                    Some(error) => error.into(),
                    None => Error::InvalidArgument(format!(
                        "{rule}: the trusted root it names was removed while verifying"
                    )),
                })
            }
            Err(Unusable::Stale(reason)) => Err(Error::VerificationFailed {
                reference: reference.to_string(),
                failure: VerificationFailure::TrustedRootUnavailable {
                    rule: rule.to_string(),
                    reason,
                },
            }),
        }
    }

    /// The trusted root of each keyless identity of `rule` (its own, or each keyless entry of
    /// a `signers` list), by name; none for a rule of keys only.
    async fn rule_roots(
        &self,
        reference: &Reference,
        rule: &Rule,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<RuleRoots> {
        let identities: Vec<&KeylessIdentity> = match rule.action() {
            RuleAction::Keyless(identity) => vec![identity],
            RuleAction::Signers(set) => set
                .signers()
                .iter()
                .filter_map(|signer| match signer {
                    Signer::Keyless(identity) => Some(identity),
                    Signer::PublicKey(_) => None,
                })
                .collect(),
            RuleAction::PublicKey(_) | RuleAction::Skip | RuleAction::Deny => Vec::new(),
        };
        let mut roots = RuleRoots::default();
        for identity in identities {
            if !roots.has(identity.trusted_root()) {
                let root = self
                    .keyless_root(reference, rule, identity, deadline)
                    .await?;
                roots.insert(identity.trusted_root(), root);
            }
        }
        Ok(roots)
    }

    /// The error of a verify whose deadline passed before the tag's digest was known.
    fn resolve_too_late(&self, reference: &Reference) -> Error {
        let seconds = self.inner.deadline.as_secs_f64();
        Error::DigestUnavailable {
            reference: reference.to_string(),
            engine: Engine::Registry.name().to_owned(),
            cause: DigestCause::new(
                CauseKind::Timeout,
                format!(
                    "the verify deadline ({seconds} s) passed before the registry gave the \
                     digest; retry later, or raise VerifierBuilder::deadline"
                ),
            ),
        }
    }

    /// One verify as a [`Call`] (see [`crate::call`]): its first poll, on the caller's thread,
    /// answers from the result cache or for a rule that needs no registry; anything else runs
    /// on the core runtime. The reference is parsed once, by [`Self::verify`].
    pub fn call(&self, reference: &str, credentials: Option<&Credentials>) -> Call<Verification> {
        let this = self.clone();
        let subject = Subject::new(reference, Engine::Registry.name());
        let reference = reference.to_owned();
        let credentials = credentials.cloned();
        Call::pending(subject, async move {
            this.verify(&reference, credentials.as_ref()).await
        })
    }

    /// [`Self::verify`] from a thread that is not running async code: [`Self::call`], waited
    /// for.
    pub fn verify_blocking(
        &self,
        reference: &str,
        credentials: Option<&Credentials>,
    ) -> Result<Verification> {
        self.call(reference, credentials).wait()
    }

    fn cached_result(&self, key: &ResultKey) -> Option<Verification> {
        self.inner.results.get(key)
    }

    /// Keep a success for the result TTL, or until `valid_until` (Unix seconds) if sooner.
    fn remember(&self, key: ResultKey, verification: &Verification, valid_until: Option<i64>) {
        self.inner
            .results
            .put(key, verification, unix_now(), valid_until);
    }

    async fn check_signatures(
        &self,
        reference: &Reference,
        mut walker: SignatureWalker<'_>,
        rule: &Rule,
        roots: &RuleRoots,
        budget: &RequestBudget,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(Verification, Option<i64>)> {
        let digest = walker.digest();
        let failed = |failure: VerificationFailure| Error::VerificationFailed {
            reference: reference.to_string(),
            failure,
        };
        let Some(mut evaluation) = Evaluation::new(rule, digest, roots) else {
            // Skip and deny answered before any I/O.
            unreachable!("{rule} checks no signature")
        };
        let mut stopped = None;
        loop {
            let Some(next) = within(deadline, walker.next()).await else {
                stopped = Some(DiscoveryStop::Deadline {
                    deadline: self.inner.deadline,
                    requests: budget.spent(),
                });
                break;
            };
            let next = next.map_err(|cause| failed(VerificationFailure::Unreadable(cause)))?;
            let Some((source, candidate)) = next else {
                break;
            };
            evaluation.offer(source, walker.served_by(), &candidate);
            if evaluation.done() {
                if let Some(source) = evaluation.first_source() {
                    self.inner
                        .preferred
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(reference.registry().to_owned(), source);
                }
                let verification = Verification {
                    verified: true,
                    message: evaluation.success_message(),
                    digested_ref: Some(reference.pinned(digest)),
                };
                return Ok((verification, evaluation.valid_until()));
            }
        }
        if walker.out_of_requests() {
            stopped = Some(DiscoveryStop::RequestBudget {
                requests: budget.spent(),
            });
        }
        Err(failed(evaluation.failure(DiscoveryReport {
            stopped,
            unreadable: walker.unreadable(),
        })))
    }

    /// The order to try signature sources in on `registry`, and whether it was learned (a source
    /// verified there before) rather than DESIGN.md's default.
    fn source_order(&self, registry: &str) -> (Vec<SignatureSource>, bool) {
        let preferred = self
            .inner
            .preferred
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(registry)
            .copied();
        let mut order = Vec::with_capacity(3);
        order.extend(preferred);
        order.extend(
            SignatureSource::ORDER
                .iter()
                .copied()
                .filter(|s| Some(*s) != preferred),
        );
        (order, preferred.is_some())
    }
}

static DEFAULT_VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let policy = match std::env::var_os(POLICY_ENV).filter(|v| !v.is_empty()) {
        Some(path) => Policy::from_file(Path::new(&path))
            .map(Arc::new)
            .map_err(Error::from),
        None => Ok(Arc::new(Policy::empty())),
    };
    if let Err(e) = &policy {
        tracing::error!(error = %e, "default verifier: policy from {POLICY_ENV} failed to load");
    }
    Verifier::with_policy_result(
        policy,
        default_resolver().clone(),
        TrustedRoots::new(
            DefaultRoot::Fixed(TrustedRoot::public_good()),
            BTreeMap::new(),
        ),
        Timing {
            resolve_ttl: Duration::ZERO,
            result_ttl: DEFAULT_RESULT_TTL,
            deadline: DEFAULT_DEADLINE,
        },
    )
});

/// The process-wide verifier: rules from the file named by `IMAGECHECK_POLICY` (none: no rule
/// matches anything), replaceable at run time with [`Verifier::set_policy`]; it shares the
/// default resolver's cache.
pub fn default_verifier() -> &'static Verifier {
    &DEFAULT_VERIFIER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_root_option_and_cache_key() {
        let public = Verifier::builder(Policy::empty()).build();
        assert_eq!(public.trusted_root(), TrustedRoot::public_good());
        let json = String::from_utf8(super::super::trusted_root::PUBLIC_GOOD_JSON.to_vec())
            .unwrap_or_default()
            .replacen("\"ctlogs\"", "\"unusedCtlogs\"", 1);
        let custom = TrustedRoot::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert!(custom.ctlogs().is_empty());
        let private = Verifier::builder(Policy::empty())
            .trusted_root(custom.clone())
            .build();
        assert_eq!(private.trusted_root(), custom);
        assert_ne!(
            public.trusted_root().fingerprint(),
            private.trusted_root().fingerprint(),
            "results verified under one root are never served under another"
        );
    }
}
