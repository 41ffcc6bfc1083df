//! Signature discovery: find the signatures stored for an image digest, one at a time, so the
//! first valid one stops further I/O.
//!
//! Sources, in DESIGN.md's order: OCI referrers with the sigstore bundle artifact type
//! (cosign v3), the `sha256-<hex>` referrers tag fallback (registries without the referrers
//! API), then the legacy `sha256-<hex>.sig` tag (cosign simple signing). Bounds: manifests
//! 128 KiB, bundles and payloads 1 MiB, 100 signatures in all.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::Deserialize;

use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::{CauseKind, DigestCause};
use crate::reference::Reference;
use crate::registry::RegistryClient;

/// Artifact type (and layer media type) of a sigstore bundle v0.3.
pub const BUNDLE_V03_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Layer media type of a cosign simple-signing payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Annotation holding the base64 signature of a legacy layer.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const REKOR_BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";

pub const MAX_MANIFEST_BYTES: usize = 128 * 1024;
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
pub const MAX_SIGNATURES: usize = 100;

/// Where a signature was found; also the order sources are tried in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureSource {
    Referrers,
    ReferrersTag,
    LegacyTag,
}

impl SignatureSource {
    pub const ORDER: [SignatureSource; 3] = [
        SignatureSource::Referrers,
        SignatureSource::ReferrersTag,
        SignatureSource::LegacyTag,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            SignatureSource::Referrers => "OCI referrers API",
            SignatureSource::ReferrersTag => "sha256-<hex> referrers tag",
            SignatureSource::LegacyTag => "sha256-<hex>.sig tag",
        }
    }
}

/// A legacy cosign signature: one layer of the `.sig` manifest.
#[derive(Debug, Clone)]
pub struct LegacySignature {
    /// The exact payload bytes the signature is over.
    pub payload: Bytes,
    /// Base64 signature from the layer annotation.
    pub signature: String,
    pub certificate: Option<String>,
    pub chain: Option<String>,
    /// The Rekor bundle (SET) annotation, JSON text.
    pub rekor_bundle: Option<String>,
    pub layer_digest: Digest,
}

/// A sigstore bundle (v0.3 JSON) found as a referrer.
#[derive(Debug, Clone)]
pub struct BundleSignature {
    pub json: Bytes,
    /// The referrer manifest that carried it.
    pub manifest_digest: Digest,
}

/// One stored signature to check.
#[derive(Debug, Clone)]
pub enum Candidate {
    Legacy(LegacySignature),
    Bundle(BundleSignature),
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(rename = "artifactType", default)]
    artifact_type: Option<String>,
    #[serde(default)]
    annotations: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(rename = "artifactType", default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// Walks the signature sources of one image digest lazily.
#[derive(Debug)]
pub struct SignatureWalker<'a> {
    client: &'a RegistryClient,
    reference: &'a Reference,
    digest: &'a Digest,
    credentials: Option<&'a Credentials>,
    sources: VecDeque<SignatureSource>,
    current: Option<SignatureSource>,
    pending: VecDeque<Pending>,
    yielded: usize,
}

#[derive(Debug)]
enum Pending {
    /// A referrer manifest to fetch, then its bundle layer.
    BundleManifest(Digest),
    /// A legacy layer (payload blob) with its annotations.
    LegacyLayer {
        digest: Digest,
        annotations: Annotations,
    },
}

impl std::fmt::Debug for Descriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Descriptor({})", self.digest)
    }
}

impl<'a> SignatureWalker<'a> {
    /// Walk `order` (normally [`SignatureSource::ORDER`]) for `digest` in `reference`'s
    /// repository.
    pub fn new(
        client: &'a RegistryClient,
        reference: &'a Reference,
        digest: &'a Digest,
        credentials: Option<&'a Credentials>,
        order: &[SignatureSource],
    ) -> Self {
        SignatureWalker {
            client,
            reference,
            digest,
            credentials,
            sources: order.iter().copied().collect(),
            current: None,
            pending: VecDeque::new(),
            yielded: 0,
        }
    }

