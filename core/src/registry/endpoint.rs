//! Where one request goes: a registry's own API, or a mirror of it, with the repository as that
//! host names it, and the URL of each kind of request there.

use std::fmt;

use crate::digest::Digest;
use crate::reference::Reference;

/// What a request asks for, for URLs, messages and the per-status causes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    Manifest(&'a str),
    Blob(&'a Digest),
    /// The OCI referrers API for a manifest digest, filtered by artifact type.
    Referrers(&'a Digest, &'a str),
}

/// One host a request may be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `host[:port]` connected to (Docker Hub's API host for `docker.io`).
    pub(crate) host: String,
    /// The registry this host is, in canonical form: per-call credentials apply, and configured
    /// ones are looked up, for it and no other.
    pub(crate) registry: String,
    /// The repository as this host names it (a mirror may hold it under another path).
    pub(crate) repository: String,
    pub(crate) plain_http: bool,
    /// The path the distribution API lives under: `/v2`, or a mirror's own (`/cache/v2`, or any
    /// path with containerd's `override_path`).
    pub(crate) api_root: String,
    /// The TLS settings to connect with (an index into the client's profiles; 0 is the
    /// platform's trust store).
    pub(crate) tls: usize,
    /// A mirror, not the reference's own registry.
    pub(crate) mirror: bool,
}

/// The API root of a registry that follows the distribution spec.
pub(crate) const STANDARD_API_ROOT: &str = "/v2";

impl Endpoint {
    /// `reference`'s own registry, as the reference names it.
    pub(crate) fn source(reference: &Reference, plain_http: bool) -> Self {
        Endpoint {
            host: reference.api_host().to_owned(),
            registry: reference.registry().to_owned(),
            repository: reference.repository().to_owned(),
            plain_http,
            api_root: STANDARD_API_ROOT.to_owned(),
            tls: 0,
            mirror: false,
        }
    }

    /// The host a rewritten name (a mirror's, or a registry's configured location) points at.
    pub(crate) fn named(name: &Reference, plain_http: bool, mirror: bool) -> Self {
        Endpoint {
            mirror,
            ..Endpoint::source(name, plain_http)
        }
    }

    pub(crate) fn url(&self, target: Target<'_>) -> String {
        let scheme = if self.plain_http { "http" } else { "https" };
        let base = format!(
            "{scheme}://{}{}/{}",
            self.host, self.api_root, self.repository
        );
        match target {
            Target::Manifest(t) => format!("{base}/manifests/{t}"),
            Target::Blob(d) => format!("{base}/blobs/{d}"),
            Target::Referrers(d, artifact_type) => {
                // `+` in a media type must be escaped in a query string.
                format!(
                    "{base}/referrers/{d}?artifactType={}",
                    artifact_type.replace('+', "%2B")
                )
            }
        }
    }
}

impl fmt::Display for Endpoint {
    /// `mirror 10.0.0.5:5000` or `ghcr.io`: how messages name the host that answered.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mirror {
            write!(f, "mirror {}", self.host)
        } else {
            f.write_str(&self.host)
        }
    }
}
