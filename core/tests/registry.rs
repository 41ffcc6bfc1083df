//! Resolving against real Distribution registries (plain, htpasswd, token auth) started by
//! the harness, with skopeo as the independent oracle.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use std::time::Duration;

use imagecheck::registry::{AuthSource, AuthSources};
use imagecheck::{CauseKind, Credentials, Engine, ErrorKind};
use support::{count_requests, harness, log_offset, requests_for, settle, skopeo_digest, unique};

const TTL: Duration = Duration::from_secs(60);

fn creds_for(registry: &str) -> Option<Credentials> {
    let h = harness();
    match registry {
        "plain" => None,
        r => {
            let (u, p) = h.user(r);
            Some(Credentials::new(h.host(r), u, p))
        }
    }
}

#[tokio::test]
async fn every_harness_image_resolves_to_the_digest_skopeo_sees() {
    let h = harness();
    let resolver = h.resolver_builder().build();
    let images = h.images();
    assert!(images.len() >= 9, "harness pushed {} images", images.len());
    for image in images {
        let creds = creds_for(&image.registry);
        let digest = resolver
            .resolve_with(
                &Engine::Registry,
                &image.reference,
                Duration::ZERO,
                creds.as_ref(),
            )
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", image.name));
        let oracle = skopeo_digest(
            &image.reference,
            creds.as_ref().map(|c| (c.username(), c.password())),
        );
        assert_eq!(digest.as_str(), oracle, "{} against skopeo", image.name);
        assert_eq!(
            digest.as_str(),
            image.digest,
            "{} against the harness",
            image.name
        );
    }
}

