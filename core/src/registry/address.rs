//! How far inside a network an IP address leads, to decide which addresses a registry may send
//! the client to (its token realm). A pure classification: no I/O.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where a usable address leads, ordered from the open internet inwards. A registry may point
/// the client at addresses no further inside than its own: a registry on the internet cannot
/// aim it at the private network or at the machine itself; one on the private network cannot
/// aim it at the machine's loopback services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Reach {
    Public,
    /// RFC 1918, carrier-grade NAT (100.64/10), IPv6 unique-local and site-local.
    Private,
    /// This machine: 127/8, ::1.
    Loopback,
}

impl Reach {
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Reach::Public => "public",
            Reach::Private => "private",
            Reach::Loopback => "loopback",
        }
    }
}

/// Addresses no registry may send the client to, whatever its own address: link-local
/// (cloud metadata services live at 169.254.169.254), unspecified (0.0.0.0 reaches this
/// machine on Linux), multicast, broadcast and reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unusable {
    LinkLocal,
    Unspecified,
    Multicast,
    Broadcast,
    Reserved,
}

impl Unusable {
    const fn name(self) -> &'static str {
        match self {
            Unusable::LinkLocal => "a link-local",
            Unusable::Unspecified => "an unspecified",
            Unusable::Multicast => "a multicast",
            Unusable::Broadcast => "a broadcast",
            Unusable::Reserved => "a reserved",
        }
    }
}

/// Why an address is refused as a destination a registry chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unusable(IpAddr, Unusable),
    /// Further inside than the registry itself.
    TooFarInside {
        address: IpAddr,
        reach: Reach,
        registry: Reach,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::Unusable(address, why) => write!(
                f,
                "{address} is {} address, never a token server",
                why.name()
            ),
            Refusal::TooFarInside {
                address,
                reach,
                registry,
            } => write!(
                f,
                "{address} is a {} address and the registry is on a {} one (a registry may \
                 only name token servers no further inside the network than itself)",
                reach.name(),
                registry.name()
            ),
        }
    }
}

/// Where `address` leads, or why it is never a destination. IPv6 forms that carry an IPv4
/// address (mapped, compatible, NAT64, 6to4) are classified as that IPv4 address, which is
/// where they lead.
pub(crate) fn classify(address: IpAddr) -> Result<Reach, Unusable> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

/// Whether a registry at `registry` may send the client to `address`.
pub(crate) fn allowed(registry: Reach, address: IpAddr) -> Result<(), Refusal> {
    let reach = classify(address).map_err(|why| Refusal::Unusable(address, why))?;
    if reach > registry {
        return Err(Refusal::TooFarInside {
            address,
            reach,
            registry,
        });
    }
    Ok(())
}

/// The reach of a registry: of the address its answer came from, else of its host when that
/// is an address literal, else public (an unknown address earns no trust). An unusable
/// address (a registry reached at 0.0.0.0) counts as loopback, where the connection went.
pub(crate) fn registry_reach(peer: Option<IpAddr>, host: &str) -> Reach {
    let literal = || {
        let url = reqwest::Url::parse(&format!("http://{host}/")).ok()?;
        let name = url.host_str()?;
        name.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    };
    match peer.or_else(literal).map(classify) {
        Some(Ok(reach)) => reach,
        Some(Err(_)) => Reach::Loopback,
        None => Reach::Public,
    }
}

fn classify_v4(v4: Ipv4Addr) -> Result<Reach, Unusable> {
    let [a, b, ..] = v4.octets();
    if a == 0 {
        Err(Unusable::Unspecified)
    } else if v4.is_loopback() {
        Ok(Reach::Loopback)
    } else if v4.is_link_local() {
        Err(Unusable::LinkLocal)
    } else if v4.is_broadcast() {
        Err(Unusable::Broadcast)
    } else if v4.is_multicast() {
        Err(Unusable::Multicast)
    } else if a >= 240 {
        Err(Unusable::Reserved)
    } else if v4.is_private() || (a == 100 && (b & 0xc0) == 64) {
        Ok(Reach::Private)
    } else {
        Ok(Reach::Public)
    }
}

fn classify_v6(v6: Ipv6Addr) -> Result<Reach, Unusable> {
    let first = v6.segments()[0];
    if v6.is_unspecified() {
        Err(Unusable::Unspecified)
    } else if v6.is_loopback() {
        Ok(Reach::Loopback)
    } else if v6.is_multicast() {
        Err(Unusable::Multicast)
    } else if first & 0xffc0 == 0xfe80 {
        Err(Unusable::LinkLocal)
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
        // Unique-local fc00::/7 and the deprecated site-local fec0::/10.
        Ok(Reach::Private)
    } else {
        Ok(Reach::Public)
    }
}

