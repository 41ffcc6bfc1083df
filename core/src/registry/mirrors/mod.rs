//! Mirrors and pull-through caches: which hosts a request for an image goes to, and in which
//! order, as containers' `registries.conf` (v2, with `registries.conf.d/` drop-ins) and
//! containerd's `hosts.toml` directories (`config_path`) say.
//!
//! A route is the mirrors that may serve the request, in the configured order, then the
//! registry itself. Which mirrors may serve depends on what is asked ([`Lookup`]): resolving a
//! tag, or fetching by digest (manifests, blobs, and the signature artifacts named after a
//! digest). A registry that is `blocked` is left out of every route; a route left empty is
//! refused before any I/O, naming the file and entry.
//!
//! When a hosts directory has a `hosts.toml` for a registry (or a `_default`), it decides that
//! registry's route, as it does for containerd; otherwise registries.conf does. A `blocked`
//! entry of registries.conf applies to every route, whichever file made it: a refusal is never
//! overridden. Both are read once, when the client is built.

mod hosts_dir;
mod registries_conf;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;

use super::endpoint::Endpoint;
use crate::reference::Reference;

/// Environment variable naming the containers `registries.conf` (the containers tools' own).
pub const REGISTRIES_CONF_ENV: &str = "CONTAINERS_REGISTRIES_CONF";
/// Environment variable naming a containerd `config_path` directory of `hosts.toml` files.
pub const HOSTS_DIR_ENV: &str = "IMAGECHECK_HOSTS_DIR";
/// The system-wide registries.conf, read when present.
pub const SYSTEM_REGISTRIES_CONF: &str = "/etc/containers/registries.conf";

/// Where mirror configuration is read from. Default: nowhere (no mirrors).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MirrorFiles {
    /// A containers `registries.conf`, plus the `*.conf` drop-ins of the `registries.conf.d`
    /// directory beside it.
    pub registries_conf: Option<PathBuf>,
    /// Whether a missing `registries_conf` is fine (the standard path, read when present)
    /// rather than an error (a file someone named).
    pub registries_conf_optional: bool,
    /// A containerd `config_path` directory: `<host>/hosts.toml` (or `_default/hosts.toml`).
    pub hosts_dir: Option<PathBuf>,
}

impl MirrorFiles {
    /// What the environment names: `CONTAINERS_REGISTRIES_CONF`, else the user's
    /// `~/.config/containers/registries.conf` when it exists, else the system's (both read only
    /// when present, as the containers tools do); and `IMAGECHECK_HOSTS_DIR` (no default:
    /// containerd's `config_path` is set in containerd's own configuration, and differs
    /// between distributions and Talos).
    pub fn from_env() -> Self {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let (registries_conf, registries_conf_optional) = match env(REGISTRIES_CONF_ENV) {
            Some(path) => (PathBuf::from(path), false),
            None => {
                let user = env("HOME")
                    .map(|home| PathBuf::from(home).join(".config/containers/registries.conf"))
                    .filter(|path| path.exists());
                (
                    user.unwrap_or_else(|| PathBuf::from(SYSTEM_REGISTRIES_CONF)),
                    true,
                )
            }
        };
        MirrorFiles {
            registries_conf: Some(registries_conf),
            registries_conf_optional,
            hosts_dir: env(HOSTS_DIR_ENV).map(PathBuf::from),
        }
    }
}

/// What a request is for: the mirrors that may serve it differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Resolving an image tag to its digest (registries.conf: mirrors not `digest-only`;
    /// containerd: hosts with the `resolve` capability).
    Tag,
    /// Anything named by a digest: manifests and blobs, the referrers API, and the signature
    /// tags named after a digest (`sha256-<hex>.sig`, `sha256-<hex>`), whose content is checked
    /// against signatures anyway (registries.conf: mirrors not `tag-only`; containerd: hosts
    /// with the `pull` capability).
    Content,
}

/// TLS settings of an endpoint other than the platform's trust store (containerd's `ca` and
/// `skip_verify`). Profile 0 of a client is always the platform's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TlsProfile {
    Platform,
    /// The platform's roots plus these certificates (from `ca` files).
    ExtraRoots(Arc<[CertificateDer<'static>]>),
    /// Any certificate (`skip_verify = true`); handshake signatures are still checked.
    SkipVerify,
}

/// The parsed configuration: a routing table.
#[derive(Debug)]
pub(crate) struct Mirrors {
    table: Result<Table, Arc<str>>,
}

#[derive(Debug, Default)]
struct Table {
    registries: registries_conf::RegistriesConf,
    hosts: Option<hosts_dir::HostsDir>,
    /// TLS profiles named by endpoints; index 0 is the platform's.
    tls: Vec<TlsProfile>,
}

/// Where a request goes: the hosts to try, in order.
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) endpoints: Vec<Endpoint>,
    /// The reference's own registry is blocked: said when every mirror failed.
    pub(crate) blocked: Option<Arc<str>>,
}