    /// The next candidate and where it came from; None when every source is exhausted or
    /// the bound of [`MAX_SIGNATURES`] is reached. A registry error other than "not found"
    /// ends the walk with that cause.
    pub async fn next(&mut self) -> Result<Option<(SignatureSource, Candidate)>, DigestCause> {
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
            let Some(source) = self.sources.pop_front() else {
                return Ok(None);
            };
            self.current = Some(source);
            match source {
                SignatureSource::Referrers => self.list_referrers().await?,
                SignatureSource::ReferrersTag => self.list_referrers_tag().await?,
                SignatureSource::LegacyTag => self.list_legacy().await?,
            }
        }
    }

    async fn list_referrers(&mut self) -> Result<(), DigestCause> {
        let index = self
            .client
            .get_referrers(
                self.reference,
                self.digest,
                BUNDLE_V03_MEDIA_TYPE,
                MAX_MANIFEST_BYTES,
                self.credentials,
            )
            .await?;
        // None: the registry has no referrers API (404); the tag fallback comes next.
        let Some(index) = index else {
            return Ok(());
        };
        self.queue_bundle_manifests(&index)
    }

    async fn list_referrers_tag(&mut self) -> Result<(), DigestCause> {
        let tag = format!("{}-{}", self.digest.algorithm(), self.digest.hex());
        let Some(index) = self.manifest_or_none(&tag).await? else {
            return Ok(());
        };
        self.queue_bundle_manifests(&index)
    }

    fn queue_bundle_manifests(&mut self, index: &[u8]) -> Result<(), DigestCause> {
        for digest in bundle_manifests(index)? {
            self.pending.push_back(Pending::BundleManifest(digest));
        }
        Ok(())
    }

    async fn list_legacy(&mut self) -> Result<(), DigestCause> {
        let tag = format!("{}-{}.sig", self.digest.algorithm(), self.digest.hex());
        let Some(manifest) = self.manifest_or_none(&tag).await? else {
            return Ok(());
        };
        let manifest: Manifest = parse_json(&manifest, "signature manifest")?;
        for layer in manifest.layers {
            if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE
                || layer.size > MAX_PAYLOAD_BYTES as u64
            {
                continue;
            }
            if let Ok(digest) = Digest::parse(&layer.digest) {
                self.pending.push_back(Pending::LegacyLayer {
                    digest,
                    annotations: layer.annotations,
                });
            }
        }
        Ok(())
    }

    async fn fetch(&mut self, pending: Pending) -> Result<Option<Candidate>, DigestCause> {
        match pending {
            Pending::BundleManifest(manifest_digest) => {
                let Some(bytes) = self.manifest_or_none(manifest_digest.as_str()).await? else {
                    return Ok(None);
                };
                let manifest: Manifest = parse_json(&bytes, "referrer manifest")?;
                let is_bundle = manifest.artifact_type.as_deref() == Some(BUNDLE_V03_MEDIA_TYPE)
                    || manifest
                        .config
                        .as_ref()
                        .is_some_and(|c| c.media_type == BUNDLE_V03_MEDIA_TYPE);
                let layer = manifest
                    .layers
                    .iter()
                    .find(|l| l.media_type == BUNDLE_V03_MEDIA_TYPE || is_bundle);
                let Some(layer) = layer else { return Ok(None) };
                let Ok(layer_digest) = Digest::parse(&layer.digest) else {
                    return Ok(None);
                };
                let json = self
                    .client
                    .get_blob(
                        self.reference,
                        &layer_digest,
                        MAX_PAYLOAD_BYTES,
                        self.credentials,
                    )
                    .await?;
                Ok(Some(Candidate::Bundle(BundleSignature {
                    json,
                    manifest_digest,
                })))
            }
            Pending::LegacyLayer {
                digest,
                mut annotations,
            } => {
                let Some(signature) = annotations.remove(SIGNATURE_ANNOTATION) else {
                    return Ok(None);
                };
                let payload = self
                    .client
                    .get_blob(self.reference, &digest, MAX_PAYLOAD_BYTES, self.credentials)
                    .await?;
                Ok(Some(Candidate::Legacy(LegacySignature {
                    payload,
                    signature,
                    certificate: annotations.remove(CERTIFICATE_ANNOTATION),
                    chain: annotations.remove(CHAIN_ANNOTATION),
                    rekor_bundle: annotations.remove(REKOR_BUNDLE_ANNOTATION),
                    layer_digest: digest,
                })))
            }
        }
    }

    async fn manifest_or_none(&self, tag_or_digest: &str) -> Result<Option<Bytes>, DigestCause> {
        match self
            .client
            .get_manifest_limited(
                self.reference,
                tag_or_digest,
                MAX_MANIFEST_BYTES,
                self.credentials,
            )
            .await
        {
            Ok(fetched) => Ok(Some(fetched.bytes)),
            Err(cause) if cause.kind == CauseKind::NotFound => Ok(None),
            Err(cause) => Err(cause),
        }
    }
}

/// The referrer manifests of a referrers index (API answer or `sha256-<hex>` tag) that carry a
/// sigstore bundle.
pub fn bundle_manifests(index: &[u8]) -> Result<Vec<Digest>, DigestCause> {
    let index: Index = parse_json(index, "referrers index")?;
    Ok(index
        .manifests
        .into_iter()
        .filter(|d| d.artifact_type.as_deref() == Some(BUNDLE_V03_MEDIA_TYPE))
        .filter_map(|d| Digest::parse(&d.digest).ok())
        .collect())
}

/// Annotations of one layer.
pub type Annotations = std::collections::HashMap<String, String>;

/// The simple-signing layers of a legacy `.sig` manifest (within the payload bound), with
/// their annotations.
pub fn legacy_layers(manifest: &[u8]) -> Result<Vec<(Digest, Annotations)>, DigestCause> {
    let manifest: Manifest = parse_json(manifest, "signature manifest")?;
    Ok(manifest
        .layers
        .into_iter()
        .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE && l.size <= MAX_PAYLOAD_BYTES as u64)
        .filter_map(|l| Digest::parse(&l.digest).ok().map(|d| (d, l.annotations)))
        .collect())
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, DigestCause> {
    serde_json::from_slice(bytes).map_err(|e| {
        DigestCause::new(
            CauseKind::InvalidResponse,
            format!("{what} is not valid JSON: {e}"),
        )
    })
}
