//! Signature discovery: find the signatures stored for an image digest, one at a time, so the
//! first valid one stops further I/O.
//!
//! Sources, in DESIGN.md's order: OCI referrers with the sigstore bundle artifact type
//! (cosign v3), the `sha256-<hex>` referrers tag fallback (registries without the referrers
//! API: a referrers index, or, as Talos also reads that tag, an image manifest whose layers
//! are bundles), then the legacy `sha256-<hex>.sig` tag (cosign simple signing); for a rule
//! that requires attestations, also the legacy `sha256-<hex>.att` tag (cosign's DSSE
//! envelopes; a bundle attestation comes with the bundles of the first two sources). A bundle
//! is recognised by any media type of [`BUNDLE_MEDIA_TYPES`](super::bundle_media_types::BUNDLE_MEDIA_TYPES) (`…bundle.v0.3+json`,
//! `…bundle+json;version=0.3`, `;version=0.2`, `;version=0.1`). Bounds: manifests
//! 128 KiB, bundles and payloads 1 MiB, 100 signatures in all, and [`MAX_REQUESTS`] registry
//! requests per verify, failed ones, retries after rate limits and falls back from a mirror to
//! the next host included (a listing may name any number of candidates
//! that are not there, each costing a request).
//!
//! Round trips are the cost that matters against a remote registry: listings can be made ahead
//! (all sources at once on a registry not yet known, or during the tag's HEAD), a legacy
//! payload that is exactly what `cosign sign` writes for this image is recognised by its
//! digest instead of fetched, and content-addressed reads go through the verifier's
//! `BlobCache`. None of this changes which candidate is checked first, or the verdict.
//!
//! With the fleet's shared tier ([`SharedReads`]), content-addressed reads and listings are
//! asked of it first, and one node at a time asks the registry. Its entries are judged like
//! registry answers: a blob must hash to its digest, and a listing only names candidates,
//! each fetched by digest and checked against the rule. A forged listing can at worst hide a
//! signature (or list ones that fail), never make an unsigned image verify.
//!
//! Why one file of ~650 lines: the walker is one state machine (sources in order, listings made
//! ahead, the request budget, the shared tier, the blob cache) whose fields every step reads;
//! what it reads is parsed in `signature_documents.rs`, what it yields is in `candidate.rs`, and
//! the budget is `request_budget.rs`.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;

use super::blob_cache::BlobCache;
pub use super::candidate::{
    BundleSignature, Candidate, LegacyAttestation, LegacySignature, SignatureSource,
};
use super::payload::cosign_default_payload;
pub(crate) use super::request_budget::RequestBudget;
pub use super::request_budget::{MAX_REQUESTS, MAX_SIGNATURES};
use super::signature_documents::{
    Annotations, MAX_PAYLOAD_BYTES, Manifest, attestation_layers, bundle_layers, bundle_manifests,
    is_bundle_type, legacy_layers, parse_json,
};
use crate::cause::{CauseKind, DigestCause};
use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::reference::Reference;
use crate::registry::{Fetched, RegistryClient};
use crate::shared_cache::{
    BLOB_MAX_AGE, Key, SharedCache, blob_verdict, listing_value, listing_verdict, unix_ms_now,
};

/// Artifact type (and layer media type) of a sigstore bundle v0.3, as cosign v3 writes it: the
/// referrers API is asked for this one.
pub(super) const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Annotation holding the base64 signature of a legacy layer.
pub(super) const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub(super) const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub(super) const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub(super) const REKOR_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

/// Largest signature manifest read (a referrers index, a `.sig` or referrer manifest): they
/// list signatures, far smaller than the image manifests the registry client allows
/// (`registry::MAX_IMAGE_MANIFEST_BYTES`).
pub const MAX_SIGNATURE_MANIFEST_BYTES: usize = 128 * 1024;

/// Why a listing or a read gave no answer.
#[derive(Debug)]
enum Halt {
    /// The registry's error.
    Registry(DigestCause),
    /// [`MAX_REQUESTS`] are spent: the walk ends.
    Budget,
}

