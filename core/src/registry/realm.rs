//! Where a registry may send the client for a token. A bearer challenge names any URL as its
//! realm, and the client would GET it (with the registry's credentials) and forward what comes
//! back: a hostile registry could use every node as a proxy into the networks it sits on. So a
//! realm must be HTTPS (plain HTTP only when the registry itself is listed insecure), never on a
//! link-local, unspecified, multicast or broadcast address, and on a private or loopback address
//! only when the registry itself is (see `address`). Token requests follow no redirects.
//!
//! The addresses checked are the addresses connected to: each token client resolves names
//! through a resolver that refuses unless every address passes, so a name cannot answer one
//! address to a check and another to the connection (DNS rebinding). There is one client per
//! registry reach, so a pooled connection is only reused for a registry entitled to it.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use tokio::sync::OwnedSemaphorePermit;

use super::address::{self, Reach, Refusal};
use super::host_limit::HostLimits;
use crate::error::{CauseKind, DigestCause};
use crate::runtime::PerProcess;

/// How token-realm host names become addresses: the system resolver, or (tests) a function
/// that maps test names to addresses without DNS.
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct HostLookup {
    custom: Option<LookupFn>,
}

type LookupFn = Arc<dyn Fn(&str) -> io::Result<Vec<IpAddr>> + Send + Sync>;

impl HostLookup {
    /// For tests: answer every lookup with `lookup(host)`.
    #[doc(hidden)]
    pub fn with(lookup: impl Fn(&str) -> io::Result<Vec<IpAddr>> + Send + Sync + 'static) -> Self {
        HostLookup {
            custom: Some(Arc::new(lookup)),
        }
    }

    fn lookup(&self, host: &str) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        match &self.custom {
            Some(lookup) => {
                let answer = lookup(host);
                Box::pin(async move { answer })
            }
            None => {
                let host = host.to_owned();
                Box::pin(async move {
                    Ok(tokio::net::lookup_host((host.as_str(), 0))
                        .await?
                        .map(|a| a.ip())
                        .collect())
                })
            }
        }
    }
}

impl fmt::Debug for HostLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.custom.is_some() {
            "HostLookup(custom)"
        } else {
            "HostLookup(system)"
        })
    }
}

/// The registry a realm was named by, as far as the realm rules care.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Namer<'a> {
    /// The registry API host, for messages.
    pub(crate) host: &'a str,
    /// Listed insecure: reached over plain HTTP, so an HTTP realm is no step down.
    pub(crate) insecure: bool,
    pub(crate) reach: Reach,
}

/// The token clients, one per registry reach, built lazily (and again after a fork).
pub(crate) struct RealmClients {
    lookup: HostLookup,
    /// The per-host cap, shared with the registry requests (token servers are hosts too).
    slots: Option<Arc<HostLimits>>,
    /// Hosts of the configured HTTP(S) proxies, read when the clients are built.
    proxies: Arc<[String]>,
    clients: [PerProcess<reqwest::Client>; 3],
}

const REACHES: [Reach; 3] = [Reach::Public, Reach::Private, Reach::Loopback];

impl RealmClients {
    pub(crate) fn new(timeout: Duration, lookup: HostLookup) -> Self {
        let proxies: Arc<[String]> = proxy_hosts(|name| std::env::var(name).ok()).into();
        let clients = REACHES.map(|reach| {
            let guard = Guard {
                lookup: lookup.clone(),
                reach,
                proxies: proxies.clone(),
            };
            PerProcess::new(move || {
                super::http::builder(timeout)
                    // A token server that redirects is refused (`fetch_token`): the registry's
                    // credentials were for the realm it named, not for wherever that points.
                    .redirect(reqwest::redirect::Policy::none())
                    .dns_resolver(guard.clone())
                    .build()
                    .unwrap_or_else(|e| panic!("imagecheck: cannot build the HTTP client: {e}"))
            })
        });
        RealmClients {
            lookup,
            slots: None,
            proxies,
            clients,
        }
    }

    /// Cap token requests per host with `slots` (the registry client's own).
    pub(crate) fn limited(mut self, slots: Arc<HostLimits>) -> Self {
        self.slots = Some(slots);
        self
    }

    /// A slot for one token request to `realm`'s host, when requests are capped.
    pub(crate) async fn slot(&self, realm: &reqwest::Url) -> Option<OwnedSemaphorePermit> {
        let slots = self.slots.as_ref()?;
        // Spelled as registry hosts are (no default port), so a registry that issues its own
        // tokens shares one cap.
        let host = match (realm.host_str(), realm.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => return None,
        };
        Some(slots.acquire(&host).await)
    }

