use std::borrow::Cow;

use super::*;

const HEX256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const HEX512: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                      47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

type Parts = (String, String, Option<String>, Option<String>);

struct Case {
    input: String,
    expect: Result<Parts, &'static str>,
}

fn ok(
    input: impl Into<String>,
    registry: &str,
    repository: impl Into<String>,
    tag: Option<&str>,
    digest: Option<&str>,
) -> Case {
    Case {
        input: input.into(),
        expect: Ok((
            registry.to_owned(),
            repository.into(),
            tag.map(str::to_owned),
            digest.map(str::to_owned),
        )),
    }
}

fn err(input: impl Into<String>, reason: &'static str) -> Case {
    Case {
        input: input.into(),
        expect: Err(reason),
    }
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let d256 = format!("sha256:{HEX256}");
    let d512 = format!("sha512:{HEX512}");
    let d256 = d256.as_str();
    let d512 = d512.as_str();
    let hub = DOCKER_HUB;
    let latest = Some(DEFAULT_TAG);
    let a = |n: usize| "a".repeat(n);
    vec![
        // ---- Docker Hub short names and `library/` insertion ----
        ok("nginx", hub, "library/nginx", latest, None),
        ok("nginx:1.25", hub, "library/nginx", Some("1.25"), None),
        ok("nginx:1.25-alpine", hub, "library/nginx", Some("1.25-alpine"), None),
        ok("library/nginx", hub, "library/nginx", latest, None),
        ok("bitnami/redis", hub, "bitnami/redis", latest, None),
        ok("docker/docker", hub, "docker/docker", latest, None),
        ok("a/b", hub, "a/b", latest, None),
        ok("docker.io/nginx", hub, "library/nginx", latest, None),
        ok("docker.io/library/nginx", hub, "library/nginx", latest, None),
        ok("docker.io/bitnami/redis:7.2", hub, "bitnami/redis", Some("7.2"), None),
        ok("index.docker.io/nginx", hub, "library/nginx", latest, None),
        ok("index.docker.io/library/nginx:1", hub, "library/nginx", Some("1"), None),
        ok("index.docker.io/bitnami/redis", hub, "bitnami/redis", latest, None),
        ok("library/a/b/c", hub, "library/a/b/c", latest, None),
        // bare names are always Docker Hub repositories, even host-like ones
        // (distribution's `splitDockerDomain` fast path)
        ok("localhost", hub, "library/localhost", latest, None),
        ok("localhost:5000", hub, "library/localhost", Some("5000"), None),
        ok("example.com", hub, "library/example.com", latest, None),
        ok("192.168.0.1:80", hub, "library/192.168.0.1", Some("80"), None),
        ok("index.docker.io", hub, "library/index.docker.io", latest, None),
        // a 64-hex name is fine once a registry disambiguates it
        ok(format!("docker.io/{HEX256}"), hub, format!("library/{HEX256}"), latest, None),
        // ---- digests ----
        ok(format!("nginx@{d256}"), hub, "library/nginx", None, Some(d256)),
        ok(format!("nginx:1.25@{d256}"), hub, "library/nginx", Some("1.25"), Some(d256)),
        ok(format!("docker.io/library/nginx@{d512}"), hub, "library/nginx", None, Some(d512)),
        ok(format!("ghcr.io/org/app:v1@{d512}"), "ghcr.io", "org/app", Some("v1"), Some(d512)),
        ok(format!("my-registry.local:443/ns/img@{d256}"), "my-registry.local", "ns/img", None, Some(d256)),
        // ---- other registries, ports, localhost, IPs ----
        ok("ghcr.io/org/app:v1.0.0", "ghcr.io", "org/app", Some("v1.0.0"), None),
        ok("ghcr.io/app", "ghcr.io", "app", latest, None),
        ok("quay.io/prometheus/node-exporter:v1.8.2", "quay.io", "prometheus/node-exporter", Some("v1.8.2"), None),
        ok("registry.example.com:5000/team/app:tag", "registry.example.com:5000", "team/app", Some("tag"), None),
        ok("127.0.0.1:5000/foo", "127.0.0.1:5000", "foo", latest, None),
        ok("192.168.0.1:8/debian", "192.168.0.1:8", "debian", latest, None),
        ok("localhost/foo", "localhost", "foo", latest, None),
        ok("localhost/library/debian", "localhost", "library/debian", latest, None),
        ok("localhost:5000/foo/bar:dev", "localhost:5000", "foo/bar", Some("dev"), None),
        ok("myhost:5000/foo", "myhost:5000", "foo", latest, None),
        ok("sub-domain.example-registry.io/x", "sub-domain.example-registry.io", "x", latest, None),
        ok("xn--bcher-kva.example/x", "xn--bcher-kva.example", "x", latest, None),
        // ---- one canonical spelling per registry (a runtime pulls the same image) ----
        // `:443` is HTTPS's default port; Docker Hub's aliases, with or without it, are
        // `docker.io` and get its `library/` rule
        ok("docker.io:443/nginx", hub, "library/nginx", latest, None),
        ok("ghcr.io:443/evil/app:v1", "ghcr.io", "evil/app", Some("v1"), None),
        ok(format!("ghcr.io:443/evil/app@{d256}"), "ghcr.io", "evil/app", None, Some(d256)),
        ok("ghcr.io:0443/evil/app", "ghcr.io", "evil/app", latest, None),
        ok("registry-1.docker.io/library/nginx", hub, "library/nginx", latest, None),
        ok("registry-1.docker.io/nginx:1", hub, "library/nginx", Some("1"), None),
        ok("registry-1.docker.io:443/bitnami/redis", hub, "bitnami/redis", latest, None),
        ok("index.docker.io:443/nginx", hub, "library/nginx", latest, None),
        ok("registry.hub.docker.com/nginx", hub, "library/nginx", latest, None),
        ok("registry.hub.docker.com:443/library/nginx", hub, "library/nginx", latest, None),
        // other ports are other endpoints, :80 included; leading zeros are not part of
        // the number
        ok("ghcr.io:80/evil/app", "ghcr.io:80", "evil/app", latest, None),
        ok("docker.io:80/nginx", "docker.io:80", "nginx", latest, None),
        ok("registry-1.docker.io:5000/nginx", "registry-1.docker.io:5000", "nginx", latest, None),
        ok("localhost:05000/foo", "localhost:5000", "foo", latest, None),
        ok("localhost:0/foo", "localhost:0", "foo", latest, None),
        ok("localhost:000/foo", "localhost:0", "foo", latest, None),
        ok("localhost:443/foo", "localhost", "foo", latest, None),
        // ... unless the host would stop being one: `myhost/foo` is on Docker Hub
        ok("myhost:443/foo", "myhost:443", "foo", latest, None),
        ok("IO:0443/nginx", "io:443", "nginx", latest, None),
        // IPv6
        ok("[::1]/foo", "[::1]", "foo", latest, None),
        ok("[::1]:5000/foo", "[::1]:5000", "foo", latest, None),
        ok("[2001:db8::1]/team/app:1", "[2001:db8::1]", "team/app", Some("1"), None),
        ok("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000", "library/debian", latest, None),
        // IPv6 literals in RFC 5952 form: lower-case hex, zeros compressed
        ok("[FC00::1]:5000/foo", "[fc00::1]:5000", "foo", latest, None),
        ok("[fc00:0:0:0:0:0:0:0001]:5000/foo", "[fc00::1]:5000", "foo", latest, None),
        ok("[0:0::1]:443/foo", "[::1]", "foo", latest, None),
        ok("[::FFFF:102:304]/foo", "[::ffff:102:304]", "foo", latest, None),
        // host names are case-insensitive: upper case is allowed and lowered
        ok("Example.COM/foo", "example.com", "foo", latest, None),
        ok("EXAMPLE.com:5000/foo:Tag", "example.com:5000", "foo", Some("Tag"), None),
        ok("GHCR.IO/evil/app:v1", "ghcr.io", "evil/app", Some("v1"), None),
        ok("Ghcr.io/evil/app:v1", "ghcr.io", "evil/app", Some("v1"), None),
        ok(format!("GHCR.IO:443/evil/app:v1@{d256}"), "ghcr.io", "evil/app", Some("v1"), Some(d256)),
        ok("DOCKER.IO/nginx", hub, "library/nginx", latest, None),
        ok("Registry-1.Docker.IO:443/nginx", hub, "library/nginx", latest, None),
        ok("LOCALHOST/foo", "localhost", "foo", latest, None),
        ok("LocalHost:5000/foo", "localhost:5000", "foo", latest, None),
        // ---- deep paths and separators ----
        ok("gcr.io/a/b/c/d/e/f:x", "gcr.io", "a/b/c/d/e/f", Some("x"), None),
        ok("example.com/a.b", "example.com", "a.b", latest, None),
        ok("example.com/a_b", "example.com", "a_b", latest, None),
        ok("example.com/a__b", "example.com", "a__b", latest, None),
        ok("example.com/a-b", "example.com", "a-b", latest, None),
        ok("example.com/a--b", "example.com", "a--b", latest, None),
        ok("example.com/a---b", "example.com", "a---b", latest, None),
        ok("example.com/a.b_c__d-e--f/g0.9", "example.com", "a.b_c__d-e--f/g0.9", latest, None),
        // ---- tags ----
        ok("nginx:_tag", hub, "library/nginx", Some("_tag"), None),
        ok("nginx:Latest_V1.2-rc", hub, "library/nginx", Some("Latest_V1.2-rc"), None),
        ok(format!("nginx:{}", a(128)), hub, "library/nginx", Some(&a(128)), None),
        // ---- length: the repository path (normalised) is limited, not the host ----
        ok(format!("example.com/{}", a(255)), "example.com", a(255), latest, None),
        ok(a(247), hub, format!("library/{}", a(247)), latest, None),
        ok(format!("{}.example.com/{}", "r".repeat(63), a(255)), &format!("{}.example.com", "r".repeat(63)), a(255), latest, None),
        // ================= invalid =================
        err("", "empty reference"),
        err(" ", "invalid character ' '"),
        err("nginx ", "invalid character ' '"),
        err(" nginx", "invalid character ' '"),
        err("foo\tbar", "invalid character '\\t'"),
        err("ngïnx", "invalid character 'ï'"),
        err("/nginx", "empty path component"),
        err("nginx/", "empty path component"),
        err("foo//bar", "empty path component"),
        err("example.com/", "empty path component"),
        err("example.com:5000/", "empty path component"),
        err(":tag", "empty path component"),
        err(format!("@{d256}"), "empty path component"),
        // upper case in the repository (including a would-be upper-case namespace)
        err("Nginx", "repository name must be lowercase"),
        err("docker.io/library/Nginx", "repository name must be lowercase"),
        err("example.com/Foo/bar", "repository name must be lowercase"),
        err("FOO/bar", "repository name must be lowercase"),
        err("foo/-Bar", "repository name must be lowercase"),
        // path component shape
        err("-foo/bar", "must start with a lowercase letter or digit"),
        err("_foo/bar", "must start with a lowercase letter or digit"),
        err("foo-/bar", "must end with a lowercase letter or digit"),
        err("example.com/foo.", "must end with a lowercase letter or digit"),
        err("foo..bar", "invalid separator \"..\""),
        err("foo_.bar", "invalid separator \"_.\""),
        err("foo-.bar", "invalid separator \"-.\""),
        err("foo.-bar", "invalid separator \".-\""),
        err("foo___bar", "invalid separator \"___\""),
        // tags
        err("nginx:", "empty tag"),
        err(format!("nginx:@{d256}"), "empty tag"),
        err("nginx:-tag", "tag \"-tag\" is invalid: must start"),
        err("nginx:.tag", "tag \".tag\" is invalid: must start"),
        err("nginx:ta g", "tag \"ta g\" is invalid: character ' '"),
        err("nginx:tag!", "tag \"tag!\" is invalid: character '!'"),
        err("nginx:a:b", "tag \"a:b\" is invalid: character ':'"),
        err("foo/bar:tag/baz", "tag \"tag/baz\" is invalid: character '/'"),
        err(format!("nginx:{}", a(129)), "is invalid: longer than 128 characters"),
        // digests
        err("nginx@", "empty digest"),
        err("nginx:tag@", "empty digest"),
        err("nginx@sha256:abc", "invalid digest: sha256 digest must have 64 hex characters"),
        err(format!("nginx@md5:{HEX256}"), "invalid digest: unsupported digest algorithm"),
        err(format!("nginx@sha256:{}", HEX256.to_uppercase()), "invalid digest: digest hex must be lowercase"),
        err(format!("nginx@{HEX256}"), "invalid digest: digest has no algorithm prefix"),
        err(format!("nginx@sha512:{HEX256}"), "invalid digest: sha512 digest must have 128"),
        err(format!("nginx@{d256}@{d256}"), "invalid digest"),
        err(HEX256, "64-byte hexadecimal"),
        // registry hosts
        err("example.com:abc/foo", "port \"abc\" must be numeric"),
        err("example.com:50a0/foo", "port \"50a0\" must be numeric"),
        err("foo:bar/baz", "port \"bar\" must be numeric"),
        err("fc00::1:5000/debian", "port \":1:5000\" must be numeric"),
        err("example.com:/foo", "empty port"),
        err("https://github.com/docker/docker", "no URL scheme (drop \"https://\")"),
        err("[::1]:/foo", "empty port"),
        err(":5000/foo", "empty host name"),
        err("[::1/foo", "missing its closing ']'"),
        err("[]:5000/foo", "invalid IPv6 address"),
        err("[fe80::1%eth0]:5000/debian", "invalid IPv6 address"),
        err("[2001:db8::192.0.2.33]/x", "invalid IPv6 address"),
        err("[::1]x/foo", "only ':port' may follow"),
        err("-example.com/foo", "must start and end with a letter or digit"),
        err("example-.com/foo", "must start and end with a letter or digit"),
        err("example..com/foo", "empty domain component"),
        err(".example.com/foo", "empty domain component"),
        err("exa_mple.com/foo", "invalid character '_' in domain component"),
        // length
        err(format!("example.com/{}", a(256)), "repository name longer than 255 characters"),
        err(a(248), "repository name longer than 255 characters"),
        err(format!("example.com/{}/{}", a(200), a(100)), "repository name longer than 255 characters"),
    ]
}

