//! `POST /images/create`: the `X-Registry-Auth` header and the progress stream.

use std::fmt;

use base64::Engine as _;
use bytes::BytesMut;
use hyper::header::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::digest::Digest;
use crate::error::{CauseKind, DigestCause};
use crate::reference::DOCKER_HUB;
use crate::registry::ConfiguredSecret;

/// Longest progress line accepted.
pub(crate) const MAX_LINE_BYTES: usize = 1024 * 1024;
/// Most progress bytes read from one pull (a large image sends a few MiB of progress).
pub(crate) const MAX_STREAM_BYTES: usize = 64 * 1024 * 1024;

/// The credentials a pull sends, whichever source they came from.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum PullAuth {
    Basic { username: String, password: String },
    IdentityToken(String),
}

impl fmt::Debug for PullAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PullAuth::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            PullAuth::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

impl From<&Credentials> for PullAuth {
    fn from(c: &Credentials) -> Self {
        PullAuth::Basic {
            username: c.username().to_owned(),
            password: c.password().to_owned(),
        }
    }
}

impl From<ConfiguredSecret> for PullAuth {
    fn from(s: ConfiguredSecret) -> Self {
        match s {
            ConfiguredSecret::Basic { username, password } => {
                PullAuth::Basic { username, password }
            }
            ConfiguredSecret::IdentityToken(token) => PullAuth::IdentityToken(token),
        }
    }
}

#[derive(Serialize)]
struct AuthConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identitytoken: Option<&'a str>,
    serveraddress: &'a str,
}

impl PullAuth {
    /// The `X-Registry-Auth` value for `registry` (reference form): base64url of the JSON
    /// auth config, as the docker CLI sends it. Marked sensitive so it is never logged.
    pub(crate) fn header(&self, registry: &str) -> HeaderValue {
        // The docker CLI names Docker Hub by its v1 index address.
        let serveraddress = if registry == DOCKER_HUB {
            "https://index.docker.io/v1/"
        } else {
            registry
        };
        let config = match self {
            PullAuth::Basic { username, password } => AuthConfig {
                username: Some(username),
                password: Some(password),
                identitytoken: None,
                serveraddress,
            },
            PullAuth::IdentityToken(token) => AuthConfig {
                username: None,
                password: None,
                identitytoken: Some(token),
                serveraddress,
            },
        };
        let json = serde_json::to_vec(&config).unwrap_or_default();
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(json);
        let mut value =
            HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""));
        value.set_sensitive(true);
        value
    }
}

/// One progress line. Only the fields that decide the outcome are read; `errorDetail.message`
/// is preferred over `error` (docker and podman send the same text in both today).
#[derive(Deserialize)]
struct Progress {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "errorDetail")]
    error_detail: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

/// Reads a pull's progress stream: JSON objects, one per line. A line with `error` or
/// `errorDetail` means the pull failed; docker's `"Digest: sha256:…"` status line says which
/// manifest (an index, for a multi-arch image) the pull pinned.
#[derive(Default)]
pub(crate) struct ProgressReader {
    pending: BytesMut,
    total: usize,
    /// The digest docker reported, if it did (podman does not).
    pub(crate) digest: Option<Digest>,
    /// The first error line's message.
    pub(crate) error: Option<String>,
}

impl ProgressReader {
    /// Feed a chunk of the stream.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<(), DigestCause> {
        self.total += chunk.len();
        if self.total > MAX_STREAM_BYTES {
            return Err(DigestCause::new(
                CauseKind::InvalidResponse,
                format!("the pull's progress stream exceeded {MAX_STREAM_BYTES} bytes"),
            ));
        }
        self.pending.extend_from_slice(chunk);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line = self.pending.split_to(end + 1);
            self.line(&line);
        }
        if self.pending.len() > MAX_LINE_BYTES {
            return Err(DigestCause::new(
                CauseKind::InvalidResponse,
                format!("a line of the pull's progress stream exceeded {MAX_LINE_BYTES} bytes"),
            ));
        }
        Ok(())
    }

    /// The stream ended: read what is left.
    pub(crate) fn finish(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        self.line(&rest);
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.trim_ascii();
        if line.is_empty() {
            return;
        }
        // A line that is not the expected JSON is progress noise, not an outcome.
        let Ok(progress) = serde_json::from_slice::<Progress>(line) else {
            return;
        };
        let detail = progress.error_detail.and_then(|d| d.message);
        if let Some(message) = detail.or(progress.error).filter(|m| !m.is_empty()) {
            if self.error.is_none() {
                self.error = Some(message);
            }
            return;
        }
        if let Some(status) = progress.status
            && let Some(digest) = status.strip_prefix("Digest: ")
            && let Ok(digest) = Digest::parse(digest.trim())
        {
            self.digest = Some(digest);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn auth_header_is_base64url_json_and_sensitive() {
        let auth = PullAuth::Basic {
            username: "bob".into(),
            password: "p?>~ss".into(),
        };
        let value = auth.header("127.0.0.1:5000");
        assert!(value.is_sensitive());
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(value.as_bytes())
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"username": "bob", "password": "p?>~ss", "serveraddress": "127.0.0.1:5000"})
        );
        let token = PullAuth::IdentityToken("tok".into()).header("docker.io");
        let decoded = base64::engine::general_purpose::URL_SAFE
            .decode(token.as_bytes())
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"identitytoken": "tok", "serveraddress": "https://index.docker.io/v1/"})
        );
        assert!(!format!("{auth:?}").contains("p?>~ss"));
    }

    #[test]
    fn progress_stream_in_odd_chunks() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let stream = format!(
            "{{\"status\":\"Pulling from test/index\",\"id\":\"v1\"}}\n\
             {{\"status\":\"Downloading\",\"progressDetail\":{{\"current\":1}}}}\r\n\
             not json\n\
             {{\"status\":\"Digest: {digest}\"}}\n\
             {{\"status\":\"Status: Downloaded newer image\"}}"
        );
        let mut reader = ProgressReader::default();
        for piece in stream.as_bytes().chunks(7) {
            reader.feed(piece).unwrap();
        }
        reader.finish();
        assert_eq!(reader.digest.unwrap().as_str(), digest);
        assert!(reader.error.is_none());
    }

    #[test]
    fn error_lines_win_and_the_first_is_kept() {
        let mut reader = ProgressReader::default();
        reader
            .feed(b"{\"status\":\"x\"}\n{\"progressDetail\":{},\"errorDetail\":{\"message\":\"denied: no\"},\"error\":\"denied: no\"}\n{\"errorDetail\":{\"message\":\"second\"}}")
            .unwrap();
        reader.finish();
        assert_eq!(reader.error.as_deref(), Some("denied: no"));
        let mut only_detail = ProgressReader::default();
        only_detail
            .feed(b"{\"errorDetail\":{\"message\":\"manifest unknown\"}}\n")
            .unwrap();
        assert_eq!(only_detail.error.as_deref(), Some("manifest unknown"));
    }

    #[test]
    fn bounds() {
        let mut reader = ProgressReader::default();
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        assert_eq!(
            reader.feed(&long).unwrap_err().kind,
            CauseKind::InvalidResponse
        );
    }
}
