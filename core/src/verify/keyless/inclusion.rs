//! Merkle inclusion proofs (RFC 9162 §2.1.3.2) and their signed checkpoints (the
//! transparency-dev "signed note" format), checked offline against the log key of the trust
//! root, the checkpoint's origin against the log's `baseUrl`. This is how Rekor v2 entries,
//! which carry no SET, are proven to be in the log. Such an entry has no signed time of its
//! own: the caller checks the log key's `validFor` at the bundle's verified signing times.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use crate::verify::trusted_root::TransparencyLog;

/// Why an inclusion proof does not prove its entry is in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InclusionError {
    /// The proof or its checkpoint cannot be read: what is missing or malformed.
    #[error("{0}")]
    Malformed(&'static str),
    /// `logIndex` or `treeSize` is not an integer.
    #[error("inclusion proof: {0} is not an integer")]
    NotInteger(&'static str),
    /// The proof's index is not inside its tree.
    #[error("the inclusion proof's index is outside its tree")]
    IndexOutsideTree,
    /// The proof has more hashes than the path from the leaf to the root.
    #[error("the inclusion proof is too long")]
    TooLong,
    /// The proof has fewer hashes than the path from the leaf to the root.
    #[error("the inclusion proof is too short")]
    TooShort,
    /// The leaf and the proof's hashes lead to another root than the proof names.
    #[error("the inclusion proof does not lead to its root hash")]
    WrongRoot,
    /// No signature of the checkpoint verifies with the log's key.
    #[error("the checkpoint is not signed by the log's key")]
    NotSignedByLog,
    /// The checkpoint is for another tree size or root than the proof.
    #[error("the checkpoint is for another tree than the inclusion proof")]
    OtherTree,
    /// The trust root gives the log no `baseUrl` to compare the origin with.
    #[error(
        "the trust root gives log {log_id} no baseUrl, so the checkpoint's origin cannot be \
         checked; add the log's baseUrl to the trusted root"
    )]
    NoBaseUrl {
        /// The log's ID, in hex.
        log_id: String,
    },
    /// The checkpoint's origin names another log.
    #[error("the checkpoint's origin {origin:?} is not the log {base_url}")]
    WrongOrigin {
        /// The origin line (its first 120 characters).
        origin: String,
        /// The log's `baseUrl`.
        base_url: String,
    },
}

/// An entry's inclusion proof and the checkpoint it leads to.
#[derive(Debug, Clone)]
pub(crate) struct InclusionProof {
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Vec<u8>,
    pub hashes: Vec<Vec<u8>>,
    pub checkpoint: String,
}

fn b64(text: &str) -> Result<Vec<u8>, InclusionError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| InclusionError::Malformed("inclusion proof: bad base64"))
}

fn int(v: &serde_json::Value, key: &'static str) -> Result<u64, InclusionError> {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        None => Some(0),
        _ => None,
    }
    .ok_or(InclusionError::NotInteger(key))
}

impl InclusionProof {
    /// Read a bundle's `inclusionProof` object.
    pub(crate) fn from_json(v: &serde_json::Value) -> Result<InclusionProof, InclusionError> {
        let text = |key: &str| v.get(key).and_then(serde_json::Value::as_str);
        Ok(InclusionProof {
            log_index: int(v, "logIndex")?,
            tree_size: int(v, "treeSize")?,
            root_hash: b64(text("rootHash")
                .ok_or(InclusionError::Malformed("inclusion proof has no rootHash"))?)?,
            hashes: v
                .get("hashes")
                .and_then(serde_json::Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|h| b64(h.as_str().unwrap_or_default()))
                        .collect()
                })
                .transpose()?
                .unwrap_or_default(),
            checkpoint: v
                .pointer("/checkpoint/envelope")
                .and_then(serde_json::Value::as_str)
                .ok_or(InclusionError::Malformed(
                    "inclusion proof has no checkpoint",
                ))?
                .to_owned(),
        })
    }

    /// Check that `body` is the leaf at `log_index` of the tree whose root the proof gives, and
    /// that `log` signed a checkpoint for that tree.
    pub(crate) fn verify(&self, body: &[u8], log: &TransparencyLog) -> Result<(), InclusionError> {
        let leaf: [u8; 32] = Sha256::new()
            .chain_update([0u8])
            .chain_update(body)
            .finalize()
            .into();
        let root = root_from_proof(self.log_index, self.tree_size, leaf, &self.hashes)?;
        if root.as_slice() != self.root_hash {
            return Err(InclusionError::WrongRoot);
        }
        let (size, checkpoint_root) = verify_checkpoint(&self.checkpoint, log)?;
        if size != self.tree_size || checkpoint_root != self.root_hash {
            return Err(InclusionError::OtherTree);
        }
        Ok(())
    }
}