    /// The client for token requests on behalf of a registry at `reach`.
    pub(crate) fn client(&self, reach: Reach) -> Arc<reqwest::Client> {
        let i = REACHES.iter().position(|r| *r == reach).unwrap_or(0);
        self.clients[i].get()
    }

    /// Refuse `realm` unless `namer` may send the client there. Addresses of a named host
    /// are checked again by the client when it connects; checked here too are address literals
    /// (never resolved) and, when a proxy is configured, the realm's own name (the connection
    /// then goes to the proxy, which resolves the name itself).
    pub(crate) async fn check(
        &self,
        realm: &reqwest::Url,
        namer: &Namer<'_>,
    ) -> Result<(), DigestCause> {
        let shown = shown(realm);
        let refuse = |why: String| refusal(namer, &shown, why);
        match realm.scheme() {
            "https" => {}
            "http" if namer.insecure => {}
            "http" => {
                return Err(refuse(
                    "it is not HTTPS (a plain HTTP realm is accepted only for a registry listed \
                     insecure)"
                        .to_owned(),
                ));
            }
            other => return Err(refuse(format!("its scheme {other}: is not HTTPS"))),
        }
        let Some(host) = realm.host_str() else {
            return Err(refuse("it names no host".to_owned()));
        };
        if let Ok(literal) = host.trim_start_matches('[').trim_end_matches(']').parse() {
            return address::allowed(namer.reach, literal).map_err(|r| refuse(r.to_string()));
        }
        if self.proxies.is_empty() {
            return Ok(());
        }
        match self.lookup.lookup(host).await {
            Ok(addresses) => check_all(host, namer.reach, &addresses)
                .map_err(|refused| refuse(refused.to_string())),
            // Behind a proxy the local resolver may know no outside names; the proxy does.
            Err(_) => Ok(()),
        }
    }
}

/// The cause for a realm `namer` may not send the client to, and why.
pub(crate) fn refusal(namer: &Namer<'_>, shown: &str, why: impl fmt::Display) -> DigestCause {
    DigestCause::new(
        CauseKind::Unauthorized,
        format!(
            "registry {} named token realm {shown}, refused: {why}",
            namer.host
        ),
    )
}

/// A realm URL for messages: no query, no user info.
pub(crate) fn shown(realm: &reqwest::Url) -> String {
    let mut url = realm.clone();
    url.set_query(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

/// Why a token client refused to connect to a name: one of its addresses failed the rules.
#[derive(Debug)]
pub(crate) struct AddressRefused {
    host: String,
    refusal: Refusal,
}

impl fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} resolves to {}", self.host, self.refusal)
    }
}

impl StdError for AddressRefused {}

impl AddressRefused {
    /// The refusal inside a transport error, if that is why it failed.
    pub(crate) fn find(error: &reqwest::Error) -> Option<&AddressRefused> {
        let mut source = StdError::source(error);
        while let Some(s) = source {
            if let Some(refused) = s.downcast_ref::<AddressRefused>() {
                return Some(refused);
            }
            source = s.source();
        }
        None
    }
}

fn check_all(host: &str, reach: Reach, addresses: &[IpAddr]) -> Result<(), AddressRefused> {
    for &ip in addresses {
        address::allowed(reach, ip).map_err(|refusal| AddressRefused {
            host: host.to_owned(),
            refusal,
        })?;
    }
    Ok(())
}

