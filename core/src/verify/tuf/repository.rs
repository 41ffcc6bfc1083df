//! Which TUF repository keeps a trusted root current, the root of trust it starts from, where
//! its copy is kept on disk and how often it is asked again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::TufError;

/// Sigstore's public-good TUF repository (its metadata at the root, targets under `targets/`).
pub const PUBLIC_GOOD_URL: &str = "https://tuf-repo-cdn.sigstore.dev";

/// The TUF `root.json` of [`PUBLIC_GOOD_URL`], embedded at build time from `core/trust/` (see
/// its README for provenance): where the chain of trust starts on the first refresh. An old
/// root is fine here: TUF walks forward from it, one signed root version at a time.
pub const PUBLIC_GOOD_ROOT_JSON: &[u8] = include_bytes!("../../../trust/public-good-tuf-root.json");

/// The Sigstore target a repository is asked for.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// How often a repository is asked again unless configured otherwise: once a day. Sigstore's
/// timestamp metadata is valid for a week, and refreshes also happen once half the time the
/// metadata is valid for has passed, whichever comes first.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// A TUF repository that keeps a verifier's trusted root current (see [`super`]).
#[derive(Clone, PartialEq, Eq)]
pub struct TufRepository {
    url: String,
    root_json: Vec<u8>,
    cache_dir: Option<PathBuf>,
    refresh_interval: Duration,
}

impl TufRepository {
    /// Sigstore's public-good repository, starting from the embedded `root.json`.
    pub fn public_good() -> TufRepository {
        TufRepository {
            url: PUBLIC_GOOD_URL.to_owned(),
            root_json: PUBLIC_GOOD_ROOT_JSON.to_vec(),
            cache_dir: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
        }
    }

    /// The repository at `url` (metadata at `url/`, targets at `url/targets/`), trusting the
    /// TUF `root.json` in `root_json` to start with. `url` must be http or https.
    pub fn new(url: &str, root_json: Vec<u8>) -> Result<TufRepository, TufError> {
        let url = url.trim_end_matches('/');
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| TufError::config(format!("TUF repository URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(TufError::config(format!(
                "TUF repository URL {url:?}: expected http:// or https:// without a query"
            )));
        }
        super::root_json::self_signed_root(&root_json)
            .map_err(|e| TufError::config(format!("TUF root for {url}: {e}")))?;
        Ok(TufRepository {
            url: url.to_owned(),
            root_json,
            cache_dir: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
        })
    }

    /// The repository at `url`, trusting the TUF `root.json` at `root_path`; without a path
    /// only Sigstore's public-good repository is accepted (its root is embedded).
    pub fn from_options(url: &str, root_path: Option<&Path>) -> Result<TufRepository, TufError> {
        match root_path {
            Some(path) => {
                let json = std::fs::read(path).map_err(|e| {
                    TufError::config(format!("cannot read TUF root {}: {e}", path.display()))
                })?;
                TufRepository::new(url, json)
                    .map_err(|e| TufError::config(format!("{}: {}", path.display(), e.0)))
            }
            None if url.trim_end_matches('/') == PUBLIC_GOOD_URL => {
                Ok(TufRepository::public_good())
            }
            None => Err(TufError::config(format!(
                "the TUF repository {url} needs its root.json (the tuf_root option, \
                 --tuf-root): only {PUBLIC_GOOD_URL}'s is built in"
            ))),
        }
    }

    /// Keep the verified copy under `dir` (default: [`default_cache_dir`]).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> TufRepository {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Ask the repository again at most this often (default [`DEFAULT_REFRESH_INTERVAL`],
    /// a day; zero: on every verify that needs the root, one refresh at a time).
    pub fn refresh_interval(mut self, interval: Duration) -> TufRepository {
        self.refresh_interval = interval;
        self
    }

    /// The repository's base URL, without a trailing `/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn root_json(&self) -> &[u8] {
        &self.root_json
    }

    pub(crate) fn interval(&self) -> Duration {
        self.refresh_interval
    }

    /// Whether this is Sigstore's public-good repository, whose target is also embedded (so a
    /// verifier has a root before its first refresh).
    pub(crate) fn is_public_good(&self) -> bool {
        self.url == PUBLIC_GOOD_URL
    }

    /// The directory this repository's files are kept in: the cache directory, then the URL
    /// with every byte but `[A-Za-z0-9.-]` percent-encoded (`https%3A%2F%2Ftuf-repo-cdn…`, as
    /// sigstore-python names it), so two repositories never share one.
    pub(crate) fn dir(&self) -> Result<PathBuf, TufError> {
        let base = match &self.cache_dir {
            Some(dir) => dir.clone(),
            None => default_cache_dir().ok_or_else(|| {
                TufError::config(
                    "no cache directory for TUF metadata: neither XDG_CACHE_HOME nor HOME is \
                     set; pass one (the tuf_cache_dir option, --tuf-cache-dir)",
                )
            })?,
        };
        let mut name = String::with_capacity(self.url.len() * 2);
        for byte in self.url.bytes() {
            if byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-' {
                name.push(char::from(byte));
            } else {
                name.push_str(&format!("%{byte:02X}"));
            }
        }
        Ok(base.join(name))
    }
}

impl std::fmt::Debug for TufRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TufRepository")
            .field("url", &self.url)
            .field("cache_dir", &self.cache_dir)
            .field("refresh_interval", &self.refresh_interval)
            .finish_non_exhaustive()
    }
}

/// `$XDG_CACHE_HOME/imagecheck/tuf`, else `$HOME/.cache/imagecheck/tuf` (the XDG base
/// directory default); None when neither variable is set to an absolute path.
pub fn default_cache_dir() -> Option<PathBuf> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .map(|cache| cache.join("imagecheck").join("tuf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_repository_has_a_directory_of_its_own() {
        let dir = |url: &str| {
            TufRepository::public_good()
                .cache_dir("/c")
                .clone_with_url(url)
                .dir()
                .unwrap_or_default()
        };
        assert_eq!(
            dir(PUBLIC_GOOD_URL),
            PathBuf::from("/c/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev")
        );
        assert_ne!(dir("http://127.0.0.1:1/a_b"), dir("http://127.0.0.1:1/a/b"));
    }

    #[test]
    fn a_repository_other_than_public_good_needs_its_root() {
        let error = TufRepository::from_options("https://tuf.example.com", None).unwrap_err();
        assert!(error.0.contains("needs its root.json"), "{error}");
        assert!(TufRepository::from_options(&format!("{PUBLIC_GOOD_URL}/"), None).is_ok());
        let error = TufRepository::new("ftp://x", PUBLIC_GOOD_ROOT_JSON.to_vec()).unwrap_err();
        assert!(error.0.contains("http://"), "{error}");
        let error = TufRepository::new("https://x", b"{}".to_vec()).unwrap_err();
        assert!(error.0.contains("TUF root for https://x"), "{error}");
    }

    #[test]
    fn the_embedded_public_good_root_signs_itself() {
        let root = super::super::root_json::self_signed_root(PUBLIC_GOOD_ROOT_JSON)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(root.signed.version.get() >= 15);
    }

    impl TufRepository {
        fn clone_with_url(mut self, url: &str) -> TufRepository {
            self.url = url.to_owned();
            self
        }
    }
}
