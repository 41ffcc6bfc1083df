//! The OCI documents signature discovery reads (a referrers index, a signature or attestation
//! manifest) and what each names: the bundle referrers, bundle layers, simple-signing or DSSE
//! layers with their annotations, within the payload bound. Parsing only, no I/O; the walk over
//! them is [`super::discovery`].

use serde::Deserialize;

use super::bundle_media_types::BUNDLE_MEDIA_TYPES;
/// Payloads, bundles and envelopes share the simple-signing payload's bound (1 MiB).
pub(crate) use super::payload::MAX_PAYLOAD_BYTES;
use crate::cause::{CauseKind, DigestCause};
use crate::digest::Digest;

/// Layer media type of a cosign legacy attestation (`.att` tag): a DSSE envelope.
pub(crate) const DSSE_ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";

/// Layer media type of a cosign simple-signing payload.
pub(crate) const SIMPLE_SIGNING_MEDIA_TYPE: &str =
    "application/vnd.dev.cosign.simplesigning.v1+json";
#[derive(Deserialize)]
pub(super) struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub(super) media_type: String,
    pub(super) digest: String,
    #[serde(default)]
    pub(super) size: u64,
    #[serde(rename = "artifactType", default)]
    pub(super) artifact_type: Option<String>,
    #[serde(default)]
    pub(super) annotations: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
pub(super) struct Index {
    #[serde(default)]
    pub(super) manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
pub(super) struct Manifest {
    #[serde(rename = "artifactType", default)]
    pub(super) artifact_type: Option<String>,
    #[serde(default)]
    pub(super) config: Option<Descriptor>,
    #[serde(default)]
    pub(super) layers: Vec<Descriptor>,
}

impl std::fmt::Debug for Descriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Descriptor({})", self.digest)
    }
}

/// Whether an OCI descriptor's media or artifact type names a sigstore bundle.
pub(super) fn is_bundle_type(media_type: &str) -> bool {
    BUNDLE_MEDIA_TYPES.contains(&media_type)
}

/// The referrer manifests of a referrers index (API answer or `sha256-<hex>` tag) that carry a
/// sigstore bundle.
pub fn bundle_manifests(index: &[u8]) -> Result<Vec<Digest>, DigestCause> {
    let index: Index = parse_json(index, "referrers index")?;
    Ok(index
        .manifests
        .into_iter()
        .filter(|d| d.artifact_type.as_deref().is_some_and(is_bundle_type))
        .filter_map(|d| Digest::parse(&d.digest).ok())
        .collect())
}

/// The bundle layers (within the bundle bound) of an image manifest stored under the
/// `sha256-<hex>` tag, the layout Talos also reads.
pub fn bundle_layers(manifest: &[u8]) -> Result<Vec<Digest>, DigestCause> {
    let manifest: Manifest = parse_json(manifest, "signature manifest")?;
    Ok(manifest
        .layers
        .into_iter()
        .filter(|l| is_bundle_type(&l.media_type) && l.size <= MAX_PAYLOAD_BYTES as u64)
        .filter_map(|l| Digest::parse(&l.digest).ok())
        .collect())
}

/// Annotations of one layer.
pub type Annotations = std::collections::HashMap<String, String>;

/// The simple-signing layers of a legacy `.sig` manifest (within the payload bound), with
/// their annotations.
pub fn legacy_layers(manifest: &[u8]) -> Result<Vec<(Digest, Annotations)>, DigestCause> {
    layers_of(manifest, SIMPLE_SIGNING_MEDIA_TYPE, "signature manifest")
}

/// The DSSE envelope layers of a legacy `.att` manifest (within the payload bound), with their
/// annotations.
pub fn attestation_layers(manifest: &[u8]) -> Result<Vec<(Digest, Annotations)>, DigestCause> {
    layers_of(manifest, DSSE_ENVELOPE_MEDIA_TYPE, "attestation manifest")
}

fn layers_of(
    manifest: &[u8],
    media_type: &str,
    what: &str,
) -> Result<Vec<(Digest, Annotations)>, DigestCause> {
    let manifest: Manifest = parse_json(manifest, what)?;
    Ok(manifest
        .layers
        .into_iter()
        .filter(|l| l.media_type == media_type && l.size <= MAX_PAYLOAD_BYTES as u64)
        .filter_map(|l| Digest::parse(&l.digest).ok().map(|d| (d, l.annotations)))
        .collect())
}

pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, DigestCause> {
    serde_json::from_slice(bytes).map_err(|e| {
        DigestCause::new(
            CauseKind::InvalidResponse,
            format!("{what} is not valid JSON: {e}"),
        )
    })
}
