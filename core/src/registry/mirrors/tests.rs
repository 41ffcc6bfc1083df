#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use std::collections::HashSet;
use std::path::Path;

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn with_conf(text: &str) -> (tempfile::TempDir, Mirrors) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "registries.conf", text);
    let mirrors = Mirrors::load(&MirrorFiles {
        registries_conf: Some(path),
        ..MirrorFiles::default()
    });
    (dir, mirrors)
}

fn with_hosts(files: &[(&str, &str)]) -> (tempfile::TempDir, Mirrors) {
    let dir = tempfile::tempdir().unwrap();
    for (host, text) in files {
        write(dir.path(), &format!("{host}/hosts.toml"), text);
    }
    let mirrors = Mirrors::load(&MirrorFiles {
        hosts_dir: Some(dir.path().to_owned()),
        ..MirrorFiles::default()
    });
    (dir, mirrors)
}

/// `(host, repository, plain_http, mirror)` of each endpoint, in order.
fn hosts(mirrors: &Mirrors, reference: &str, lookup: Lookup) -> Vec<(String, String, bool, bool)> {
    let reference = Reference::parse(reference).unwrap();
    mirrors
        .route(&reference, lookup, &HashSet::new())
        .unwrap_or_else(|e| panic!("{e}"))
        .endpoints
        .into_iter()
        .map(|e| (e.host, e.repository, e.plain_http, e.mirror))
        .collect()
}

fn names(mirrors: &Mirrors, reference: &str, lookup: Lookup) -> Vec<String> {
    hosts(mirrors, reference, lookup)
        .into_iter()
        .map(|(host, repository, ..)| format!("{host}/{repository}"))
        .collect()
}

fn refused(mirrors: &Mirrors, reference: &str, lookup: Lookup) -> String {
    let reference = Reference::parse(reference).unwrap();
    mirrors
        .route(&reference, lookup, &HashSet::new())
        .map(|r| format!("routed: {:?}", r.endpoints))
        .unwrap_err()
        .0
}

#[test]
fn no_configuration_is_the_registry_alone() {
    let none = Mirrors::none();
    assert_eq!(
        names(&none, "nginx:1", Lookup::Tag),
        ["registry-1.docker.io/library/nginx"]
    );
}

#[test]
fn mirrors_come_first_in_order_then_the_registry() {
    let (_dir, mirrors) = with_conf(
        r#"
unqualified-search-registries = ["docker.io"]
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "mirror-a.local:5000"
insecure = true
[[registry.mirror]]
location = "mirror-b.local/cache/hub"
"#,
    );
    assert_eq!(
        hosts(&mirrors, "nginx:1", Lookup::Tag),
        [
            (
                "mirror-a.local:5000".into(),
                "library/nginx".into(),
                true,
                true
            ),
            (
                "mirror-b.local".into(),
                "cache/hub/library/nginx".into(),
                false,
                true
            ),
            (
                "registry-1.docker.io".into(),
                "library/nginx".into(),
                false,
                false
            ),
        ]
    );
    // Another registry is untouched.
    assert_eq!(
        names(&mirrors, "ghcr.io/org/app:1", Lookup::Tag),
        ["ghcr.io/org/app"]
    );
}

#[test]
fn pull_from_mirror_and_mirror_by_digest_only_choose_by_lookup() {
    let (_dir, mirrors) = with_conf(
        r#"
[[registry]]
location = "example.com"
[[registry.mirror]]
location = "digests.local"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tags.local"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "all.local"

[[registry]]
location = "other.com"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m.local"
"#,
    );
    assert_eq!(
        names(&mirrors, "example.com/app:1", Lookup::Tag),
        ["tags.local/app", "all.local/app", "example.com/app"]
    );
    assert_eq!(
        names(&mirrors, "example.com/app:1", Lookup::Content),
        ["digests.local/app", "all.local/app", "example.com/app"]
    );
    assert_eq!(
        names(&mirrors, "other.com/app:1", Lookup::Tag),
        ["other.com/app"]
    );
    assert_eq!(
        names(&mirrors, "other.com/app:1", Lookup::Content),
        ["m.local/app", "other.com/app"]
    );
}

