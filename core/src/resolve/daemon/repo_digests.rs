//! Which of an image's `RepoDigests` belong to the reference being resolved.
//!
//! Docker keeps one entry per repository and pulled manifest. Podman lists the cross product
//! of every repository name and every manifest digest of an image ID, so an image that two
//! repositories share shows `a@X, a@Y, b@X, b@Y`; and a multi-arch pull shows both the index
//! and the platform manifest. Entries are compared after parsing (`nginx@…` and
//! `docker.io/library/nginx@…` are one repository); another repository's digest is never a
//! candidate.

use serde::Deserialize;

use crate::digest::Digest;
use crate::reference::Reference;

/// The part of `GET /images/{name}/json` read here (docker and podman's compat API).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ImageInspect {
    #[serde(rename = "Id", default)]
    pub(crate) id: String,
    #[serde(rename = "RepoDigests", default)]
    pub(crate) repo_digests: Option<Vec<String>>,
}

/// The part of podman's `GET /libpod/images/{name}/json` read here: the digest of the
/// manifest the image was first stored under (for a multi-arch pull, the index).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LibpodInspect {
    #[serde(rename = "Digest", default)]
    pub(crate) digest: Option<String>,
}

/// The part of `GET /distribution/{name}/json` read here (dockerd only).
#[derive(Debug, Deserialize)]
pub(crate) struct DistributionInspect {
    #[serde(rename = "Descriptor")]
    pub(crate) descriptor: Descriptor,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Descriptor {
    pub(crate) digest: String,
}

/// The distinct digests the image lists for `reference`'s registry and repository, in the
/// daemon's order.
pub(crate) fn candidates(image: &ImageInspect, reference: &Reference) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::new();
    for entry in image.repo_digests.iter().flatten() {
        let Ok(parsed) = Reference::parse(entry) else {
            continue;
        };
        let Some(digest) = parsed.digest() else {
            continue;
        };
        if parsed.registry() == reference.registry()
            && parsed.repository() == reference.repository()
            && !out.contains(digest)
        {
            out.push(digest.clone());
        }
    }
    out
}

/// Every repository (`registry/repository`) the image lists a digest for.
pub(crate) fn repositories(image: &ImageInspect) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for entry in image.repo_digests.iter().flatten() {
        if let Ok(parsed) = Reference::parse(entry) {
            let name = parsed.name();
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn only_this_repository_normalised() {
        let image = ImageInspect {
            id: "x".into(),
            repo_digests: Some(vec![
                format!("docker.io/library/other@{}", d('1')),
                format!("nginx@{}", d('2')),
                format!("docker.io/library/nginx@{}", d('2')),
                format!("docker.io/library/nginx@{}", d('3')),
                format!("127.0.0.1:5000/library/nginx@{}", d('4')),
                "<none>@<none>".into(),
            ]),
        };
        let r = Reference::parse("nginx:1.27").unwrap();
        let got: Vec<String> = candidates(&image, &r)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(got, vec![d('2'), d('3')]);
        let local = Reference::parse("127.0.0.1:5000/library/nginx:v1").unwrap();
        let got: Vec<String> = candidates(&image, &local)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(got, vec![d('4')]);
        assert!(candidates(&image, &Reference::parse("ghcr.io/a/b:c").unwrap()).is_empty());
        assert_eq!(repositories(&image).len(), 3);
    }

    #[test]
    fn missing_or_null_repo_digests() {
        let image: ImageInspect = serde_json::from_str(r#"{"Id":"x","RepoDigests":null}"#).unwrap();
        assert!(candidates(&image, &Reference::parse("a").unwrap()).is_empty());
        let image: ImageInspect = serde_json::from_str(r#"{"Id":"x"}"#).unwrap();
        assert!(candidates(&image, &Reference::parse("a").unwrap()).is_empty());
    }
}