impl From<DigestCause> for Halt {
    fn from(cause: DigestCause) -> Self {
        Halt::Registry(cause)
    }
}

/// The fleet's shared tier for one verify's reads (only when nothing is read with
/// credentials), and how old a listing it accepts: the verifier's resolve TTL, as for the tag.
#[derive(Debug, Clone)]
pub(crate) struct SharedReads {
    pub(crate) tier: SharedCache,
    pub(crate) listing_ttl: Duration,
}

/// Largest listing entry read: the manifest bound and the entry's header line.
const MAX_LISTING_VALUE: usize = MAX_SIGNATURE_MANIFEST_BYTES + 32;
/// Largest blob entry read: payloads and bundles (manifests are smaller).
const MAX_BLOB_VALUE: usize = MAX_PAYLOAD_BYTES;

/// Walks the signature sources of one image digest lazily.
#[derive(Debug)]
pub(super) struct SignatureWalker<'a> {
    client: &'a RegistryClient,
    blobs: &'a BlobCache,
    shared: Option<&'a SharedReads>,
    budget: &'a RequestBudget,
    reference: &'a Reference,
    digest: &'a Digest,
    credentials: Option<&'a Credentials>,
    sources: VecDeque<SignatureSource>,
    /// List every remaining source at once when the first is listed (see [`Self::new`]).
    list_all_at_once: bool,
    /// Listings made ahead of their turn, consumed in source order.
    listed: HashMap<SignatureSource, Result<Listing, Halt>>,
    current: Option<SignatureSource>,
    /// The mirror that listed the current source's candidates (None: the registry itself).
    served_by: Option<String>,
    pending: VecDeque<Pending>,
    yielded: usize,
    /// Listed candidates skipped because the registry did not have them.
    unreadable: usize,
    /// The walk ended at [`MAX_REQUESTS`].
    out_of_requests: bool,
}

/// One source's candidates, and the mirror that listed them (None: the registry itself).
#[derive(Debug, Default)]
struct Listing {
    pending: Vec<Pending>,
    served_by: Option<String>,
}

/// A listing document as fetched: its bytes and the mirror that served it (None: the registry
/// itself, or the shared tier).
struct Listed {
    bytes: Bytes,
    served_by: Option<String>,
}

#[derive(Debug)]
enum Pending {
    /// A referrer manifest to fetch, then its bundle layer.
    BundleManifest(Digest),
    /// A bundle blob listed as a layer of the manifest `manifest` (the `sha256-<hex>` tag).
    BundleLayer { layer: Digest, manifest: Digest },
    /// A legacy layer (payload blob) with its annotations.
    LegacyLayer {
        digest: Digest,
        annotations: Annotations,
    },
    /// A legacy attestation layer (DSSE envelope blob) with its annotations.
    AttestationLayer {
        digest: Digest,
        annotations: Annotations,
    },
}