#[test]
fn the_longest_prefix_decides_and_rewrites_the_name() {
    let (_dir, mirrors) = with_conf(
        r#"
[[registry]]
location = "example.com"
[[registry.mirror]]
location = "short.local"

[[registry]]
prefix = "example.com/team"
location = "internal.local/mirrored/team"
"#,
    );
    assert_eq!(
        names(&mirrors, "example.com/team/app:1", Lookup::Tag),
        ["internal.local/mirrored/team/app"]
    );
    assert_eq!(
        names(&mirrors, "example.com/teamwork/app:1", Lookup::Tag),
        ["short.local/teamwork/app", "example.com/teamwork/app"],
        "a prefix matches at a path boundary only"
    );
}

#[test]
fn canonical_host_spellings_apply_to_config_keys() {
    let (_dir, mirrors) = with_conf(
        r#"
[[registry]]
prefix = "INDEX.DOCKER.IO"
location = "registry-1.docker.io:443"
[[registry.mirror]]
location = "Mirror.Local:05000"
"#,
    );
    assert_eq!(
        names(&mirrors, "docker.io/library/nginx:1", Lookup::Tag),
        [
            "mirror.local:5000/library/nginx",
            "registry-1.docker.io/library/nginx"
        ]
    );
}

#[test]
fn a_wildcard_prefix_matches_sub_domains() {
    let (_dir, mirrors) = with_conf(
        r#"
[[registry]]
prefix = "*.corp.example"
[[registry.mirror]]
location = "cache.local"
"#,
    );
    assert_eq!(
        names(&mirrors, "a.corp.example/app:1", Lookup::Tag),
        ["cache.local/app", "a.corp.example/app"]
    );
    assert_eq!(
        names(&mirrors, "corp.example.org/app:1", Lookup::Tag),
        ["corp.example.org/app"]
    );
}

#[test]
fn a_blocked_registry_is_refused_naming_the_file_and_entry() {
    let (dir, mirrors) = with_conf(
        r#"
[[registry]]
prefix = "evil.example"
location = "evil.example"
blocked = true

[[registry]]
location = "hub.example"
blocked = true
[[registry.mirror]]
location = "digests.local"
pull-from-mirror = "digest-only"
"#,
    );
    let why = refused(&mirrors, "evil.example/app:1", Lookup::Tag);
    let file = dir.path().join("registries.conf");
    for needed in [
        "evil.example/app is refused",
        &format!("blocked by {}", file.display()),
        "prefix = \"evil.example\"",
    ] {
        assert!(why.contains(needed), "{needed}: {why}");
    }
    // Blocked with a mirror: only the mirror is asked, for what it serves.
    assert_eq!(
        names(&mirrors, "hub.example/app:1", Lookup::Content),
        ["digests.local/app"]
    );
    let why = refused(&mirrors, "hub.example/app:1", Lookup::Tag);
    assert!(why.contains("resolving its tag"), "{why}");
}

#[test]
fn version_1_lists_are_converted() {
    let (_dir, mirrors) = with_conf(
        r#"
[registries.insecure]
registries = ["plain.local:5000"]
[registries.block]
registries = ["blocked.local"]
"#,
    );
    assert_eq!(
        hosts(&mirrors, "plain.local:5000/app:1", Lookup::Tag),
        [("plain.local:5000".into(), "app".into(), true, false)]
    );
    assert!(refused(&mirrors, "blocked.local/app:1", Lookup::Tag).contains("blocked"));
}

#[test]
fn drop_ins_beside_the_file_replace_entries_of_the_same_prefix_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "registries.conf",
        "[[registry]]\nlocation = \"a.example\"\n[[registry.mirror]]\nlocation = \"first.local\"\n",
    );
    write(
        dir.path(),
        "registries.conf.d/20-b.conf",
        "[[registry]]\nlocation = \"a.example\"\n[[registry.mirror]]\nlocation = \"third.local\"\n",
    );
    write(
        dir.path(),
        "registries.conf.d/10-a.conf",
        "[[registry]]\nlocation = \"a.example\"\n[[registry.mirror]]\nlocation = \"second.local\"\n",
    );
    write(dir.path(), "registries.conf.d/ignored.txt", "not toml [");
    let mirrors = Mirrors::load(&MirrorFiles {
        registries_conf: Some(main),
        ..MirrorFiles::default()
    });
    assert_eq!(
        names(&mirrors, "a.example/app:1", Lookup::Tag),
        ["third.local/app", "a.example/app"]
    );
}