/// Why a request cannot be routed at all: the registry is blocked and no mirror may serve it,
/// or the configuration cannot be used. The message names the file and entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal(pub(crate) String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A problem in a configuration file, for people: the file and what is wrong.
pub(crate) fn problem(file: &std::path::Path, what: impl fmt::Display) -> Arc<str> {
    format!("mirror configuration {}: {what}", file.display()).into()
}

impl Mirrors {
    /// No mirrors.
    pub(crate) fn none() -> Self {
        Mirrors {
            table: Ok(Table {
                tls: vec![TlsProfile::Platform],
                ..Table::default()
            }),
        }
    }

    /// Read `files`. A file that cannot be used is kept as the reason every route is refused
    /// (fail closed: a registries.conf that blocks a registry must not be skipped), and logged.
    pub(crate) fn load(files: &MirrorFiles) -> Self {
        let mut tls = vec![TlsProfile::Platform];
        let table = (|| -> Result<Table, Arc<str>> {
            let registries = match &files.registries_conf {
                Some(path) => registries_conf::load(path, files.registries_conf_optional)?,
                None => registries_conf::RegistriesConf::default(),
            };
            let hosts = match &files.hosts_dir {
                Some(dir) => Some(hosts_dir::load(dir, &mut tls)?),
                None => None,
            };
            Ok(Table {
                registries,
                hosts,
                tls: std::mem::take(&mut tls),
            })
        })();
        if let Err(why) = &table {
            tracing::warn!("{why}; every registry request will be refused until it is fixed");
        }
        Mirrors { table }
    }

    /// The TLS profiles endpoints name (index 0 is the platform's).
    pub(crate) fn tls_profiles(&self) -> &[TlsProfile] {
        match &self.table {
            Ok(table) => &table.tls,
            Err(_) => &[TlsProfile::Platform],
        }
    }

    /// The hosts a `lookup` for `reference` goes to, mirrors first; `insecure` lists the
    /// registries reached over plain HTTP besides those the files mark so.
    pub(crate) fn route(
        &self,
        reference: &Reference,
        lookup: Lookup,
        insecure: &HashSet<String>,
    ) -> Result<Route, Refusal> {
        let table = self
            .table
            .as_ref()
            .map_err(|why| Refusal(why.to_string()))?;
        let planned = match table
            .hosts
            .as_ref()
            .and_then(|hosts| hosts.route(reference, lookup, insecure))
        {
            Some(planned) => planned,
            None => table
                .registries
                .route(reference, lookup, insecure)
                .map_err(|why| Refusal(why.to_string()))?,
        };
        // A refusal is never overridden: no endpoint under a blocked prefix, whichever file
        // routed there. The registry itself is blocked by the entry its name matches (or, as
        // for the containers tools, by one its configured location matches).
        let own = table
            .registries
            .blocked(reference.registry(), reference.repository());
        let mut blocked = None;
        let mut endpoints = Vec::with_capacity(planned.len());
        for endpoint in planned {
            let physical = table
                .registries
                .blocked(&endpoint.registry, &endpoint.repository);
            let block = if endpoint.mirror {
                physical
            } else {
                own.clone().or(physical)
            };
            match block {
                Some(entry) if endpoint.mirror => {
                    tracing::debug!(reference = %reference, "{endpoint} is not asked: {entry}");
                }
                Some(entry) => blocked = Some(entry),
                None => endpoints.push(endpoint),
            }
        }
        if endpoints.is_empty() {
            let entry = blocked.unwrap_or_else(|| "no host may serve it".into());
            let what = match lookup {
                Lookup::Tag => "resolving its tag",
                Lookup::Content => "fetching by digest",
            };
            return Err(Refusal(format!(
                "{} is refused: {entry}, and no mirror is configured for {what}",
                reference.name()
            )));
        }
        Ok(Route { endpoints, blocked })
    }
}

#[cfg(test)]
mod tests;
