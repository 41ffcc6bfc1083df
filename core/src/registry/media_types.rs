//! Manifest media types and the Accept list sent with every manifest request.

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Every manifest type we understand. Sending all four matters: a registry asked only for a
/// Docker v2 manifest silently answers a manifest list's amd64 child, and one asked for
/// nothing answers 404 for OCI manifests.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Whether `media_type` (a Content-Type value, parameters allowed) is one we asked for.
pub fn is_manifest(media_type: &str) -> bool {
    let base = media_type.split(';').next().unwrap_or("").trim();
    [
        OCI_INDEX,
        OCI_MANIFEST,
        DOCKER_MANIFEST_LIST,
        DOCKER_MANIFEST_V2,
    ]
    .contains(&base)
}
