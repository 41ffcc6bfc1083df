//! containerd's registry hosts directory (`config_path`): `<host>/hosts.toml` for each
//! registry host (`host:port`, or containerd's `host_port_` spelling), `_default/hosts.toml`
//! for any other.
//!
//! Read: `server` (the registry itself; default `https://<host>`) and its top-level
//! `capabilities`, `ca`, `skip_verify`, `override_path`, then `[host."URL"]` tables in the
//! order they are written, each with the same keys. Hosts are tried in that order, then the
//! server. `capabilities`: `resolve` (asked for tags), `pull` (asked for content by digest),
//! `push` (accepted, unused); default all. A URL without a scheme is HTTPS; its path, if any,
//! goes before `/v2` unless `override_path` says the path is the API root itself. `ca` (a file
//! or a list; relative to the host's directory) adds roots to the platform's; `skip_verify`
//! accepts any certificate.
//!
//! As containerd does, a directory without a `hosts.toml` uses its `*.crt` files as `ca` of
//! the registry itself, and a `hosts.toml` that cannot be parsed is logged and treated as
//! absent. Not read: `client` (client certificates), `header`, `dial_timeout` (logged when
//! present), and the `ns` query parameter containerd adds for mirrors.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use serde::Deserialize;

use super::{Lookup, TlsProfile, problem};
use crate::reference::{Reference, canonical_registry};
use crate::registry::endpoint::{Endpoint, STANDARD_API_ROOT};

/// The directory's host files, by canonical registry name.
#[derive(Debug)]
pub(super) struct HostsDir {
    hosts: HashMap<String, HostsFile>,
    default: Option<HostsFile>,
}

#[derive(Debug, Clone)]
struct HostsFile {
    /// Mirrors, in the file's order.
    hosts: Vec<Host>,
    /// `server`, when set; else the registry's own default endpoint, with these settings.
    server: Option<Host>,
    server_tls: usize,
    server_capabilities: Capabilities,
}

#[derive(Debug, Clone)]
struct Host {
    plain_http: bool,
    authority: String,
    api_root: String,
    capabilities: Capabilities,
    tls: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Capabilities {
    pull: bool,
    resolve: bool,
}

impl Capabilities {
    const ALL: Capabilities = Capabilities {
        pull: true,
        resolve: true,
    };

    fn serves(self, lookup: Lookup) -> bool {
        match lookup {
            Lookup::Tag => self.resolve,
            Lookup::Content => self.pull,
        }
    }
}

#[derive(Deserialize, Default)]
struct HostConfig {
    #[serde(default)]
    capabilities: Option<Vec<String>>,
    #[serde(default)]
    ca: Option<OneOrMany>,
    #[serde(default)]
    skip_verify: Option<bool>,
    #[serde(default)]
    override_path: bool,
    #[serde(default)]
    client: Option<toml::Value>,
    #[serde(default)]
    header: Option<toml::Value>,
    #[serde(default)]
    dial_timeout: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A hosts.toml: the server's settings at the top level (listed here rather than flattened,
/// which would lose the spans that give the hosts' order).
#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    server: Option<String>,
    #[serde(default)]
    capabilities: Option<Vec<String>>,
    #[serde(default)]
    ca: Option<OneOrMany>,
    #[serde(default)]
    skip_verify: Option<bool>,
    #[serde(default)]
    override_path: bool,
    #[serde(default)]
    client: Option<toml::Value>,
    #[serde(default)]
    header: Option<toml::Value>,
    #[serde(default)]
    dial_timeout: Option<toml::Value>,
    #[serde(default)]
    host: BTreeMap<String, toml::Spanned<HostConfig>>,
}

/// Read every host directory under `root`. `tls` collects the TLS profiles the hosts need
/// (their index is what endpoints carry).
pub(super) fn load(root: &Path, tls: &mut Vec<TlsProfile>) -> Result<HostsDir, Arc<str>> {
    let entries = std::fs::read_dir(root)
        .map_err(|e| problem(root, format_args!("hosts directory cannot be read: {e}")))?;
    let mut dirs: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .collect();
    // `host_port_` and `host:port` name the same host; containerd reads the first.
    dirs.sort_by_key(|(name, _)| !name.ends_with('_'));
    let mut hosts = HashMap::new();
    let mut default = None;
    for (name, dir) in dirs {
        let file = read_host_dir(&dir, tls)?;
        if name == "_default" {
            default = Some(file);
            continue;
        }
        let host = match name.strip_suffix('_').and_then(|n| n.rsplit_once('_')) {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{host}:{port}")
            }
            _ => name.clone(),
        };
        let canonical = canonical_registry(&host).into_owned();
        if canonical != host && hosts.contains_key(&canonical) {
            tracing::warn!(
                dir = %dir.display(),
                "hosts directory {name:?} is another spelling of registry {canonical:?}, which \
                 has its own directory; it is ignored"
            );
            continue;
        }
        hosts.entry(canonical).or_insert(file);
    }
    Ok(HostsDir { hosts, default })
}