impl<'a> SignatureWalker<'a> {
    /// Walk `order` (normally [`SignatureSource::ORDER`]) for `digest` in `reference`'s
    /// repository. With `list_all_at_once`, the first listing request goes out together with
    /// those of every later source, so a registry whose layout is not yet known costs one round
    /// trip instead of one per source; candidates are still taken strictly in `order`, and a
    /// later source's error only counts once the walk reaches it. Content-addressed reads go
    /// through `blobs`; every request is taken from `budget`.
    #[allow(
        clippy::too_many_arguments,
        reason = "one walk's borrowed context, built in one place"
    )]
    pub(crate) fn new(
        client: &'a RegistryClient,
        blobs: &'a BlobCache,
        budget: &'a RequestBudget,
        reference: &'a Reference,
        digest: &'a Digest,
        credentials: Option<&'a Credentials>,
        order: &[SignatureSource],
        list_all_at_once: bool,
    ) -> Self {
        SignatureWalker {
            client,
            blobs,
            shared: None,
            budget,
            reference,
            digest,
            credentials,
            sources: order.iter().copied().collect(),
            list_all_at_once,
            listed: HashMap::new(),
            current: None,
            served_by: None,
            pending: VecDeque::new(),
            yielded: 0,
            unreadable: 0,
            out_of_requests: false,
        }
    }

    /// Read through the fleet's shared tier too.
    pub(crate) fn share_through(mut self, shared: Option<&'a SharedReads>) -> Self {
        self.shared = shared;
        self
    }

    /// Listed candidates the registry did not have (skipped, not counted as signatures).
    pub(crate) fn unreadable(&self) -> usize {
        self.unreadable
    }

    /// Whether the walk ended because [`MAX_REQUESTS`] were spent.
    pub(crate) fn out_of_requests(&self) -> bool {
        self.out_of_requests
    }

    /// The digest whose signatures this walker lists.
    pub(crate) fn digest(&self) -> &'a Digest {
        self.digest
    }

    /// The mirror that listed the last candidate's source (`mirror HOST`), or None when the
    /// registry itself did.
    pub(crate) fn served_by(&self) -> Option<&str> {
        self.served_by.as_deref()
    }

    /// Make the first listing (or all of them, with `list_all_at_once`) now, so it can overlap
    /// other I/O; [`Self::next`] uses the answers, errors included, when their turn comes.
    pub(crate) async fn list_ahead(&mut self) {
        let count = if self.list_all_at_once { usize::MAX } else { 1 };
        let ahead: Vec<SignatureSource> = (self.sources.iter().take(count).copied())
            .filter(|s| !self.listed.contains_key(s))
            .collect();
        let answers = futures::future::join_all(ahead.iter().map(|s| self.list(*s))).await;
        self.listed.extend(ahead.into_iter().zip(answers));
    }

    /// The next candidate and where it came from; None when every source is exhausted, the
    /// bound of [`MAX_SIGNATURES`] is reached or [`MAX_REQUESTS`] are spent
    /// ([`Self::out_of_requests`]). A registry error other than "not found" ends the walk with
    /// that cause.
    pub(super) async fn next(
        &mut self,
    ) -> Result<Option<(SignatureSource, Candidate)>, DigestCause> {
        if self.out_of_requests {
            return Ok(None);
        }
        match self.step().await {
            Ok(next) => Ok(next),
            Err(Halt::Registry(cause)) => Err(cause),
            Err(Halt::Budget) => {
                self.out_of_requests = true;
                Ok(None)
            }
        }
    }

    async fn step(&mut self) -> Result<Option<(SignatureSource, Candidate)>, Halt> {
        loop {
            if self.yielded >= MAX_SIGNATURES {
                return Ok(None);
            }
            if let Some(pending) = self.pending.pop_front() {
                let source = self.current.unwrap_or(SignatureSource::LegacyTag);
                if let Some(candidate) = self.fetch(pending).await? {
                    self.yielded += 1;
                    return Ok(Some((source, candidate)));
                }
                continue;
            }
            let Some(source) = self.sources.front().copied() else {
                return Ok(None);
            };
            if !self.listed.contains_key(&source) {
                self.list_ahead().await;
            }
            self.sources.pop_front();
            self.current = Some(source);
            let listing = self
                .listed
                .remove(&source)
                .unwrap_or_else(|| Ok(Listing::default()))?;
            self.served_by = listing.served_by;
            self.pending.extend(listing.pending);
        }
    }

    /// Take one request from the budget.
    fn spend(&self) -> Result<(), Halt> {
        if self.budget.take() {
            Ok(())
        } else {
            Err(Halt::Budget)
        }
    }

    async fn list(&self, source: SignatureSource) -> Result<Listing, Halt> {
        match source {
            SignatureSource::Referrers => self.list_referrers().await,
            SignatureSource::ReferrersTag => self.list_referrers_tag().await,
            SignatureSource::LegacyTag => self.list_legacy().await,
            SignatureSource::AttestationTag => self.list_attestations().await,
        }
    }

    async fn list_attestations(&self) -> Result<Listing, Halt> {
        let tag = format!("{}-{}.att", self.digest.algorithm(), self.digest.hex());
        let Some(manifest) = self.manifest_or_none(&tag).await? else {
            return Ok(Listing::default());
        };
        Ok(Listing {
            pending: attestation_layers(&manifest.bytes)?
                .into_iter()
                .map(|(digest, annotations)| Pending::AttestationLayer {
                    digest,
                    annotations,
                })
                .collect(),
            served_by: manifest.served_by,
        })
    }

    async fn list_referrers(&self) -> Result<Listing, Halt> {
        let key = Key::listing_referrers(self.reference, self.digest, BUNDLE_V03_MEDIA_TYPE);
        let index = self
            .listing(key, || async {
                self.spend()?;
                Ok(self
                    .client
                    .referrers(
                        self.reference,
                        self.digest,
                        BUNDLE_V03_MEDIA_TYPE,
                        MAX_SIGNATURE_MANIFEST_BYTES,
                        self.credentials,
                    )
                    .await?
                    .map(|(bytes, served_by)| Listed { bytes, served_by }))
            })
            .await?;
        // None: the registry has no referrers API (404); the tag fallback comes next.
        match index {
            Some(index) => Ok(Listing {
                pending: bundle_pendings(&index.bytes)?,
                served_by: index.served_by,
            }),
            None => Ok(Listing::default()),
        }
    }

    async fn list_referrers_tag(&self) -> Result<Listing, Halt> {
        let tag = format!("{}-{}", self.digest.algorithm(), self.digest.hex());
        match self.manifest_or_none(&tag).await? {
            Some(listing) => Ok(Listing {
                pending: referrers_tag_pendings(&listing.bytes)?,
                served_by: listing.served_by,
            }),
            None => Ok(Listing::default()),
        }
    }

    async fn list_legacy(&self) -> Result<Listing, Halt> {
        let tag = format!("{}-{}.sig", self.digest.algorithm(), self.digest.hex());
        let Some(manifest) = self.manifest_or_none(&tag).await? else {
            return Ok(Listing::default());
        };
        Ok(Listing {
            pending: legacy_layers(&manifest.bytes)?
                .into_iter()
                .map(|(digest, annotations)| Pending::LegacyLayer {
                    digest,
                    annotations,
                })
                .collect(),
            served_by: manifest.served_by,
        })
    }

    async fn fetch(&mut self, pending: Pending) -> Result<Option<Candidate>, Halt> {
        match pending {
            Pending::BundleManifest(manifest_digest) => {
                let bytes = match self.content(&manifest_digest, Content::Manifest).await {
                    Ok(bytes) => bytes,
                    Err(Halt::Registry(cause)) if cause.kind == CauseKind::NotFound => {
                        self.unreadable += 1;
                        return Ok(None);
                    }
                    Err(halt) => return Err(halt),
                };
                let manifest: Manifest = parse_json(&bytes, "referrer manifest")?;
                let is_bundle = manifest
                    .artifact_type
                    .as_deref()
                    .is_some_and(is_bundle_type)
                    || manifest
                        .config
                        .as_ref()
                        .is_some_and(|c| is_bundle_type(&c.media_type));
                let layer = manifest
                    .layers
                    .iter()
                    .find(|l| is_bundle_type(&l.media_type) || is_bundle);
                let Some(layer) = layer else { return Ok(None) };
                let Ok(layer_digest) = Digest::parse(&layer.digest) else {
                    return Ok(None);
                };
                let json = self.content(&layer_digest, Content::Blob).await?;
                Ok(Some(Candidate::Bundle(BundleSignature {
                    json,
                    manifest_digest,
                })))
            }
            Pending::BundleLayer { layer, manifest } => {
                let json = self.content(&layer, Content::Blob).await?;
                Ok(Some(Candidate::Bundle(BundleSignature {
                    json,
                    manifest_digest: manifest,
                })))
            }
            Pending::LegacyLayer {
                digest,
                mut annotations,
            } => {
                let Some(signature) = annotations.remove(SIGNATURE_ANNOTATION) else {
                    return Ok(None);
                };
                let payload = match self.predicted_payload(&digest) {
                    Some(payload) => payload,
                    None => self.content(&digest, Content::Blob).await?,
                };
                Ok(Some(Candidate::Legacy(LegacySignature {
                    payload,
                    signature,
                    certificate: annotations.remove(CERTIFICATE_ANNOTATION),
                    chain: annotations.remove(CHAIN_ANNOTATION),
                    rekor_bundle: annotations.remove(REKOR_BUNDLE_ANNOTATION),
                    layer_digest: digest,
                })))
            }
            Pending::AttestationLayer {
                digest,
                mut annotations,
            } => {
                // The signature is inside the envelope; cosign leaves the annotation empty.
                let envelope = self.content(&digest, Content::Blob).await?;
                Ok(Some(Candidate::LegacyAttestation(LegacyAttestation {
                    envelope,
                    certificate: annotations.remove(CERTIFICATE_ANNOTATION),
                    chain: annotations.remove(CHAIN_ANNOTATION),
                    rekor_bundle: annotations.remove(REKOR_BUNDLE_ANNOTATION),
                    layer_digest: digest,
                })))
            }
        }
    }

    /// The payload blob `layer`, without a fetch, when it is the one `cosign sign` writes for
    /// this image (no annotations, signed under this repository's name): those bytes hash to
    /// `layer` only if they are the blob. A copied signature (another repository's name) or
    /// one with annotations is fetched as usual.
    fn predicted_payload(&self, layer: &Digest) -> Option<Bytes> {
        let repository = self.reference.repository();
        let registry = self.reference.registry();
        // go-containerregistry spells Docker Hub `index.docker.io`; cosign writes that name.
        let hub = (registry == crate::reference::DOCKER_HUB)
            .then(|| format!("index.docker.io/{repository}"));
        std::iter::once(format!("{registry}/{repository}"))
            .chain(hub)
            .map(|name| cosign_default_payload(&name, self.digest))
            .find(|payload| layer.matches(payload))
            .map(Bytes::from)
    }

    /// A manifest or blob named by its digest: from the cache, or fetched (digest checked by
    /// the client) and kept.
    async fn content(&self, digest: &Digest, kind: Content) -> Result<Bytes, Halt> {
        let (registry, repository) = (self.reference.registry(), self.reference.repository());
        if let Some(bytes) = self.blobs.get(registry, repository, digest) {
            return Ok(bytes);
        }
        let bytes = SharedCache::through(
            self.shared.map(|s| &s.tier),
            Key::blob(self.reference, digest),
            MAX_BLOB_VALUE,
            true,
            |value| blob_verdict(value, digest),
            |bytes: &Bytes| Some((bytes.to_vec(), BLOB_MAX_AGE)),
            || self.fetch_content(digest, kind),
        )
        .await?;
        self.blobs.put(registry, repository, digest, bytes.clone());
        Ok(bytes)
    }

    /// A manifest or blob from the registry, by digest (checked by the client).
    async fn fetch_content(&self, digest: &Digest, kind: Content) -> Result<Bytes, Halt> {
        self.spend()?;
        let bytes = match kind {
            Content::Manifest => {
                self.client
                    .get_manifest_limited(
                        self.reference,
                        digest.as_str(),
                        MAX_SIGNATURE_MANIFEST_BYTES,
                        self.credentials,
                    )
                    .await?
                    .bytes
            }
            Content::Blob => {
                self.client
                    .get_blob(self.reference, digest, MAX_PAYLOAD_BYTES, self.credentials)
                    .await?
            }
        };
        Ok(bytes)
    }

    async fn manifest_or_none(&self, tag: &str) -> Result<Option<Listed>, Halt> {
        self.listing(Key::listing_tag(self.reference, tag), || async {
            self.spend()?;
            match self
                .client
                .get_manifest_limited(
                    self.reference,
                    tag,
                    MAX_SIGNATURE_MANIFEST_BYTES,
                    self.credentials,
                )
                .await
            {
                Ok(Fetched {
                    bytes, served_by, ..
                }) => Ok(Some(Listed { bytes, served_by })),
                Err(cause) if cause.kind == CauseKind::NotFound => Ok(None),
                Err(cause) => Err(cause.into()),
            }
        })
        .await
    }

    /// A listing (None: the registry has none) through the shared tier: its entry if younger
    /// than the listing TTL, else `fetch`'s answer, kept for the others (a "not found" too).
    /// Only the bytes are shared: a listing read from the tier names no mirror.
    async fn listing<Fut>(
        &self,
        key: Key,
        fetch: impl FnOnce() -> Fut,
    ) -> Result<Option<Listed>, Halt>
    where
        Fut: Future<Output = Result<Option<Listed>, Halt>>,
    {
        let Some(shared) = self.shared else {
            return fetch().await;
        };
        let ttl = shared.listing_ttl;
        SharedCache::through(
            Some(&shared.tier),
            key,
            MAX_LISTING_VALUE,
            !ttl.is_zero(),
            |value| {
                listing_verdict(value, ttl, unix_ms_now()).map(|listed| {
                    listed.map(|bytes| Listed {
                        bytes,
                        served_by: None,
                    })
                })
            },
            |listed: &Option<Listed>| {
                let value = listing_value(unix_ms_now(), listed.as_ref().map(|l| &l.bytes[..]));
                Some((value, shared.tier.tag_max_age()))
            },
            fetch,
        )
        .await
    }
}