/// The token clients' resolver: the lookup, then every address must pass for `reach`.
#[derive(Clone)]
struct Guard {
    lookup: HostLookup,
    reach: Reach,
    proxies: Arc<[String]>,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        // The operator configured the proxy; its address is not the registry's choice.
        let is_proxy = self.proxies.iter().any(|p| p.eq_ignore_ascii_case(&host));
        let (lookup, reach) = (self.lookup.lookup(&host), self.reach);
        Box::pin(async move {
            let addresses = lookup.await?;
            if addresses.is_empty() {
                return Err(io::Error::new(io::ErrorKind::NotFound, "no addresses").into());
            }
            if !is_proxy {
                check_all(&host, reach, &addresses)?;
            }
            let addrs: reqwest::dns::Addrs =
                Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Hosts of the proxies reqwest takes from the environment (`HTTP_PROXY`, `HTTPS_PROXY`,
/// `ALL_PROXY`, either case), lower case.
fn proxy_hosts(var: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut hosts: Vec<String> = [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .filter_map(|name| var(name))
    .filter(|value| !value.trim().is_empty())
    .filter_map(|value| {
        let value = value.trim();
        let url = if value.contains("://") {
            reqwest::Url::parse(value)
        } else {
            reqwest::Url::parse(&format!("http://{value}"))
        };
        Some(url.ok()?.host_str()?.to_ascii_lowercase())
    })
    .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    fn namer(insecure: bool, reach: Reach) -> Namer<'static> {
        Namer {
            host: "registry.test",
            insecure,
            reach,
        }
    }

    fn clients(proxies: &[&str], lookup: HostLookup) -> RealmClients {
        let mut clients = RealmClients::new(Duration::from_secs(1), lookup);
        clients.proxies = proxies.iter().map(|p| (*p).to_owned()).collect();
        clients
    }

    #[tokio::test]
    async fn a_realm_must_be_https_unless_the_registry_is_insecure() {
        let c = clients(&[], HostLookup::default());
        for (realm, insecure, ok) in [
            ("https://auth.example/token", false, true),
            ("https://auth.example/token", true, true),
            ("http://auth.example/token", true, true),
            ("http://auth.example/token", false, false),
            ("ftp://auth.example/token", true, false),
        ] {
            let answer = c.check(&url(realm), &namer(insecure, Reach::Public)).await;
            assert_eq!(
                answer.is_ok(),
                ok,
                "{realm} insecure={insecure}: {answer:?}"
            );
            if let Err(cause) = answer {
                assert_eq!(cause.kind, CauseKind::Unauthorized);
                assert!(cause.detail.contains("not HTTPS"), "{cause}");
                assert!(cause.detail.contains("registry.test"), "{cause}");
            }
        }
    }

    #[tokio::test]
    async fn address_literals_are_checked_before_any_connection() {
        let c = clients(&[], HostLookup::default());
        for (realm, reach, ok) in [
            ("https://10.0.0.1/token", Reach::Public, false),
            ("https://10.0.0.1/token", Reach::Private, true),
            ("https://[::1]/token", Reach::Public, false),
            ("https://[::1]/token", Reach::Loopback, true),
            (
                "https://[::ffff:169.254.169.254]/token",
                Reach::Loopback,
                false,
            ),
            ("https://169.254.169.254/token", Reach::Loopback, false),
        ] {
            let answer = c.check(&url(realm), &namer(false, reach)).await;
            assert_eq!(answer.is_ok(), ok, "{realm} from {reach:?}: {answer:?}");
        }
    }

    #[tokio::test]
    async fn behind_a_proxy_the_realm_name_is_checked_before_the_request() {
        let lookup = HostLookup::with(|host| match host {
            "inside.test" => Ok(vec!["10.0.0.7".parse().unwrap()]),
            "outside.test" => Ok(vec!["8.8.8.8".parse().unwrap()]),
            _ => Err(io::Error::new(io::ErrorKind::NotFound, "unknown")),
        });
        let c = clients(&["proxy.corp"], lookup);
        let public = namer(false, Reach::Public);
        let err = c
            .check(&url("https://inside.test/token"), &public)
            .await
            .unwrap_err();
        assert!(
            err.detail.contains("10.0.0.7 is a private address"),
            "{err}"
        );
        c.check(&url("https://outside.test/token"), &public)
            .await
            .unwrap();
        // A name only the proxy can resolve is left to it.
        c.check(&url("https://elsewhere.test/token"), &public)
            .await
            .unwrap();
    }

    #[test]
    fn proxy_hosts_come_from_the_variables_reqwest_reads() {
        let hosts = proxy_hosts(|name| match name {
            "HTTPS_PROXY" => Some("http://Proxy.Corp:3128".to_owned()),
            "http_proxy" => Some("proxy.corp:3128".to_owned()),
            "ALL_PROXY" => Some("socks5://10.1.1.1:1080".to_owned()),
            "all_proxy" => Some("  ".to_owned()),
            _ => None,
        });
        assert_eq!(hosts, ["10.1.1.1", "proxy.corp"]);
    }

    #[test]
    fn shown_realms_carry_no_query_or_user_info() {
        assert_eq!(
            shown(&url("https://user:pw@auth.example/token?x=secret")),
            "https://auth.example/token"
        );
    }
}