/// The IPv4 address an IPv6 address leads to, for the forms that embed one: IPv4-mapped
/// (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks),
/// NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48) and 6to4 (2002:AABB:CCDD::/48).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let low = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    if s[..6] == [0; 6] && !v6.is_unspecified() && !v6.is_loopback() {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..3] == [0x64, 0xff9b, 1] {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::from((u32::from(s[1]) << 16) | u32::from(s[2])));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn classifies_every_address_class() {
        use Reach::*;
        use Unusable::*;
        for (address, expected) in [
            ("8.8.8.8", Ok(Public)),
            ("2606:4700::1111", Ok(Public)),
            ("127.0.0.1", Ok(Loopback)),
            ("127.255.0.9", Ok(Loopback)),
            ("::1", Ok(Loopback)),
            ("10.1.2.3", Ok(Private)),
            ("172.16.0.1", Ok(Private)),
            ("172.31.255.255", Ok(Private)),
            ("172.32.0.1", Ok(Public)),
            ("192.168.1.1", Ok(Private)),
            ("100.64.0.1", Ok(Private)),
            ("100.127.255.255", Ok(Private)),
            ("100.128.0.1", Ok(Public)),
            ("fd00::2", Ok(Private)),
            ("fc00::1", Ok(Private)),
            ("fec0::1", Ok(Private)),
            ("169.254.169.254", Err(LinkLocal)),
            ("fe80::1", Err(LinkLocal)),
            ("febf::1", Err(LinkLocal)),
            ("0.0.0.0", Err(Unspecified)),
            ("0.1.2.3", Err(Unspecified)),
            ("::", Err(Unspecified)),
            ("224.0.0.1", Err(Multicast)),
            ("ff02::1", Err(Multicast)),
            ("255.255.255.255", Err(Broadcast)),
            ("240.0.0.1", Err(Reserved)),
            // IPv6 forms that lead to an IPv4 address are that address.
            ("::ffff:169.254.169.254", Err(LinkLocal)),
            ("::ffff:127.0.0.1", Ok(Loopback)),
            ("::ffff:10.0.0.1", Ok(Private)),
            ("::ffff:0.0.0.0", Err(Unspecified)),
            ("::ffff:8.8.8.8", Ok(Public)),
            ("::127.0.0.1", Ok(Loopback)),
            ("64:ff9b::a9fe:a9fe", Err(LinkLocal)),
            ("64:ff9b:1::10.0.0.1", Ok(Private)),
            ("2002:a9fe:a9fe::1", Err(LinkLocal)),
            ("2002:0808:0808::1", Ok(Public)),
        ] {
            assert_eq!(classify(ip(address)), expected, "{address}");
        }
    }

    #[test]
    fn a_registry_may_name_addresses_no_further_inside_than_itself() {
        use Reach::*;
        for (registry, address, ok) in [
            (Public, "8.8.8.8", true),
            (Public, "127.0.0.1", false),
            (Public, "::1", false),
            (Public, "10.0.0.1", false),
            (Public, "192.168.0.1", false),
            (Public, "::ffff:192.168.0.1", false),
            (Private, "10.0.0.1", true),
            (Private, "172.20.0.1", true),
            (Private, "8.8.8.8", true),
            (Private, "127.0.0.1", false),
            (Loopback, "127.0.0.1", true),
            (Loopback, "::1", true),
            (Loopback, "10.0.0.1", true),
            (Loopback, "8.8.8.8", true),
            // Never, whatever the registry.
            (Loopback, "169.254.169.254", false),
            (Loopback, "fe80::1", false),
            (Loopback, "0.0.0.0", false),
            (Loopback, "::", false),
            (Private, "::ffff:169.254.169.254", false),
        ] {
            assert_eq!(
                allowed(registry, ip(address)).is_ok(),
                ok,
                "registry {registry:?}, realm {address}"
            );
        }
    }

    #[test]
    fn refusals_say_which_class_and_why() {
        let text = allowed(Reach::Public, ip("10.0.0.1"))
            .unwrap_err()
            .to_string();
        assert!(text.contains("10.0.0.1 is a private address"), "{text}");
        assert!(text.contains("registry is on a public one"), "{text}");
        let text = allowed(Reach::Loopback, ip("169.254.169.254"))
            .unwrap_err()
            .to_string();
        assert!(text.contains("link-local"), "{text}");
    }

    #[test]
    fn a_registry_reach_comes_from_its_peer_address_then_its_host_literal() {
        assert_eq!(
            registry_reach(Some(ip("127.0.0.1")), "registry.example"),
            Reach::Loopback
        );
        assert_eq!(registry_reach(None, "10.0.0.5:5000"), Reach::Private);
        assert_eq!(registry_reach(None, "[::1]:5000"), Reach::Loopback);
        assert_eq!(registry_reach(None, "127.0.0.1"), Reach::Loopback);
        // A name whose address is unknown earns no trust.
        assert_eq!(registry_reach(None, "localhost:5000"), Reach::Public);
        assert_eq!(registry_reach(None, "registry.example"), Reach::Public);
        // The peer address wins over what the name suggests.
        assert_eq!(
            registry_reach(Some(ip("8.8.8.8")), "127.0.0.1:5000"),
            Reach::Public
        );
    }
}