#[derive(Debug, Clone, Copy)]
enum Content {
    Manifest,
    Blob,
}

fn bundle_pendings(index: &[u8]) -> Result<Vec<Pending>, DigestCause> {
    Ok(bundle_manifests(index)?
        .into_iter()
        .map(Pending::BundleManifest)
        .collect())
}

/// What the `sha256-<hex>` tag lists: the bundle referrers of a referrers index, or the
/// bundle layers of an image manifest (a document is one or the other; each reading finds
/// nothing in the other).
fn referrers_tag_pendings(listing: &[u8]) -> Result<Vec<Pending>, DigestCause> {
    let mut pendings = bundle_pendings(listing)?;
    let manifest = Digest::sha256_of(listing);
    pendings.extend(
        bundle_layers(listing)?
            .into_iter()
            .map(|layer| Pending::BundleLayer {
                layer,
                manifest: manifest.clone(),
            }),
    );
    Ok(pendings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::bundle_media_types::BUNDLE_MEDIA_TYPES;

    fn digest(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    /// Every bundle media type the parser reads is recognised, in an index's `artifactType`
    /// and in a manifest's layer `mediaType`; other types are not.
    #[test]
    fn bundles_are_recognised_by_every_media_type_spelling() {
        let types = BUNDLE_MEDIA_TYPES.iter().chain(&[
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "application/vnd.dev.sigstore.bundle+json",
        ]);
        let entries: Vec<serde_json::Value> = types
            .clone()
            .enumerate()
            .map(|(i, t)| serde_json::json!({"mediaType": "x", "digest": digest(i as u8), "size": 10, "artifactType": t}))
            .collect();
        let index = serde_json::json!({"manifests": entries}).to_string();
        let expected: Vec<Digest> = (0..BUNDLE_MEDIA_TYPES.len())
            .map(|i| Digest::parse(&digest(i as u8)).unwrap())
            .collect();
        assert_eq!(bundle_manifests(index.as_bytes()).unwrap(), expected);

        let mut layers: Vec<serde_json::Value> = types
            .enumerate()
            .map(
                |(i, t)| serde_json::json!({"mediaType": t, "digest": digest(i as u8), "size": 10}),
            )
            .collect();
        // A bundle layer over the bound is not read.
        layers.push(
            serde_json::json!({"mediaType": BUNDLE_V03_MEDIA_TYPE, "digest": digest(99),
            "size": MAX_PAYLOAD_BYTES + 1}),
        );
        let manifest = serde_json::json!({"layers": layers}).to_string();
        assert_eq!(bundle_layers(manifest.as_bytes()).unwrap(), expected);
        // Each reading of the tag finds nothing in the other layout.
        assert!(bundle_layers(index.as_bytes()).unwrap().is_empty());
        assert!(bundle_manifests(manifest.as_bytes()).unwrap().is_empty());
    }
}