#[test]
fn a_missing_standard_file_is_no_mirrors_and_a_named_one_refuses_everything() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("registries.conf");
    let optional = Mirrors::load(&MirrorFiles {
        registries_conf: Some(missing.clone()),
        registries_conf_optional: true,
        hosts_dir: None,
    });
    assert_eq!(
        names(&optional, "ghcr.io/a/b:1", Lookup::Tag),
        ["ghcr.io/a/b"]
    );
    let named = Mirrors::load(&MirrorFiles {
        registries_conf: Some(missing.clone()),
        ..MirrorFiles::default()
    });
    let why = refused(&named, "ghcr.io/a/b:1", Lookup::Tag);
    assert!(why.contains(&missing.display().to_string()), "{why}");
}

#[test]
fn unusable_files_say_what_is_wrong() {
    for (text, says) in [
        (
            "[[registry]]\nlocation = \"https://a.example\"\n",
            "URL schemes are not supported",
        ),
        (
            "[[registry]]\ninsecure = true\n",
            "neither prefix nor location",
        ),
        (
            "[[registry]]\nlocation = \"a.example\"\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"sometimes\"\n",
            "pull-from-mirror \"sometimes\"",
        ),
        (
            "[[registry]]\nlocation = \"a.example\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"all\"\n",
            "set one of them",
        ),
        (
            "[[registry]]\nlocation = \"a.example\"\npull-from-mirror = \"all\"\n",
            "belongs in a [[registry.mirror]]",
        ),
        (
            "[[registry]]\nprefix = \"*.a.example/path\"\n",
            "wildcard prefix",
        ),
        (
            "[registries.block]\nregistries = [\"a\"]\n[[registry]]\nlocation = \"b.example\"\n",
            "mixing version 1",
        ),
        ("[[registry]\n", "registries.conf"),
    ] {
        let (_dir, mirrors) = with_conf(text);
        let why = refused(&mirrors, "a.example/app:1", Lookup::Tag);
        assert!(why.contains(says), "{text:?}: {why}");
    }
}

#[test]
fn hosts_toml_hosts_are_tried_in_file_order_then_the_server() {
    let (_dir, mirrors) = with_hosts(&[(
        "docker.io",
        r#"
server = "https://registry-1.docker.io"

[host."http://zz-first.local:5000"]
capabilities = ["pull", "resolve"]

[host."aa-second.local/cache"]
capabilities = ["pull"]

[host."https://override.local/v2/proxy/docker"]
override_path = true
"#,
    )]);
    assert_eq!(
        hosts(&mirrors, "nginx:1", Lookup::Tag),
        [
            (
                "zz-first.local:5000".into(),
                "library/nginx".into(),
                true,
                true
            ),
            ("override.local".into(), "library/nginx".into(), false, true),
            (
                "registry-1.docker.io".into(),
                "library/nginx".into(),
                false,
                false
            ),
        ],
        "a host without resolve is not asked for tags"
    );
    let reference = Reference::parse("nginx:1").unwrap();
    let route = mirrors
        .route(&reference, Lookup::Content, &HashSet::new())
        .unwrap();
    let roots: Vec<(&str, &str)> = route
        .endpoints
        .iter()
        .map(|e| (e.host.as_str(), e.api_root.as_str()))
        .collect();
    assert_eq!(
        roots,
        [
            ("zz-first.local:5000", "/v2"),
            ("aa-second.local", "/cache/v2"),
            ("override.local", "/v2/proxy/docker"),
            ("registry-1.docker.io", "/v2"),
        ]
    );
}

#[test]
fn hosts_directories_by_any_spelling_and_the_default() {
    let (_dir, mirrors) = with_hosts(&[
        ("registry.local_5000_", "[host.\"http://m1.local:5001\"]\n"),
        (
            "_default",
            "[host.\"http://fallback.local\"]\ncapabilities = [\"pull\"]\n",
        ),
        ("INDEX.DOCKER.IO", "[host.\"http://hub-mirror.local\"]\n"),
    ]);
    assert_eq!(
        names(&mirrors, "registry.local:5000/app:1", Lookup::Tag),
        ["m1.local:5001/app", "registry.local:5000/app"]
    );
    assert_eq!(
        names(&mirrors, "docker.io/library/nginx:1", Lookup::Tag),
        [
            "hub-mirror.local/library/nginx",
            "registry-1.docker.io/library/nginx"
        ]
    );
    assert_eq!(
        names(&mirrors, "ghcr.io/a/b:1", Lookup::Content),
        ["fallback.local/a/b", "ghcr.io/a/b"]
    );
    assert_eq!(
        names(&mirrors, "ghcr.io/a/b:1", Lookup::Tag),
        ["ghcr.io/a/b"]
    );
}

