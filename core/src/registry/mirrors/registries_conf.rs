//! containers-registries.conf(5), version 2 (and version 1's `insecure` and `block` lists, as
//! the containers tools convert them), with the `*.conf` drop-ins of `registries.conf.d/`.
//!
//! Read: `[[registry]]` `prefix` (or `location` when it has none; `*.example.com` matches
//! sub-domains), `location`, `insecure`, `blocked`, `mirror-by-digest-only`, and
//! `[[registry.mirror]]` `location`, `insecure`, `pull-from-mirror` (`all`, `digest-only`,
//! `tag-only`). The entry with the longest prefix matching `registry/repository` decides;
//! each endpoint's name is the reference's with the prefix replaced by the endpoint's
//! location. Drop-ins are read in name order after the main file; an entry of a later file
//! replaces one with the same prefix. Host names in prefixes and locations are compared in
//! their canonical spelling, as references are (`INDEX.DOCKER.IO` is `docker.io`).
//!
//! Not ours, ignored: `unqualified-search-registries` (imagecheck never resolves a short name
//! against a search list: a name without a registry is Docker Hub's, as for docker and
//! containerd), `short-name-mode`, `[aliases]`, `credential-helpers`.
//!
//! Differences from the containers tools, on purpose: `insecure = true` means plain HTTP here,
//! as for `--insecure-registry` (they try HTTPS without verification first); the drop-in
//! directory is the `registries.conf.d` beside the file read (they read the system's whatever
//! file is named), so a named file brings its own drop-ins and nothing else.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::problem;
use crate::reference::{Reference, canonical_registry};
use crate::registry::endpoint::Endpoint;

use super::Lookup;

/// Every entry of the files read, by prefix (later files replaced earlier ones).
#[derive(Debug, Default)]
pub(super) struct RegistriesConf {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Canonical: `host[:port][/path]`, or `*.domain` for sub-domains.
    prefix: String,
    /// Where the registry itself is (None only for a wildcard prefix: the name as written).
    location: Option<String>,
    insecure: bool,
    blocked: bool,
    mirror_by_digest_only: bool,
    mirrors: Vec<Mirror>,
    /// `FILE ([[registry]] prefix = "…")`, for messages.
    origin: Arc<str>,
}