fn node(left: &[u8], right: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// RFC 9162 §2.1.3.2.
fn root_from_proof(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    proof: &[Vec<u8>],
) -> Result<[u8; 32], InclusionError> {
    if index >= size {
        return Err(InclusionError::IndexOutsideTree);
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf;
    for p in proof {
        if p.len() != 32 {
            return Err(InclusionError::Malformed(
                "an inclusion proof hash is not 32 bytes",
            ));
        }
        if s == 0 {
            return Err(InclusionError::TooLong);
        }
        if f & 1 == 1 || f == s {
            r = node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(InclusionError::TooShort);
    }
    Ok(r)
}

/// Verify a signed note checkpoint with the log's key; return its tree size and root hash.
fn verify_checkpoint(note: &str, log: &TransparencyLog) -> Result<(u64, Vec<u8>), InclusionError> {
    let split = note.find("\n\n").ok_or(InclusionError::Malformed(
        "the checkpoint is not a signed note",
    ))?;
    let (text, signatures) = (&note[..=split], &note[split + 2..]);
    let mut lines = text.lines();
    let origin = lines
        .next()
        .ok_or(InclusionError::Malformed("empty checkpoint"))?;
    let size: u64 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or(InclusionError::Malformed("the checkpoint has no tree size"))?;
    let root = lines
        .next()
        .map(b64)
        .transpose()?
        .ok_or(InclusionError::Malformed("the checkpoint has no root hash"))?;
    let signed = signatures.lines().any(|line| {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return false;
        };
        let Some((_name, sig)) = rest.rsplit_once(' ') else {
            return false;
        };
        let Ok(sig) = b64(sig) else {
            return false;
        };
        // 4-byte key hint, then the signature.
        sig.len() > 4 && log.key.verify(text.as_bytes(), &sig[4..]).is_ok()
    });
    if !signed {
        return Err(InclusionError::NotSignedByLog);
    }
    check_origin(origin, log)?;
    Ok((size, root))
}

/// The checkpoint's origin line must name `log`: a checkpoint is a statement about one log,
/// and a key that signs for several logs (or shards) must not let one log's tree stand for
/// another's.
///
/// Compared with the host of the log's `baseUrl`, case-insensitively. Rekor v2 (the
/// transparency-dev signed-note format) writes that host (`log2025-1.rekor.sigstore.dev` for
/// https://log2025-1.rekor.sigstore.dev), which is what sigstore-go requires of a v2 checkpoint.
/// Rekor v1 writes `<host> - <tree id>` (`rekor.sigstore.dev - 1193050959916656506`);
/// sigstore-go does not compare a v1 origin at all, we require its host part to be the log's
/// too. The host may carry the URL's port, as `localhost:8000 - …` does for a log at
/// http://localhost:8000.
fn check_origin(origin: &str, log: &TransparencyLog) -> Result<(), InclusionError> {
    if log.base_url.is_empty() {
        return Err(InclusionError::NoBaseUrl {
            log_id: hex::encode(&log.log_id),
        });
    }
    if origin_names(origin, &log.base_url) {
        return Ok(());
    }
    Err(InclusionError::WrongOrigin {
        origin: origin.chars().take(120).collect(),
        base_url: log.base_url.clone(),
    })
}

/// Whether `origin` (`<host>` or `<host> - <tree id>`) names the log at `base_url`.
fn origin_names(origin: &str, base_url: &str) -> bool {
    let named = origin
        .split_once(" - ")
        .filter(|(_, tree)| !tree.is_empty() && tree.bytes().all(|b| b.is_ascii_digit()))
        .map_or(origin, |(host, _)| host);
    let authority = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    !named.is_empty() && (named.eq_ignore_ascii_case(authority) || named.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_names_the_host_of_the_log() {
        for (origin, base_url) in [
            (
                "log2025-1.rekor.sigstore.dev",
                "https://log2025-1.rekor.sigstore.dev",
            ),
            (
                "rekor.sigstore.dev - 1193050959916656506",
                "https://rekor.sigstore.dev",
            ),
            ("Rekor.Sigstore.dev - 1", "https://rekor.sigstore.dev/"),
            ("localhost:8000 - 209406721089291", "http://localhost:8000"),
            ("rekor-local", "http://rekor-local:3000/api"),
            ("[::1]:3000", "http://[::1]:3000"),
        ] {
            assert!(origin_names(origin, base_url), "{origin} / {base_url}");
        }
        for (origin, base_url) in [
            (
                "log2025-2.rekor.sigstore.dev",
                "https://log2025-1.rekor.sigstore.dev",
            ),
            ("rekor.sigstore.dev - 1", "https://rekor.sigstage.dev"),
            ("rekor.sigstore.dev - x1", "https://rekor.sigstore.dev"),
            ("rekor.sigstore.dev.evil", "https://rekor.sigstore.dev"),
            ("", "https://rekor.sigstore.dev"),
            ("localhost:8001", "http://localhost:8000"),
        ] {
            assert!(!origin_names(origin, base_url), "{origin} / {base_url}");
        }
    }

    #[test]
    fn proof_of_a_four_leaf_tree() {
        let leaves: Vec<[u8; 32]> = (0u8..4)
            .map(|i| Sha256::new().chain_update([0, i]).finalize().into())
            .collect();
        let n01 = node(&leaves[0], &leaves[1]);
        let n23 = node(&leaves[2], &leaves[3]);
        let root = node(&n01, &n23);
        let proof = vec![leaves[3].to_vec(), n01.to_vec()];
        assert_eq!(root_from_proof(2, 4, leaves[2], &proof).unwrap(), root);
        assert_ne!(root_from_proof(2, 4, leaves[1], &proof).unwrap(), root);
        assert!(root_from_proof(4, 4, leaves[2], &proof).is_err());
        assert!(root_from_proof(2, 4, leaves[2], &proof[..1]).is_err());
    }
}
