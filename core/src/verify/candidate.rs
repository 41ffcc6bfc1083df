//! What discovery finds: where a signature was found ([`SignatureSource`], also the order the
//! sources are tried in) and the candidates it hands to the checks, as read from the registry
//! and not yet trusted.

use bytes::Bytes;

use crate::digest::Digest;

/// Where a signature was found; also the order sources are tried in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureSource {
    /// The OCI referrers API (cosign v3 bundles).
    Referrers,
    /// The `sha256-<hex>` tag standing in for the referrers API: a referrers index, or an image
    /// manifest whose layers are bundles.
    ReferrersTag,
    /// The legacy `sha256-<hex>.sig` tag (cosign simple signing).
    LegacyTag,
    /// The legacy `sha256-<hex>.att` tag (cosign attestations as DSSE envelopes), read only for
    /// a rule that requires attestations.
    AttestationTag,
}

impl SignatureSource {
    pub(crate) const ORDER: [SignatureSource; 3] = [
        SignatureSource::Referrers,
        SignatureSource::ReferrersTag,
        SignatureSource::LegacyTag,
    ];

    /// The stable name every binding and the CLI's `--json` use: `referrers`,
    /// `referrers_tag`, `legacy_tag`, `attestation_tag`.
    pub const fn name(self) -> &'static str {
        match self {
            SignatureSource::Referrers => "referrers",
            SignatureSource::ReferrersTag => "referrers_tag",
            SignatureSource::LegacyTag => "legacy_tag",
            SignatureSource::AttestationTag => "attestation_tag",
        }
    }

    /// For people: `sha256-<hex>.sig tag`.
    pub fn describe(self) -> &'static str {
        match self {
            SignatureSource::Referrers => "OCI referrers API",
            SignatureSource::ReferrersTag => "sha256-<hex> referrers tag",
            SignatureSource::LegacyTag => "sha256-<hex>.sig tag",
            SignatureSource::AttestationTag => "sha256-<hex>.att tag",
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

/// A legacy cosign attestation: one layer of the `.att` manifest, a DSSE envelope (JSON) with
/// the signing material in the layer's annotations, as on a `.sig` layer.
#[derive(Debug, Clone)]
pub struct LegacyAttestation {
    /// The DSSE envelope JSON: `{payloadType, payload, signatures: [{sig}]}`.
    pub envelope: Bytes,
    pub certificate: Option<String>,
    pub chain: Option<String>,
    /// The Rekor bundle (SET) annotation, JSON text.
    pub rekor_bundle: Option<String>,
    pub layer_digest: Digest,
}

/// A sigstore bundle (v0.1–v0.3 JSON) found as a referrer or a layer of the referrers tag.
#[derive(Debug, Clone)]
pub struct BundleSignature {
    pub json: Bytes,
    /// The manifest that carried it (a referrer, or the `sha256-<hex>` tag's manifest).
    pub manifest_digest: Digest,
}

/// One stored signature to check.
#[derive(Debug, Clone)]
pub enum Candidate {
    Legacy(LegacySignature),
    Bundle(BundleSignature),
    /// An attestation of the `.att` tag (never a signature of the image).
    LegacyAttestation(LegacyAttestation),
}