fn read_host_dir(dir: &Path, tls: &mut Vec<TlsProfile>) -> Result<HostsFile, Arc<str>> {
    let path = dir.join("hosts.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => match parse(&text, dir, tls) {
            Ok(file) => return Ok(file),
            Err(why) => {
                // containerd logs and carries on as if the file were absent.
                tracing::warn!("{why}; the directory's *.crt files are used instead");
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(problem(&path, format_args!("cannot be read: {e}"))),
    }
    let mut cas: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| problem(dir, format_args!("cannot be read: {e}")))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "crt") && p.is_file())
        .collect();
    cas.sort();
    let server_tls = if cas.is_empty() {
        0
    } else {
        profile(tls, TlsProfile::ExtraRoots(read_cas(&cas)?))
    };
    Ok(HostsFile {
        hosts: Vec::new(),
        server: None,
        server_tls,
        server_capabilities: Capabilities::ALL,
    })
}

fn parse(text: &str, dir: &Path, tls: &mut Vec<TlsProfile>) -> Result<HostsFile, Arc<str>> {
    let path = dir.join("hosts.toml");
    let raw: RawFile = toml::from_str(text).map_err(|e| problem(&path, e))?;
    let mut hosts: Vec<(usize, Host)> = Vec::with_capacity(raw.host.len());
    for (url, config) in raw.host {
        let at = config.span().start;
        hosts.push((at, host(&url, config.into_inner(), dir, &path, tls)?));
    }
    // The order they are written in, as containerd reads them.
    hosts.sort_by_key(|(at, _)| *at);
    let root = HostConfig {
        capabilities: raw.capabilities,
        ca: raw.ca,
        skip_verify: raw.skip_verify,
        override_path: raw.override_path,
        client: raw.client,
        header: raw.header,
        dial_timeout: raw.dial_timeout,
    };
    let server_capabilities = capabilities(&root, &path)?;
    let server_tls = tls_profile(&root, dir, &path, tls)?;
    let server = match raw.server.as_deref().filter(|s| !s.is_empty()) {
        Some(url) => Some(host(url, root, dir, &path, tls)?),
        None => {
            warn_unsupported(&root, &path, "the top level");
            None
        }
    };
    Ok(HostsFile {
        hosts: hosts.into_iter().map(|(_, h)| h).collect(),
        server,
        server_tls,
        server_capabilities,
    })
}

fn host(
    url: &str,
    config: HostConfig,
    dir: &Path,
    path: &Path,
    tls: &mut Vec<TlsProfile>,
) -> Result<Host, Arc<str>> {
    let written = if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    };
    let parsed = reqwest::Url::parse(&written)
        .map_err(|e| problem(path, format_args!("host {url:?} is not a URL: {e}")))?;
    let Some(name) = parsed.host_str() else {
        return Err(problem(path, format_args!("host {url:?} names no host")));
    };
    let authority = match parsed.port() {
        Some(port) => format!("{name}:{port}"),
        None => name.to_owned(),
    }
    .to_ascii_lowercase();
    let url_path = parsed.path().trim_end_matches('/');
    let api_root = if config.override_path || url_path.ends_with(STANDARD_API_ROOT) {
        url_path.to_owned()
    } else {
        format!("{url_path}{STANDARD_API_ROOT}")
    };
    warn_unsupported(&config, path, url);
    Ok(Host {
        plain_http: parsed.scheme() == "http",
        authority,
        api_root,
        capabilities: capabilities(&config, path)?,
        tls: tls_profile(&config, dir, path, tls)?,
    })
}