#[test]
fn a_server_without_resolve_leaves_tags_to_no_one_and_says_so() {
    let (_dir, mirrors) = with_hosts(&[(
        "registry.local",
        "server = \"https://registry.local\"\ncapabilities = [\"pull\"]\n",
    )]);
    let why = refused(&mirrors, "registry.local/app:1", Lookup::Tag);
    assert!(why.contains("no host may serve it"), "{why}");
}

/// A self-signed CA certificate (no key kept): what a `ca` file holds.
const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUGmbaG+68T964gdLboMhKimxak4kwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSaW1hZ2VjaGVjayB0ZXN0IENBMCAXDTI2MTIwMTExNTYzMVoY
DzIxMjYxMTA3MTE1NjMxWjAdMRswGQYDVQQDDBJpbWFnZWNoZWNrIHRlc3QgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATzDDRhpZGPQIKfQGm3AKlUFRwEwttN
aY6NxrrXrYSJqO7mNJpB7XGDqACN2MZxhJ8aSm+pIWn84trvtt+HEA9to1MwUTAd
BgNVHQ4EFgQUho+3xm8k20CrGL/7A/Dg+JXmDPgwHwYDVR0jBBgwFoAUho+3xm8k
20CrGL/7A/Dg+JXmDPgwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEAlPkcQO5bUGBSoT7VW66c2/55mDYG+d4QnyKBMdjPciQCIQC08QlTzY7lB/6E
zoVq8LzU1Yt/DCfgNUZl13cBr7JjTg==
-----END CERTIFICATE-----\n";

#[test]
fn hosts_toml_tls_settings_become_profiles() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "secure.local/ca.pem", TEST_CA);
    write(
        dir.path(),
        "secure.local/hosts.toml",
        "[host.\"https://m.local\"]\nca = \"ca.pem\"\n[host.\"https://n.local\"]\nskip_verify = true\n",
    );
    let mirrors = Mirrors::load(&MirrorFiles {
        hosts_dir: Some(dir.path().to_owned()),
        ..MirrorFiles::default()
    });
    let reference = Reference::parse("secure.local/app:1").unwrap();
    let route = mirrors
        .route(&reference, Lookup::Tag, &HashSet::new())
        .unwrap();
    let profiles = mirrors.tls_profiles();
    let kinds: Vec<&TlsProfile> = route.endpoints.iter().map(|e| &profiles[e.tls]).collect();
    assert!(matches!(kinds[0], TlsProfile::ExtraRoots(roots) if roots.len() == 1));
    assert_eq!(kinds[1], &TlsProfile::SkipVerify);
    assert_eq!(kinds[2], &TlsProfile::Platform);

    write(
        dir.path(),
        "secure.local/hosts.toml",
        "[host.\"https://m.local\"]\nca = \"missing.pem\"\n",
    );
    let broken = Mirrors::load(&MirrorFiles {
        hosts_dir: Some(dir.path().to_owned()),
        ..MirrorFiles::default()
    });
    // containerd's rule: an unusable hosts.toml is as if absent (logged).
    assert_eq!(
        names(&broken, "secure.local/app:1", Lookup::Tag),
        ["secure.local/app"]
    );
}

#[test]
fn a_block_in_registries_conf_holds_over_a_hosts_toml_route() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(
        dir.path(),
        "registries.conf",
        "[[registry]]\nlocation = \"blocked.local\"\nblocked = true\n",
    );
    write(
        dir.path(),
        "hosts/blocked.local/hosts.toml",
        "[host.\"http://m.local\"]\n",
    );
    let mirrors = Mirrors::load(&MirrorFiles {
        registries_conf: Some(conf),
        registries_conf_optional: false,
        hosts_dir: Some(dir.path().join("hosts")),
    });
    // The mirror may serve; the blocked registry itself is never asked.
    let reference = Reference::parse("blocked.local/app:1").unwrap();
    let route = mirrors
        .route(&reference, Lookup::Tag, &HashSet::new())
        .unwrap();
    assert_eq!(route.endpoints.len(), 1);
    assert_eq!(route.endpoints[0].host, "m.local");
    assert!(route.blocked.is_some());
}
