//! Content digests (`sha256:<64 hex>`, `sha512:<128 hex>`), as OCI descriptors spell them.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A validated content digest. Stored as its canonical text so that `as_str` is free, behind an
/// `Arc` so that handing out a cached digest does not allocate.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    text: std::sync::Arc<str>,
    /// Byte offset of the `:` separating algorithm and hex.
    colon: usize,
}

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("digest has no algorithm prefix (expected \"sha256:<hex>\")")]
    MissingAlgorithm,
    #[error("unsupported digest algorithm {0:?} (supported: sha256, sha512)")]
    UnsupportedAlgorithm(String),
    #[error("{algorithm} digest must have {expected} hex characters, found {found}")]
    WrongLength {
        algorithm: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("digest hex must be lowercase hexadecimal")]
    NotHex,
}

impl Digest {
    /// Parse `algorithm:hex`, checking the algorithm and the hex length.
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let colon = text.find(':').ok_or(DigestError::MissingAlgorithm)?;
        let (algorithm, hex) = (&text[..colon], &text[colon + 1..]);
        let (name, expected) = match algorithm {
            "sha256" => ("sha256", 64),
            "sha512" => ("sha512", 128),
            "" => return Err(DigestError::MissingAlgorithm),
            other => return Err(DigestError::UnsupportedAlgorithm(other.to_owned())),
        };
        if hex.len() != expected {
            return Err(DigestError::WrongLength {
                algorithm: name,
                expected,
                found: hex.len(),
            });
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::NotHex);
        }
        Ok(Digest {
            text: text.into(),
            colon,
        })
    }

    /// An equal digest in an allocation of its own, so that cloning it never touches the
    /// reference count other threads are using (see the resolver's per-thread cache).
    pub(crate) fn unshared(&self) -> Self {
        Digest {
            text: self.text.as_ref().into(),
            colon: self.colon,
        }
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        Digest {
            text: format!("sha256:{}", hex::encode(hash)).into(),
            colon: 6,
        }
    }

    /// `sha256` or `sha512`.
    pub fn algorithm(&self) -> &str {
        &self.text[..self.colon]
    }

    /// The lowercase hex part.
    pub fn hex(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// The canonical `algorithm:hex` text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        match self.algorithm() {
            "sha256" => hex::encode(Sha256::digest(bytes)) == self.hex(),
            "sha512" => hex::encode(sha2::Sha512::digest(bytes)) == self.hex(),
            _ => false,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.text)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_checks() {
        let hex = "a".repeat(64);
        let d = Digest::parse(&format!("sha256:{hex}")).expect("valid sha256 digest");
        assert_eq!(d.algorithm(), "sha256");
        assert_eq!(d.hex(), hex);
        assert!(matches!(
            Digest::parse("sha256:abc"),
            Err(DigestError::WrongLength { found: 3, .. })
        ));
        assert_eq!(
            Digest::parse(&"a".repeat(64)),
            Err(DigestError::MissingAlgorithm)
        );
        assert!(matches!(
            Digest::parse(&format!("md5:{hex}")),
            Err(DigestError::UnsupportedAlgorithm(_))
        ));
        assert_eq!(
            Digest::parse(&format!("sha256:{}", "A".repeat(64))),
            Err(DigestError::NotHex)
        );
        assert!(Digest::parse(&format!("sha512:{}", "0".repeat(128))).is_ok());
    }

    #[test]
    fn hashes_bytes() {
        let d = Digest::sha256_of(b"");
        assert_eq!(
            d.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(d.matches(b""));
        assert!(!d.matches(b"x"));
    }
}