fn warn_unsupported(config: &HostConfig, path: &Path, host: &str) {
    for (set, key) in [
        (config.client.is_some(), "client"),
        (config.header.is_some(), "header"),
        (config.dial_timeout.is_some(), "dial_timeout"),
    ] {
        if set {
            tracing::warn!(
                file = %path.display(),
                "{key} of {host} is not supported by imagecheck and is ignored"
            );
        }
    }
}

fn capabilities(config: &HostConfig, path: &Path) -> Result<Capabilities, Arc<str>> {
    let Some(names) = &config.capabilities else {
        return Ok(Capabilities::ALL);
    };
    let mut capabilities = Capabilities {
        pull: false,
        resolve: false,
    };
    for name in names {
        match name.to_ascii_lowercase().as_str() {
            "pull" => capabilities.pull = true,
            "resolve" => capabilities.resolve = true,
            "push" => {}
            other => {
                return Err(problem(
                    path,
                    format_args!("unknown capability {other:?} (pull, resolve or push)"),
                ));
            }
        }
    }
    Ok(capabilities)
}

fn tls_profile(
    config: &HostConfig,
    dir: &Path,
    path: &Path,
    tls: &mut Vec<TlsProfile>,
) -> Result<usize, Arc<str>> {
    if config.skip_verify == Some(true) {
        return Ok(profile(tls, TlsProfile::SkipVerify));
    }
    let files: Vec<PathBuf> = match &config.ca {
        None => return Ok(0),
        Some(OneOrMany::One(file)) => vec![dir.join(file)],
        Some(OneOrMany::Many(files)) => files.iter().map(|f| dir.join(f)).collect(),
    };
    let roots = read_cas(&files).map_err(|why| problem(path, why))?;
    Ok(profile(tls, TlsProfile::ExtraRoots(roots)))
}

/// The certificates of PEM files.
fn read_cas(files: &[PathBuf]) -> Result<Arc<[CertificateDer<'static>]>, Arc<str>> {
    let mut roots = Vec::new();
    for file in files {
        let text = std::fs::read(file)
            .map_err(|e| problem(file, format_args!("CA file cannot be read: {e}")))?;
        let blocks = pem::parse_many(&text)
            .map_err(|e| problem(file, format_args!("CA file is not PEM: {e}")))?;
        let before = roots.len();
        roots.extend(
            blocks
                .into_iter()
                .filter(|b| b.tag() == "CERTIFICATE")
                .map(|b| CertificateDer::from(b.into_contents())),
        );
        if roots.len() == before {
            return Err(problem(file, "CA file holds no CERTIFICATE"));
        }
    }
    Ok(roots.into())
}

/// The index of `wanted` among the profiles, added if new.
fn profile(tls: &mut Vec<TlsProfile>, wanted: TlsProfile) -> usize {
    match tls.iter().position(|p| *p == wanted) {
        Some(at) => at,
        None => {
            tls.push(wanted);
            tls.len() - 1
        }
    }
}

impl HostsDir {
    /// The endpoints for `lookup` of `reference`, when the directory has a file for its
    /// registry (or a `_default`): the hosts that serve the lookup, in order, then the server.
    pub(super) fn route(
        &self,
        reference: &Reference,
        lookup: Lookup,
        insecure: &HashSet<String>,
    ) -> Option<Vec<Endpoint>> {
        let file = self
            .hosts
            .get(reference.registry())
            .or(self.default.as_ref())?;
        let at = |host: &Host| Endpoint {
            host: host.authority.clone(),
            registry: canonical_registry(&host.authority).into_owned(),
            repository: reference.repository().to_owned(),
            plain_http: host.plain_http,
            api_root: host.api_root.clone(),
            tls: host.tls,
            mirror: canonical_registry(&host.authority) != reference.registry(),
        };
        let mut endpoints: Vec<Endpoint> = file
            .hosts
            .iter()
            .filter(|h| h.capabilities.serves(lookup))
            .map(at)
            .collect();
        match &file.server {
            Some(server) if server.capabilities.serves(lookup) => endpoints.push(at(server)),
            Some(_) => {}
            None if file.server_capabilities.serves(lookup) => {
                let mut own = Endpoint::source(reference, insecure.contains(reference.registry()));
                own.tls = file.server_tls;
                endpoints.push(own);
            }
            None => {}
        }
        Some(endpoints)
    }
}