#[tokio::test]
async fn a_manifest_list_resolves_to_the_list_not_a_child() {
    // A registry asked only for Docker v2 silently answers the amd64 child; the full Accept
    // list gets the list itself.
    let h = harness();
    let image = h.image("dockerlist-v2s2");
    let digest = h
        .resolver_builder()
        .build()
        .resolve(&Engine::Registry, &image.reference, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(digest.as_str(), image.digest);
}

#[tokio::test]
async fn a_moved_tag_is_not_seen_within_the_ttl_and_is_seen_with_zero_ttl() {
    let h = harness();
    let repo = format!("moving/{}", unique("m"));
    let reference = format!("{}/{repo}:v1", h.host("plain"));
    let first = h.push_new(&format!("{repo}-a"), "plain", &format!("{repo}:v1"));
    let resolver = h.resolver_builder().build();
    assert_eq!(
        resolver
            .resolve(&Engine::Registry, &reference, TTL)
            .await
            .unwrap()
            .as_str(),
        first
    );
    let second = h.push_new(&format!("{repo}-b"), "plain", &format!("{repo}:v1"));
    assert_ne!(first, second);
    assert_eq!(
        resolver
            .resolve(&Engine::Registry, &reference, TTL)
            .await
            .unwrap()
            .as_str(),
        first,
        "within the TTL the cached digest is served"
    );
    assert_eq!(
        resolver
            .resolve(&Engine::Registry, &reference, Duration::ZERO)
            .await
            .unwrap()
            .as_str(),
        second,
        "ttl=0 sees the move"
    );
    assert_eq!(
        resolver
            .resolve(&Engine::Registry, &reference, TTL)
            .await
            .unwrap()
            .as_str(),
        second,
        "and refreshed the entry for everyone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_resolves_make_one_request() {
    let h = harness();
    let repo = format!("count/{}", unique("c"));
    let digest = h.push_new(&repo, "plain", &format!("{repo}:v1"));
    let reference = format!("{}/{repo}:v1", h.host("plain"));
    let log = h.log("plain");
    settle();
    let offset = log_offset(&log);
    let resolver = h.resolver_builder().build();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (resolver, reference) = (resolver.clone(), reference.clone());
        tasks.push(tokio::spawn(async move {
            resolver.resolve(&Engine::Registry, &reference, TTL).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().as_str(), digest);
    }
    settle();
    let seen = requests_for(&log, offset, &repo);
    assert_eq!(
        seen.len(),
        1,
        "exactly one request reached the registry: {seen:#?}"
    );
    assert!(
        seen[0].contains("\"HEAD /v2/"),
        "and it was a HEAD: {seen:?}"
    );
}

#[tokio::test]
async fn after_the_first_resolve_each_cold_resolve_is_exactly_one_head_even_with_token_auth() {
    let h = harness();
    let (user, password) = h.user("token");
    let creds = Credentials::new(h.host("token"), user, password);
    let resolver = h.resolver_builder().build();
    let log = h.log("token");
    let repo = format!("private/{}", unique("t"));
    let mut tags = Vec::new();
    for i in 0..3 {
        h.push_new(&format!("{repo}-{i}"), "token", &format!("{repo}:t{i}"));
        tags.push(format!("{}/{repo}:t{i}", h.host("token")));
    }
    resolver
        .resolve_with(&Engine::Registry, &tags[0], Duration::ZERO, Some(&creds))
        .await
        .unwrap();
    settle();
    let offset = log_offset(&log);
    let token_log = std::path::PathBuf::from(
        h.state["registries"]["token"]["token_log"]
            .as_str()
            .unwrap(),
    );
    let token_offset = log_offset(&token_log);
    for tag in &tags[1..] {
        resolver
            .resolve_with(&Engine::Registry, tag, Duration::ZERO, Some(&creds))
            .await
            .unwrap();
    }
    settle();
    let seen = requests_for(&log, offset, &repo);
    assert_eq!(seen.len(), 2, "one request per resolve: {seen:#?}");
    assert!(
        seen.iter()
            .all(|l| l.contains("\"HEAD ") && l.contains("\" 200 ")),
        "{seen:#?}"
    );
    // Other tests ask the same token server meanwhile: count only this repository's scope.
    let token_requests = std::fs::read(&token_log).unwrap();
    let for_repo = String::from_utf8_lossy(&token_requests[token_offset as usize..])
        .lines()
        .filter(|l| l.contains(&format!("repository:{repo}:")))
        .count();
    assert_eq!(for_repo, 0, "the token for this repository was reused");
}

#[tokio::test]
async fn unknown_tag_is_not_found() {
    let h = harness();
    let err = h
        .resolver_builder()
        .build()
        .resolve(
            &Engine::Registry,
            &format!("{}/test/hello:no-such-tag", h.host("plain")),
            Duration::ZERO,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DigestUnavailable);
    assert_eq!(
        err.digest_cause().unwrap().kind,
        CauseKind::NotFound,
        "{err}"
    );
}

#[tokio::test]
async fn wrong_password_is_unauthorized_on_basic_and_token_registries_and_never_shown() {
    let h = harness();
    let resolver = h.resolver_builder().build();
    for registry in ["basic", "token"] {
        let image = h
            .images()
            .into_iter()
            .find(|i| i.registry == registry)
            .unwrap();
        let (user, _) = h.user(registry);
        let wrong = Credentials::new(h.host(registry), user, "definitely-wrong-pw");
        let err = resolver
            .resolve_with(
                &Engine::Registry,
                &image.reference,
                Duration::ZERO,
                Some(&wrong),
            )
            .await
            .unwrap_err();
        assert_eq!(
            err.digest_cause().unwrap().kind,
            CauseKind::Unauthorized,
            "{registry}: {err}"
        );
        assert!(!err.to_string().contains("definitely-wrong-pw"));
        assert!(!format!("{err:?}").contains("definitely-wrong-pw"));
    }
}

#[tokio::test]
async fn credentials_do_not_stick_to_the_client() {
    // oci-client keeps the first credentials per registry; ours must not.
    let h = harness();
    let resolver = h.resolver_builder().build();
    let image = h.image("basic-hello-oci");
    let (user, password) = h.user("basic");
    let right = Credentials::new(h.host("basic"), &user, &password);
    let wrong = Credentials::new(h.host("basic"), &user, "nope");
    let r = &image.reference;
    let zero = Duration::ZERO;
    assert!(
        resolver
            .resolve_with(&Engine::Registry, r, zero, Some(&wrong))
            .await
            .is_err()
    );
    assert_eq!(
        resolver
            .resolve_with(&Engine::Registry, r, zero, Some(&right))
            .await
            .unwrap()
            .as_str(),
        image.digest
    );
    assert!(
        resolver
            .resolve_with(&Engine::Registry, r, zero, Some(&wrong))
            .await
            .is_err(),
        "a later caller with wrong credentials is refused"
    );
    let anonymous = resolver
        .resolve_with(&Engine::Registry, r, zero, None)
        .await
        .unwrap_err();
    assert_eq!(
        anonymous.digest_cause().unwrap().kind,
        CauseKind::Unauthorized
    );
    // The cached answer from the right credentials is not served to anyone else.
    let cached = resolver
        .resolve_with(&Engine::Registry, &image.reference, TTL, None)
        .await;
    assert!(
        cached.is_err(),
        "an anonymous caller is not served the authenticated answer"
    );
}

#[tokio::test]
async fn private_token_image_without_credentials_is_unauthorized_and_public_is_anonymous() {
    let h = harness();
    let resolver = h.resolver_builder().build();
    let private = h.image("token-private-hello-oci");
    let err = resolver
        .resolve(&Engine::Registry, &private.reference, Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(
        err.digest_cause().unwrap().kind,
        CauseKind::Unauthorized,
        "{err}"
    );
    let public = h.image("token-public-hello-oci");
    assert_eq!(
        resolver
            .resolve(&Engine::Registry, &public.reference, Duration::ZERO)
            .await
            .unwrap()
            .as_str(),
        public.digest
    );
}

#[tokio::test]
async fn docker_config_json_and_auth_json_credentials_are_used() {
    use base64::Engine as _;
    let h = harness();
    let dir = tempfile::tempdir().unwrap();
    let (alice, alice_pw) = h.user("basic");
    let (bob, bob_pw) = h.user("token");
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let docker = dir.path().join("config.json");
    std::fs::write(
        &docker,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            h.host("basic"),
            b64(format!("{alice}:{alice_pw}"))
        ),
    )
    .unwrap();
    let containers = dir.path().join("auth.json");
    std::fs::write(
        &containers,
        format!(
            r#"{{"auths":{{"{}/private":{{"auth":"{}"}}}}}}"#,
            h.host("token"),
            b64(format!("{bob}:{bob_pw}"))
        ),
    )
    .unwrap();
    let resolver = h
        .resolver_builder()
        .auth_sources(AuthSources::new(vec![
            AuthSource::ContainersAuth(containers),
            AuthSource::DockerConfig(docker),
        ]))
        .build();
    for name in ["basic-hello-oci", "token-private-hello-oci"] {
        let image = h.image(name);
        assert_eq!(
            resolver
                .resolve(&Engine::Registry, &image.reference, Duration::ZERO)
                .await
                .unwrap()
                .as_str(),
            image.digest,
            "{name}"
        );
    }
}

#[tokio::test]
async fn registry_down_is_a_network_cause() {
    let host = format!("127.0.0.1:{}", support::unused_port());
    let resolver = imagecheck::Resolver::builder()
        .insecure_registry(&host)
        .build();
    let err = resolver
        .resolve(&Engine::Registry, &format!("{host}/a/b:c"), Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(
        err.digest_cause().unwrap().kind,
        CauseKind::Network,
        "{err}"
    );
}

#[tokio::test]
async fn a_registry_lying_about_the_digest_is_an_invalid_response_and_not_cached() {
    let body =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#.to_vec();
    let lie = format!("sha256:{}", "0".repeat(64));
    let fake = support::fake_registry::start(move |method, _| support::fake_registry::Answer {
        status: 200,
        headers: if method == "GET" {
            vec![
                (
                    "content-type".into(),
                    "application/vnd.oci.image.manifest.v1+json".into(),
                ),
                ("docker-content-digest".into(), lie.clone()),
            ]
        } else {
            // HEAD omits the digest header, forcing the GET-and-hash fallback.
            vec![(
                "content-type".into(),
                "application/vnd.oci.image.manifest.v1+json".into(),
            )]
        },
        body: body.clone(),
        ..Default::default()
    })
    .await;
    let resolver = imagecheck::Resolver::builder()
        .insecure_registry(&fake.host)
        .build();
    let reference = format!("{}/liar/app:v1", fake.host);
    for _ in 0..2 {
        let err = resolver
            .resolve(&Engine::Registry, &reference, TTL)
            .await
            .unwrap_err();
        assert_eq!(
            err.digest_cause().unwrap().kind,
            CauseKind::InvalidResponse,
            "{err}"
        );
    }
    assert_eq!(
        fake.requests.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "HEAD+GET twice: the failure was not cached"
    );
}

#[tokio::test]
async fn a_missing_digest_header_falls_back_to_hashing_the_manifest() {
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#.to_vec();
    let expected = imagecheck::Digest::sha256_of(&body);
    let served = body.clone();
    let fake = support::fake_registry::start(move |_, _| support::fake_registry::Answer {
        status: 200,
        headers: vec![(
            "content-type".into(),
            "application/vnd.oci.image.manifest.v1+json".into(),
        )],
        body: served.clone(),
        ..Default::default()
    })
    .await;
    let resolver = imagecheck::Resolver::builder()
        .insecure_registry(&fake.host)
        .build();
    let digest = resolver
        .resolve(
            &Engine::Registry,
            &format!("{}/quiet/app:v1", fake.host),
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(digest, expected);
}

#[tokio::test]
async fn a_stalled_registry_times_out() {
    let fake = support::fake_registry::start(|_, _| support::fake_registry::Answer {
        status: 200,
        headers: vec![],
        delay: Duration::from_secs(3),
        ..Default::default()
    })
    .await;
    let resolver = imagecheck::Resolver::builder()
        .insecure_registry(&fake.host)
        .request_timeout(Duration::from_millis(300))
        .build();
    let started = std::time::Instant::now();
    let err = resolver
        .resolve(
            &Engine::Registry,
            &format!("{}/slow/app:v1", fake.host),
            Duration::ZERO,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.digest_cause().unwrap().kind,
        CauseKind::Timeout,
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout was honoured"
    );
}

#[test]
fn default_resolver_is_one_instance() {
    assert!(std::ptr::eq(
        imagecheck::default_resolver(),
        imagecheck::default_resolver()
    ));
    let _ = count_requests; // used by other test files
}