#[test]
fn table() {
    let cases = cases();
    let valid = cases.iter().filter(|c| c.expect.is_ok()).count();
    let invalid = cases.len() - valid;
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    assert!(
        valid >= 40 && invalid >= 40,
        "{valid} valid, {invalid} invalid"
    );

    let mut failures = Vec::new();
    for case in &cases {
        let got = Reference::parse(&case.input);
        match (&case.expect, got) {
            (Ok(want), Ok(r)) => {
                let have = (
                    r.registry().to_owned(),
                    r.repository().to_owned(),
                    r.tag().map(str::to_owned),
                    r.digest().map(|d| d.as_str().to_owned()),
                );
                if &have != want {
                    failures.push(format!("{:?}: want {want:?}, got {have:?}", case.input));
                    continue;
                }
                // Display round trip: the canonical form parses back to the same value.
                let shown = r.to_string();
                match Reference::parse(&shown) {
                    Ok(again) if again == r => {}
                    other => failures.push(format!(
                        "{:?}: display {shown:?} does not round-trip: {other:?}",
                        case.input
                    )),
                }
            }
            (Err(want), Err(e)) => {
                if e.input != case.input || !e.reason.contains(want) {
                    failures.push(format!(
                        "{:?}: want reason containing {want:?}, got {e:?}",
                        case.input
                    ));
                }
            }
            (want, got) => failures.push(format!("{:?}: want {want:?}, got {got:?}", case.input)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn parse(s: &str) -> Reference {
    match Reference::parse(s) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn name_and_display() {
    assert_eq!(parse("nginx").name(), "docker.io/library/nginx");
    assert_eq!(parse("localhost:5000/a/b:t").name(), "localhost:5000/a/b");
    assert_eq!(parse("[::1]:5000/x").name(), "[::1]:5000/x");
    assert_eq!(parse("nginx").to_string(), "docker.io/library/nginx:latest");
    let both = parse(&format!("index.docker.io/nginx:1@sha256:{HEX256}"));
    assert_eq!(
        both.to_string(),
        format!("docker.io/library/nginx:1@sha256:{HEX256}")
    );
    assert_eq!(
        format!("{both:?}"),
        format!("Reference(docker.io/library/nginx:1@sha256:{HEX256})")
    );
    assert!(!both.is_digest_only());
    assert!(parse(&format!("nginx@sha256:{HEX256}")).is_digest_only());
}

#[test]
fn pinned() {
    let digest = match Digest::parse(&format!("sha256:{HEX256}")) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        parse("nginx:1.25").pinned(&digest),
        format!("docker.io/library/nginx@sha256:{HEX256}")
    );
    assert_eq!(
        parse("ghcr.io/o/a:v1").pinned(&digest),
        format!("ghcr.io/o/a@sha256:{HEX256}")
    );
    // the pinned form is itself a reference, digest only
    let pinned = parse(&parse("ghcr.io/o/a:v1").pinned(&digest));
    assert_eq!(pinned.tag(), None);
    assert_eq!(pinned.digest(), Some(&digest));
}

#[test]
fn api_host() {
    assert_eq!(parse("nginx").api_host(), DOCKER_HUB_API_HOST);
    assert_eq!(parse("index.docker.io/a/b").api_host(), DOCKER_HUB_API_HOST);
    assert_eq!(parse("docker.io/a/b").registry(), DOCKER_HUB);
    assert_eq!(parse("ghcr.io/a/b").api_host(), "ghcr.io");
    assert_eq!(parse("localhost:5000/a").api_host(), "localhost:5000");
    assert_eq!(parse("[::1]:5000/a").api_host(), "[::1]:5000");
    // every alias is reached on the API host, however it was spelled
    for alias in [
        "registry-1.docker.io/a/b",
        "Registry.Hub.Docker.com:443/a/b",
        "DOCKER.IO:443/a/b",
    ] {
        assert_eq!(parse(alias).api_host(), DOCKER_HUB_API_HOST, "{alias}");
    }
    assert_eq!(parse("GHCR.io:443/a/b").api_host(), "ghcr.io");
}

#[test]
fn canonical_registry_forms() {
    for (written, canonical) in [
        ("ghcr.io", "ghcr.io"),
        ("GHCR.IO", "ghcr.io"),
        ("ghcr.io:443", "ghcr.io"),
        ("Ghcr.Io:0443", "ghcr.io"),
        ("ghcr.io:80", "ghcr.io:80"),
        ("ghcr.io:8443", "ghcr.io:8443"),
        ("ghcr.io:4430", "ghcr.io:4430"),
        ("ghcr.io:00", "ghcr.io:0"),
        ("docker.io", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io:443", "docker.io"),
        ("REGISTRY.HUB.DOCKER.COM", "docker.io"),
        ("docker.io:5000", "docker.io:5000"),
        ("localhost", "localhost"),
        ("LOCALHOST:443", "localhost"),
        ("[::1]", "[::1]"),
        ("[::1]:443", "[::1]"),
        ("[0:0:0:0:0:0:0:1]:5000", "[::1]:5000"),
        ("[FC00::ABCD]", "[fc00::abcd]"),
        ("[::ffff:c000:0201]", "[::ffff:c000:201]"),
        // not validated: an unparsable IPv6 literal is only lowered, and a text with
        // several colons but no brackets has no port to drop
        ("[FC00::1::2]:443", "[fc00::1::2]"),
        // without its port the host would not be one (`myhost/app` is on Docker Hub)
        ("myhost:443", "myhost:443"),
        ("MyHost:0443", "myhost:443"),
        ("fe80::443", "fe80::443"),
        ("", ""),
    ] {
        assert_eq!(canonical_registry(written), canonical, "{written:?}");
        // canonical is a fixed point, and borrowed
        assert!(
            matches!(canonical_registry(canonical), Cow::Borrowed(c) if c == canonical),
            "{canonical:?}"
        );
    }
}

#[test]
fn respelled_registry_names_the_written_host() {
    for (input, written) in [
        ("GHCR.IO:443/org/app:v1", Some("GHCR.IO:443")),
        ("index.docker.io/nginx", Some("index.docker.io")),
        (
            "registry-1.docker.io/library/nginx",
            Some("registry-1.docker.io"),
        ),
        ("[0::1]:5000/a", Some("[0::1]:5000")),
        ("ghcr.io/org/app", None),
        ("docker.io/nginx", None),
        ("nginx", None),
        ("bitnami/redis", None),
    ] {
        assert_eq!(parse(input).respelled_registry(input), written, "{input}");
    }
}

#[test]
fn error_display_and_from_str() {
    let e = match "docker.io/Nginx".parse::<Reference>() {
        Err(e) => e,
        Ok(r) => panic!("parsed {r:?}"),
    };
    assert_eq!(e.input, "docker.io/Nginx");
    assert_eq!(
        e.to_string(),
        "invalid reference \"docker.io/Nginx\": repository name must be lowercase"
    );
    assert_eq!(
        "nginx".parse::<Reference>(),
        Ok(parse("docker.io/library/nginx:latest"))
    );
}