#[derive(Debug, Clone)]
struct Mirror {
    location: String,
    insecure: bool,
    pull_from: PullFrom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PullFrom {
    All,
    DigestOnly,
    TagOnly,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct FileV2 {
    #[serde(default)]
    registry: Vec<RawRegistry>,
    #[serde(default)]
    unqualified_search_registries: Option<Vec<String>>,
    /// Version 1: `[registries.search]`, `[registries.insecure]`, `[registries.block]`.
    #[serde(default)]
    registries: Option<FileV1>,
}

#[derive(Deserialize, Default)]
struct FileV1 {
    #[serde(default)]
    insecure: V1List,
    #[serde(default)]
    block: V1List,
}

#[derive(Deserialize, Default)]
struct V1List {
    #[serde(default)]
    registries: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror_by_digest_only: bool,
    #[serde(default)]
    pull_from_mirror: Option<String>,
    #[serde(default)]
    mirror: Vec<RawMirror>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    pull_from_mirror: Option<String>,
}

/// Read `path` (a missing file is fine when `optional`) and the drop-ins beside it.
pub(super) fn load(path: &Path, optional: bool) -> Result<RegistriesConf, Arc<str>> {
    let mut by_prefix: BTreeMap<String, Entry> = BTreeMap::new();
    match std::fs::read_to_string(path) {
        Ok(text) => merge(&mut by_prefix, parse(&text, path, false)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && optional => {}
        Err(e) => return Err(problem(path, format_args!("cannot be read: {e}"))),
    }
    let drop_ins = path.with_file_name("registries.conf.d");
    let mut names: Vec<_> = match std::fs::read_dir(&drop_ins) {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| p.extension().is_some_and(|e| e == "conf") && p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(problem(&drop_ins, format_args!("cannot be read: {e}"))),
    };
    names.sort();
    for drop_in in names {
        let text = std::fs::read_to_string(&drop_in)
            .map_err(|e| problem(&drop_in, format_args!("cannot be read: {e}")))?;
        merge(&mut by_prefix, parse(&text, &drop_in, true)?);
    }
    Ok(RegistriesConf {
        entries: by_prefix.into_values().collect(),
    })
}

fn merge(by_prefix: &mut BTreeMap<String, Entry>, entries: Vec<Entry>) {
    for entry in entries {
        by_prefix.insert(entry.prefix.clone(), entry);
    }
}

/// The entries of one file (`drop_in`: version 2 only, as for the containers tools).
fn parse(text: &str, file: &Path, drop_in: bool) -> Result<Vec<Entry>, Arc<str>> {
    let parsed: FileV2 = toml::from_str(text).map_err(|e| problem(file, e))?;
    if parsed.unqualified_search_registries.is_some() {
        tracing::debug!(
            file = %file.display(),
            "unqualified-search-registries is ignored: a name without a registry is Docker Hub's"
        );
    }
    let v1 = parsed.registries.unwrap_or_default();
    let has_v1 = !v1.insecure.registries.is_empty() || !v1.block.registries.is_empty();
    if has_v1 && (drop_in || !parsed.registry.is_empty()) {
        return Err(problem(
            file,
            if drop_in {
                "a drop-in must be in version 2 format ([[registry]] tables), not version 1"
            } else {
                "mixing version 1 ([registries.*]) and version 2 ([[registry]]) is not supported"
            },
        ));
    }
    let mut raw = parsed.registry;
    for (list, blocked) in [(v1.block.registries, true), (v1.insecure.registries, false)] {
        for location in list {
            match raw
                .iter_mut()
                .find(|r| r.location.as_deref() == Some(location.as_str()))
            {
                Some(existing) if blocked => existing.blocked = true,
                Some(existing) => existing.insecure = true,
                None => raw.push(RawRegistry {
                    prefix: None,
                    location: Some(location),
                    insecure: !blocked,
                    blocked,
                    mirror_by_digest_only: false,
                    pull_from_mirror: None,
                    mirror: Vec::new(),
                }),
            }
        }
    }
    raw.into_iter().map(|r| entry(r, file)).collect()
}

fn entry(raw: RawRegistry, file: &Path) -> Result<Entry, Arc<str>> {
    let location = raw
        .location
        .as_deref()
        .map(|l| location_of(l, file))
        .transpose()?
        .filter(|l| !l.is_empty());
    let prefix = match (raw.prefix.as_deref(), &location) {
        (Some(prefix), _) => location_of(prefix, file)?,
        (None, Some(location)) => location.clone(),
        (None, None) => {
            return Err(problem(
                file,
                "a [[registry]] has neither prefix nor location",
            ));
        }
    };
    let origin: Arc<str> = format!("{} ([[registry]] prefix = {prefix:?})", file.display()).into();
    let invalid = |what: String| {
        problem(
            file,
            format_args!("[[registry]] prefix = {prefix:?}: {what}"),
        )
    };
    if let Some(domain) = prefix.strip_prefix("*.") {
        if domain.is_empty() || domain.contains(['/', ':', '@', '*']) {
            return Err(invalid(
                "a wildcard prefix is `*.domain`, with no port, path or other `*`".to_owned(),
            ));
        }
    } else if location.is_none() {
        return Err(invalid(
            "location is unset and the prefix is not of the form *.example.com".to_owned(),
        ));
    }
    if raw.pull_from_mirror.is_some() {
        return Err(invalid(
            "pull-from-mirror belongs in a [[registry.mirror]], not the registry itself".to_owned(),
        ));
    }
    let mut mirrors = Vec::with_capacity(raw.mirror.len());
    for mirror in raw.mirror {
        let Some(location) = mirror
            .location
            .as_deref()
            .map(|l| location_of(l, file))
            .transpose()?
            .filter(|l| !l.is_empty())
        else {
            return Err(invalid("a [[registry.mirror]] has no location".to_owned()));
        };
        let pull_from = match mirror.pull_from_mirror.as_deref() {
            _ if raw.mirror_by_digest_only && mirror.pull_from_mirror.is_some() => {
                return Err(invalid(format!(
                    "mirror {location:?} sets pull-from-mirror while the registry sets \
                     mirror-by-digest-only; set one of them"
                )));
            }
            None | Some("" | "all") => PullFrom::All,
            Some("digest-only") => PullFrom::DigestOnly,
            Some("tag-only") => PullFrom::TagOnly,
            Some(other) => {
                return Err(invalid(format!(
                    "mirror {location:?} has pull-from-mirror {other:?} (use all, digest-only \
                     or tag-only)"
                )));
            }
        };
        mirrors.push(Mirror {
            location,
            insecure: mirror.insecure,
            pull_from,
        });
    }
    Ok(Entry {
        prefix,
        location,
        insecure: raw.insecure,
        blocked: raw.blocked,
        mirror_by_digest_only: raw.mirror_by_digest_only,
        mirrors,
        origin,
    })
}

/// A prefix or location in canonical form: no trailing `/`, no URL scheme (an error, as for
/// the containers tools), the host part as references spell it.
fn location_of(text: &str, file: &Path) -> Result<String, Arc<str>> {
    let text = text.trim().trim_end_matches('/');
    if text.starts_with("http://") || text.starts_with("https://") {
        return Err(problem(
            file,
            format_args!(
                "location {text:?}: URL schemes are not supported (write host[:port][/path]; \
                 insecure = true for plain HTTP)"
            ),
        ));
    }
    let (host, path) = match text.split_once('/') {
        Some((host, path)) => (host, Some(path)),
        None => (text, None),
    };
    if host.starts_with("*.") {
        return Ok(text.to_ascii_lowercase());
    }
    let host = canonical_registry(host);
    Ok(match path {
        Some(path) => format!("{host}/{path}"),
        None => host.into_owned(),
    })
}

/// The length of `name` that `prefix` matches, or None (the containers tools'
/// `refMatchingPrefix`: the whole name, or a prefix followed by `/`, `:` or `@`; a
/// `*.domain` prefix matches any sub-domain of `domain`).
fn matched(name: &str, prefix: &str) -> Option<usize> {
    if let Some(domain) = prefix.strip_prefix('*') {
        // `.domain` inside the host part, then the host's end.
        let at = name.find(domain)?;
        if name[..at].contains('/') {
            return None;
        }
        let end = at + domain.len();
        return match name.as_bytes().get(end) {
            None | Some(b':' | b'/' | b'@') => Some(end),
            Some(_) => None,
        };
    }
    let rest = name.strip_prefix(prefix)?;
    match rest.as_bytes().first() {
        None | Some(b':' | b'/' | b'@') => Some(prefix.len()),
        Some(_) => None,
    }
}

impl RegistriesConf {
    /// The entry whose prefix is the longest to match `name`, with the matched length.
    fn find(&self, name: &str) -> Option<(&Entry, usize)> {
        self.entries
            .iter()
            .filter_map(|e| matched(name, &e.prefix).map(|len| (e, len)))
            .max_by_key(|(e, _)| e.prefix.len())
    }

    /// Why `registry/repository` is blocked, if the entry deciding it says so.
    pub(super) fn blocked(&self, registry: &str, repository: &str) -> Option<Arc<str>> {
        let (entry, _) = self.find(&format!("{registry}/{repository}"))?;
        entry
            .blocked
            .then(|| format!("blocked by {}", entry.origin).into())
    }

    /// The endpoints for `lookup` of `reference`: the entry's mirrors that serve it, in order,
    /// then the registry's location (the registry itself without an entry).
    pub(super) fn route(
        &self,
        reference: &Reference,
        lookup: Lookup,
        insecure: &HashSet<String>,
    ) -> Result<Vec<Endpoint>, Arc<str>> {
        let name = reference.name();
        let Some((entry, matched)) = self.find(&name) else {
            let plain_http = insecure.contains(reference.registry());
            return Ok(vec![Endpoint::source(reference, plain_http)]);
        };
        let serves = |mirror: &Mirror| {
            if entry.mirror_by_digest_only {
                return lookup == Lookup::Content;
            }
            match mirror.pull_from {
                PullFrom::All => true,
                PullFrom::DigestOnly => lookup == Lookup::Content,
                PullFrom::TagOnly => lookup == Lookup::Tag,
            }
        };
        let mut endpoints = Vec::with_capacity(entry.mirrors.len() + 1);
        for mirror in entry.mirrors.iter().filter(|m| serves(m)) {
            let name = rewrite(&mirror.location, &name, matched, entry)?;
            let plain_http = mirror.insecure || insecure.contains(name.registry());
            endpoints.push(Endpoint::named(&name, plain_http, true));
        }
        let own = match &entry.location {
            Some(location) => rewrite(location, &name, matched, entry)?,
            None => reference.clone(),
        };
        let plain_http = entry.insecure || insecure.contains(own.registry());
        endpoints.push(Endpoint::named(&own, plain_http, false));
        Ok(endpoints)
    }
}

/// `name` with its first `matched` bytes replaced by `location`, parsed as a reference.
fn rewrite(
    location: &str,
    name: &str,
    matched: usize,
    entry: &Entry,
) -> Result<Reference, Arc<str>> {
    let rewritten = format!("{location}{}", &name[matched..]);
    Reference::parse(&rewritten).map_err(|e| {
        format!(
            "{}: {name} rewritten to {rewritten:?} is not a valid name: {}",
            entry.origin, e.reason
        )
        .into()
    })
}
