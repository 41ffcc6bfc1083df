//! Fault injection: a loopback registry that misbehaves on purpose. Each case must give a clear
//! error of the right kind, no panic, no unbounded wait, nothing cached from a bad answer, and
//! never `verified = true`.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use std::time::{Duration, Instant};

use imagecheck::registry::{HostLookup, RegistryClient, RegistryConfig};
use imagecheck::{
    CauseKind, Credentials, DigestCause, Engine, Error, ErrorKind, Policy, Reference, Resolver,
    Verifier,
};
use support::fake_registry::{self, Answer, Body, FakeRegistry};

const OCI: &str = "application/vnd.oci.image.manifest.v1+json";
const TTL: Duration = Duration::from_secs(60);

fn resolver(fake: &FakeRegistry) -> Resolver {
    Resolver::builder()
        .insecure_registry(&fake.host)
        .request_timeout(Duration::from_secs(2))
        .build()
}

async fn resolve(fake: &FakeRegistry) -> Result<imagecheck::Digest, Error> {
    resolver(fake)
        .resolve(
            &Engine::Registry,
            &format!("{}/fault/app:v1", fake.host),
            TTL,
        )
        .await
}

fn cause(e: &Error) -> CauseKind {
    e.digest_cause()
        .unwrap_or_else(|| panic!("not DigestUnavailable: {e}"))
        .kind
}

#[tokio::test]
async fn a_reset_connection_is_a_network_cause() {
    let fake = fake_registry::start(|_, _| Answer {
        mode: Body::Reset,
        ..Default::default()
    })
    .await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::Network, "{err}");
}

#[tokio::test]
async fn a_500_is_an_invalid_response_and_is_not_cached() {
    let fake = fake_registry::start(|_, _| Answer::new(500, &[], b"boom")).await;
    let r = resolver(&fake);
    let reference = format!("{}/fault/app:v1", fake.host);
    for _ in 0..2 {
        let err = r
            .resolve(&Engine::Registry, &reference, TTL)
            .await
            .unwrap_err();
        assert_eq!(cause(&err), CauseKind::InvalidResponse, "{err}");
        assert!(err.to_string().contains("500"), "{err}");
    }
    assert_eq!(fake.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_429_is_rate_limited_and_says_when_to_retry() {
    let fake = fake_registry::start(|_, _| Answer::new(429, &[("retry-after", "7")], b"")).await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::RateLimited, "{err}");
    assert!(err.to_string().contains("retry after 7"), "{err}");
}

/// HEAD without a digest forces a GET, which answers with `mode`.
async fn get_fallback_with(
    mode: Body,
) -> (FakeRegistry, Result<imagecheck::Digest, Error>, Duration) {
    let fake = fake_registry::start(move |method, _| {
        let mut a = Answer::new(200, &[("content-type", OCI)], b"{}");
        if method == "GET" {
            a.mode = mode.clone();
        }
        a
    })
    .await;
    let started = Instant::now();
    let answer = resolve(&fake).await;
    (fake, answer, started.elapsed())
}

#[tokio::test]
async fn a_claimed_ten_gigabyte_manifest_is_refused_without_reading_it() {
    let (_fake, answer, took) = get_fallback_with(Body::ClaimLength(10 * 1024 * 1024 * 1024)).await;
    let err = answer.unwrap_err();
    assert_eq!(cause(&err), CauseKind::InvalidResponse, "{err}");
    assert!(err.to_string().contains("limit"), "{err}");
    assert!(
        took < Duration::from_secs(2),
        "refused from the header, not after a stall: {took:?}"
    );
}

#[tokio::test]
async fn an_endless_manifest_stream_stops_at_the_limit_in_bounded_memory() {
    let (_fake, answer, took) = get_fallback_with(Body::Endless).await;
    let err = answer.unwrap_err();
    assert_eq!(cause(&err), CauseKind::InvalidResponse, "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Memory is measured on a process of its own: cli/tests/cli.rs runs the CLI against an
    // endless stream and reads its peak RSS (this process runs other tests in parallel).
}

#[tokio::test]
async fn a_redirect_loop_is_an_invalid_response() {
    let fake = fake_registry::start(|_, path| Answer::new(302, &[("location", path)], b"")).await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::InvalidResponse, "{err}");
}

#[tokio::test]
async fn a_redirect_to_another_host_never_carries_the_credentials() {
    let digest = format!("sha256:{}", "c".repeat(64));
    let other = {
        let digest = digest.clone();
        fake_registry::start(move |_, _| {
            Answer::new(
                200,
                &[("docker-content-digest", &digest), ("content-type", OCI)],
                b"",
            )
        })
        .await
    };
    let target = format!("http://{}/v2/elsewhere/manifests/v1", other.host);
    // The registry challenges first (so credentials are sent), then redirects elsewhere.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let first = fake_registry::start(move |_, _| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Answer::new(401, &[("www-authenticate", "Basic realm=\"fake\"")], b"")
        } else {
            Answer::new(307, &[("location", &target)], b"")
        }
    })
    .await;
    let creds = Credentials::new(&first.host, "user", "s3cret-password");
    let resolver = Resolver::builder().insecure_registry(&first.host).build();
    let reference = format!("{}/fault/app:v1", first.host);
    let answer = resolver
        .resolve_with(&Engine::Registry, &reference, TTL, Some(&creds))
        .await;
    assert_eq!(answer.unwrap().as_str(), digest);
    let sent = first.heads();
    assert!(
        sent.last()
            .unwrap()
            .to_ascii_lowercase()
            .contains("authorization: basic"),
        "the registry itself received the credentials: {sent:?}"
    );
    assert!(!other.heads().is_empty());
    for head in other.heads() {
        assert!(
            !head.to_ascii_lowercase().contains("authorization"),
            "{head}"
        );
    }
}

#[tokio::test]
async fn a_token_realm_on_an_unreachable_host_is_a_network_cause_naming_the_token_server() {
    let closed = support::unused_port();
    let challenge = format!("Bearer realm=\"http://127.0.0.1:{closed}/token\",service=\"fake\"");
    let fake = fake_registry::start(move |_, _| {
        Answer::new(401, &[("www-authenticate", &challenge)], b"")
    })
    .await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::Network, "{err}");
    assert!(err.to_string().contains("token server"), "{err}");
}

#[tokio::test]
async fn malformed_token_json_is_an_invalid_response() {
    let tokens = fake_registry::start(|_, _| {
        Answer::new(200, &[("content-type", "application/json")], b"{not json")
    })
    .await;
    let challenge = format!(
        "Bearer realm=\"http://{}/token\",service=\"fake\"",
        tokens.host
    );
    let fake = fake_registry::start(move |_, _| {
        Answer::new(401, &[("www-authenticate", &challenge)], b"")
    })
    .await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::InvalidResponse, "{err}");
    assert!(err.to_string().contains("malformed JSON"), "{err}");
}

#[tokio::test]
async fn a_cancelled_resolve_returns_at_once_and_leaves_nothing_behind() {
    let fake = fake_registry::start(|_, _| Answer {
        delay: Duration::from_secs(30),
        ..Answer::new(200, &[], b"")
    })
    .await;
    let r = Resolver::builder().insecure_registry(&fake.host).build();
    let reference = format!("{}/fault/app:v1", fake.host);
    let started = Instant::now();
    let cut = tokio::time::timeout(
        Duration::from_millis(200),
        r.resolve(&Engine::Registry, &reference, TTL),
    )
    .await;
    assert!(cut.is_err());
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(r.cache_len(), 0);
}

/// A verifier whose rule covers the fake registry with a real cosign public key.
fn verifier_for(fake: &FakeRegistry) -> Verifier {
    let key = String::from_utf8(support::shared_fixtures::realworld_file(
        "legacy-sig/containers-image-key-valid/cosign.pub",
    ))
    .expect("the key is text");
    let indented: String = key.lines().map(|l| format!("        {l}\n")).collect();
    let policy = Policy::parse(&format!(
        "rules:\n  - image: \"{}/*\"\n    publicKey:\n      certificate: |\n{indented}",
        fake.host
    ))
    .unwrap();
    Verifier::builder(policy).resolver(resolver(fake)).build()
}

#[tokio::test]
async fn broken_signature_storage_never_verifies() {
    let digest = format!("sha256:{}", "e".repeat(64));
    let sig_tag = format!("sha256-{}.sig", "e".repeat(64));
    let huge = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI}","layers":[{{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:{}","size":10,"annotations":{{"dev.cosignproject.cosign/signature":"AAAA"}}}}]}}"#,
        "f".repeat(64)
    );
    for (what, sig_answer) in [
        (
            "malformed JSON",
            Answer::new(200, &[("content-type", OCI)], b"{nope"),
        ),
        (
            "an endless signature manifest",
            Answer {
                mode: Body::Endless,
                ..Answer::new(200, &[("content-type", OCI)], b"")
            },
        ),
        (
            "a payload blob that is not there",
            Answer::new(200, &[("content-type", OCI)], huge.as_bytes()),
        ),
        ("a 500", Answer::new(500, &[], b"")),
    ] {
        let (digest, sig_tag) = (digest.clone(), sig_tag.clone());
        let fake = fake_registry::start(move |method, path| {
            if method == "HEAD" && path.ends_with("/manifests/v1") {
                Answer::new(
                    200,
                    &[("docker-content-digest", &digest), ("content-type", OCI)],
                    b"",
                )
            } else if path.ends_with(&sig_tag) {
                sig_answer.clone()
            } else {
                Answer::new(404, &[], b"")
            }
        })
        .await;
        let started = Instant::now();
        let answer = verifier_for(&fake)
            .verify(&format!("{}/fault/app:v1", fake.host), None)
            .await;
        match answer {
            Ok(v) => assert!(!v.verified, "{what}: {v:?}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::VerificationFailed, "{what}: {e}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: no unbounded wait"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bounded work per verify: registry requests and time
// ---------------------------------------------------------------------------------------------

const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Missing manifests per listing: about as many as a referrers index within the 128 KiB
/// manifest bound can name.
const MISSING: usize = 800;

/// A referrers index naming `count` bundle manifests, none of which the registry has.
fn index_of_missing(seed: &str, count: usize) -> Vec<u8> {
    let manifests: Vec<String> = (0..count)
        .map(|i| {
            let digest = imagecheck::Digest::sha256_of(format!("{seed}{i}").as_bytes());
            format!(r#"{{"digest":"{digest}","artifactType":"{BUNDLE}"}}"#)
        })
        .collect();
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{}]}}"#,
        manifests.join(",")
    );
    assert!(index.len() <= imagecheck::verify::internals::discovery::MAX_SIGNATURE_MANIFEST_BYTES);
    index.into_bytes()
}

/// A registry whose tag `v1` is `sha256:eee…`, whose referrers API and `sha256-eee…` tag each
/// name [`MISSING`] bundle manifests that are not there, every answer but the tag's after
/// `delay`.
async fn missing_referrers(delay: Duration) -> FakeRegistry {
    let hex = "e".repeat(64);
    let digest = format!("sha256:{hex}");
    let referrers = index_of_missing("referrers", MISSING);
    let tag_index = index_of_missing("tag", MISSING);
    let referrers_tag = format!("/manifests/sha256-{hex}");
    fake_registry::start(move |method, path| {
        if method == "HEAD" && path.ends_with("/manifests/v1") {
            return Answer::new(
                200,
                &[("docker-content-digest", &digest), ("content-type", OCI)],
                b"",
            );
        }
        let answer = if path.contains("/referrers/") {
            Answer::new(200, &[("content-type", INDEX)], &referrers)
        } else if path.ends_with(&referrers_tag) {
            Answer::new(200, &[("content-type", INDEX)], &tag_index)
        } else {
            Answer::new(404, &[], b"")
        };
        Answer { delay, ..answer }
    })
    .await
}

/// The 100-signature bound counts candidates found; missing ones cost a request each and
/// were not counted: two listings of 800 missing manifests cost 1,600 requests. Every request,
/// failed ones too, now comes out of one budget per verify.
#[tokio::test]
async fn missing_referrers_cost_at_most_the_request_bound() {
    use imagecheck::verify::internals::discovery::MAX_REQUESTS;
    let fake = missing_referrers(Duration::ZERO).await;
    let answer = verifier_for(&fake)
        .verify(&format!("{}/fault/app:v1", fake.host), None)
        .await;
    let err = answer.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("stopped after {MAX_REQUESTS} registry requests")),
        "{message}"
    );
    assert!(message.contains("candidates unreadable"), "{message}");
    // The tag's HEAD, then the bound.
    let requests = fake.requests.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(requests, 1 + MAX_REQUESTS, "{message}");
}

/// Verify `fake/fault/app:v1` with `verifier_for`'s rule and this deadline; the error, which
/// must come within `well_within` (a test-side bound, so a verify that ignores its deadline
/// fails here instead of hanging).
async fn verify_by_deadline(
    fake: &FakeRegistry,
    deadline: Duration,
    well_within: Duration,
) -> Error {
    let verifier = Verifier::builder(verifier_for(fake).policy().unwrap().as_ref().clone())
        .resolver(resolver(fake))
        .deadline(deadline)
        .build();
    let started = Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        verifier.verify(&format!("{}/fault/app:v1", fake.host), None),
    )
    .await
    .expect("the verify ends at its deadline");
    let took = started.elapsed();
    assert!(took < well_within, "{took:?}");
    match answer {
        Ok(v) => panic!("never verified past the deadline: {v:?}"),
        Err(e) => e,
    }
}

/// A registry that answers every signature request just inside the per-request timeout would
/// hold one verify for a request timeout per candidate. The verify deadline ends it.
#[tokio::test]
async fn a_slow_signature_store_hits_the_verify_deadline() {
    let fake = missing_referrers(Duration::from_millis(1_500)).await;
    let err = verify_by_deadline(&fake, Duration::from_secs(1), Duration::from_secs(3)).await;
    assert_eq!(err.kind(), ErrorKind::VerificationFailed, "{err}");
    assert!(
        err.to_string()
            .contains("stopped at the verify deadline of 1 s"),
        "{err}"
    );
}

/// A tag whose HEAD answers after the deadline (but inside the request timeout): the digest
/// is unavailable, with a Timeout cause that names the verify deadline.
#[tokio::test]
async fn a_stalled_resolve_hits_the_verify_deadline() {
    let digest = format!("sha256:{}", "e".repeat(64));
    let fake = fake_registry::start(move |_, _| Answer {
        delay: Duration::from_millis(1_500),
        ..Answer::new(
            200,
            &[("docker-content-digest", &digest), ("content-type", OCI)],
            b"",
        )
    })
    .await;
    let err = verify_by_deadline(&fake, Duration::from_millis(500), Duration::from_secs(1)).await;
    assert_eq!(cause(&err), CauseKind::Timeout, "{err}");
    assert!(err.to_string().contains("verify deadline"), "{err}");
}

/// A registry that challenges for a bearer token from `realm` and serves a manifest digest to
/// any request that brings one (whatever its value: the token server under test is the fake).
async fn bearer_registry(realm: &str) -> FakeRegistry {
    let challenge = format!("Bearer realm=\"{realm}\",service=\"fake\"");
    let digest = format!("sha256:{}", "a".repeat(64));
    fake_registry::start_seeing(move |_, _, head| {
        if head.to_ascii_lowercase().contains("authorization: bearer ") {
            Answer::new(
                200,
                &[("docker-content-digest", &digest), ("content-type", OCI)],
                b"",
            )
        } else {
            Answer::new(401, &[("www-authenticate", &challenge)], b"")
        }
    })
    .await
}

/// A token server answering `body` to every request.
async fn token_server(body: String) -> FakeRegistry {
    fake_registry::start(move |_, _| {
        Answer::new(
            200,
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
    })
    .await
}

#[tokio::test]
async fn a_redirect_targets_challenge_is_never_learned_nor_sent_the_credentials() {
    // The registry redirects every request to another host, which answers 401 naming a token
    // realm of its own: adopting that challenge would hand the registry's password to the
    // redirect target's realm, for this repository and (remembered) for every later one.
    let realm = token_server(r#"{"token":"from-the-redirect-target"}"#.to_owned()).await;
    let challenge = format!("Bearer realm=\"http://{}/token\",service=\"x\"", realm.host);
    let target = fake_registry::start(move |_, _| {
        Answer::new(401, &[("www-authenticate", &challenge)], b"")
    })
    .await;
    let target_host = target.host.clone();
    let registry = fake_registry::start(move |_, path| {
        Answer::new(
            307,
            &[("location", &format!("http://{target_host}{path}"))],
            b"",
        )
    })
    .await;
    let creds = Credentials::new(&registry.host, "user", "s3cret-password");
    let resolver = resolver(&registry);
    for repository in ["fault/app", "fault/other"] {
        let err = resolver
            .resolve_with(
                &Engine::Registry,
                &format!("{}/{repository}:v1", registry.host),
                TTL,
                Some(&creds),
            )
            .await
            .unwrap_err();
        assert_eq!(cause(&err), CauseKind::InvalidResponse, "{err}");
        assert!(err.to_string().contains(&target.host), "{err}");
    }
    assert_eq!(
        realm.requests.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the redirect target's realm was asked for a token: {:?}",
        realm.heads()
    );
    for head in registry.heads() {
        assert!(
            !head.to_ascii_lowercase().contains("authorization"),
            "{head}"
        );
    }
}

#[tokio::test]
async fn a_token_realm_on_the_unspecified_address_is_refused_without_connecting() {
    // On Linux a connection to 0.0.0.0 reaches 127.0.0.1: the counting listener sees it if
    // the realm is not refused, and no traffic leaves loopback either way.
    let listener = fake_registry::count_connections().await;
    let fake = bearer_registry(&format!("http://0.0.0.0:{}/token", listener.port)).await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::Unauthorized, "{err}");
    assert!(err.to_string().contains("unspecified"), "{err}");
    assert_eq!(listener.count(), 0, "the realm was connected to");
}

#[tokio::test]
async fn a_token_server_redirect_is_not_followed() {
    let elsewhere = token_server(r#"{"token":"from-elsewhere"}"#.to_owned()).await;
    let location = format!("http://{}/token", elsewhere.host);
    let tokens =
        fake_registry::start(move |_, _| Answer::new(307, &[("location", &location)], b"")).await;
    let fake = bearer_registry(&format!("http://{}/token", tokens.host)).await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::Unauthorized, "{err}");
    assert!(err.to_string().contains("redirect"), "{err}");
    assert_eq!(
        elsewhere.requests.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn a_token_lifetime_of_u64_max_seconds_is_accepted_without_panicking() {
    let tokens = token_server(format!(r#"{{"token":"t","expires_in":{}}}"#, u64::MAX)).await;
    let fake = bearer_registry(&format!("http://{}/token", tokens.host)).await;
    resolve(&fake).await.unwrap();
}

#[tokio::test]
async fn a_token_lifetime_of_thirty_thousand_years_is_accepted() {
    let tokens = token_server(r#"{"token":"t","expires_in":1000000000000}"#.to_owned()).await;
    let fake = bearer_registry(&format!("http://{}/token", tokens.host)).await;
    resolve(&fake).await.unwrap();
}

#[tokio::test]
async fn an_oversized_token_is_refused() {
    let tokens = token_server(format!(r#"{{"token":"{}"}}"#, "t".repeat(20 * 1024))).await;
    let fake = bearer_registry(&format!("http://{}/token", tokens.host)).await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::InvalidResponse, "{err}");
    assert!(err.to_string().contains("token"), "{err}");
    assert!(err.to_string().contains("limit"), "{err}");
}

/// Resolve through a registry client whose realm host names come from `lookup` (no DNS).
async fn resolve_looking_up(
    fake: &FakeRegistry,
    lookup: HostLookup,
) -> Result<imagecheck::Digest, DigestCause> {
    let client = RegistryClient::new(RegistryConfig {
        insecure_hosts: [fake.host.clone()].into(),
        request_timeout: Duration::from_secs(2),
        realm_lookup: lookup,
        ..RegistryConfig::default()
    });
    let reference = Reference::parse(&format!("{}/fault/app:v1", fake.host)).unwrap();
    client.manifest_digest(&reference, None).await
}

/// `realm.test` and only it, to `addresses`.
fn realm_test_is(addresses: &'static [&'static str]) -> HostLookup {
    HostLookup::with(move |host| {
        assert_eq!(host, "realm.test", "only the realm is looked up");
        Ok(addresses.iter().map(|a| a.parse().unwrap()).collect())
    })
}

#[tokio::test]
async fn a_token_realm_named_by_a_host_is_reached_at_the_addresses_it_resolves_to() {
    // The counterpart of the refusal below: the lookup is what the connection uses.
    let tokens = token_server(r#"{"token":"t"}"#.to_owned()).await;
    let port = tokens.host.rsplit_once(':').unwrap().1.to_owned();
    let fake = bearer_registry(&format!("http://realm.test:{port}/token")).await;
    resolve_looking_up(&fake, realm_test_is(&["127.0.0.1"]))
        .await
        .unwrap();
    assert_eq!(tokens.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_realm_host_with_a_link_local_address_is_refused_before_connecting() {
    // Every address must pass: the loopback one would, the link-local one (where cloud
    // metadata services answer) never does. Safe even if the check were broken: the
    // connector tries the addresses in order and stops at the loopback listener, which
    // accepts (and counts) the connection, so nothing is sent to 169.254.169.254.
    let listener = fake_registry::count_connections().await;
    let fake = bearer_registry(&format!("http://realm.test:{}/token", listener.port)).await;
    let cause = resolve_looking_up(&fake, realm_test_is(&["127.0.0.1", "169.254.169.254"]))
        .await
        .unwrap_err();
    assert_eq!(cause.kind, CauseKind::Unauthorized, "{cause}");
    for needed in ["realm.test", "169.254.169.254", "link-local", &fake.host] {
        assert!(cause.detail.contains(needed), "{needed}: {cause}");
    }
    assert_eq!(listener.count(), 0, "the realm was connected to");
}

// Rate limits and the per-host cap (issue 17): a 429 (or a 503 naming a Retry-After) is
// retried within the call's deadline, else rate_limited saying when; requests per host are
// capped; single-flight and the cache keep working, and nothing from a 429 is cached.

const DIGEST_F: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

/// A registry that answers `refusals` (status, headers) to its first requests, then the digest.
async fn limited_then_ok(refusals: Vec<(u16, Vec<(String, String)>)>) -> FakeRegistry {
    let seen = std::sync::atomic::AtomicUsize::new(0);
    fake_registry::start(move |_, _| {
        let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match refusals.get(n) {
            Some((status, headers)) => Answer {
                status: *status,
                headers: headers.clone(),
                ..Answer::default()
            },
            None => Answer::new(
                200,
                &[("docker-content-digest", DIGEST_F), ("content-type", OCI)],
                b"",
            ),
        }
    })
    .await
}

fn header(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.to_owned(), value.to_owned())]
}

#[tokio::test]
async fn a_429_then_200_resolves_after_waiting_the_retry_after() {
    let fake = limited_then_ok(vec![(429, header("retry-after", "1"))]).await;
    let started = Instant::now();
    let digest = resolve(&fake).await.unwrap();
    assert_eq!(digest.as_str(), DIGEST_F);
    assert_eq!(fake.request_count(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not waited for: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_http_date_is_waited_for() {
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    let fake = limited_then_ok(vec![(
        429,
        header("retry-after", &httpdate::fmt_http_date(at)),
    )])
    .await;
    let started = Instant::now();
    // A deadline well past the date: the date has whole seconds and the wait adds jitter, so
    // the wait can exceed 2 s, which the shared resolver's 2 s deadline would refuse.
    Resolver::builder()
        .insecure_registry(&fake.host)
        .request_timeout(Duration::from_secs(10))
        .build()
        .resolve(
            &Engine::Registry,
            &format!("{}/fault/app:v1", fake.host),
            TTL,
        )
        .await
        .unwrap();
    assert_eq!(fake.request_count(), 2);
    // The date has whole seconds: the wait is between one and two of them (plus jitter).
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_503_is_retried_only_when_it_names_a_retry_after() {
    let fake = limited_then_ok(vec![(503, header("retry-after", "0"))]).await;
    resolve(&fake).await.unwrap();
    assert_eq!(fake.request_count(), 2);

    let outage = limited_then_ok(vec![(503, Vec::new())]).await;
    let err = resolve(&outage).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::InvalidResponse, "{err}");
    assert_eq!(
        outage.request_count(),
        1,
        "an outage without Retry-After is not retried"
    );
}

#[tokio::test]
async fn retries_stop_at_the_configured_number_and_say_when_to_retry() {
    let always = || async {
        fake_registry::start(|_, _| Answer::new(429, &[("retry-after", "0")], b"")).await
    };
    let fake = always().await;
    let err = resolve(&fake).await.unwrap_err();
    assert_eq!(cause(&err), CauseKind::RateLimited, "{err}");
    assert_eq!(
        fake.request_count(),
        3,
        "the first request and the 2 default retries"
    );
    assert!(err.to_string().contains("after 2 retries"), "{err}");
    assert!(err.to_string().contains("retry after"), "{err}");

    let fake = always().await;
    let never = Resolver::builder()
        .insecure_registry(&fake.host)
        .max_retries(0)
        .build();
    let err = never
        .resolve(
            &Engine::Registry,
            &format!("{}/fault/app:v1", fake.host),
            TTL,
        )
        .await
        .unwrap_err();
    assert_eq!(cause(&err), CauseKind::RateLimited, "{err}");
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_fails_at_once_saying_when() {
    // A resolve waits within its request timeout (2 s here); an hour is refused at once.
    let fake = limited_then_ok(vec![(429, header("retry-after", "3600"))]).await;
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), resolve(&fake))
        .await
        .expect("the hour was waited for")
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(cause(&err), CauseKind::RateLimited, "{err}");
    assert_eq!(fake.request_count(), 1);
    let text = err.to_string();
    assert!(
        text.contains("GMT (in 3600 s)"),
        "the date to retry at: {text}"
    );
    assert!(text.contains("deadline"), "{text}");

    // A verify's deadline is authoritative: 30 s would fit the request timeout, not the 5 s
    // deadline of this verifier.
    let fake = limited_then_ok(vec![(429, header("retry-after", "30"))]).await;
    let policy = (*verifier_for(&fake).policy().unwrap()).clone();
    let verifier = Verifier::builder(policy)
        .resolver(
            Resolver::builder()
                .insecure_registry(&fake.host)
                .request_timeout(Duration::from_secs(60))
                .build(),
        )
        .deadline(Duration::from_secs(5))
        .build();
    let started = Instant::now();
    let reference = format!("{}/fault/app:v1", fake.host);
    let err = tokio::time::timeout(Duration::from_secs(10), verifier.verify(&reference, None))
        .await
        .expect("the verify deadline was not kept")
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(cause(&err), CauseKind::RateLimited, "{err}");
    assert!(err.to_string().contains("retry after 30 s"), "{err}");
}

#[tokio::test]
async fn single_flight_shares_a_retrying_request_and_caches_only_its_answer() {
    let fake = limited_then_ok(vec![(429, header("retry-after", "0"))]).await;
    let r = resolver(&fake);
    let reference = format!("{}/fault/app:v1", fake.host);
    let answers =
        futures::future::join_all((0..20).map(|_| r.resolve(&Engine::Registry, &reference, TTL)))
            .await;
    for answer in answers {
        assert_eq!(answer.unwrap().as_str(), DIGEST_F);
    }
    assert_eq!(fake.request_count(), 2, "one flight: the 429 and its retry");
    r.resolve(&Engine::Registry, &reference, TTL).await.unwrap();
    assert_eq!(
        fake.request_count(),
        2,
        "the answer after the retry is cached"
    );
}

#[tokio::test]
async fn nothing_from_a_429_is_cached() {
    let fake = fake_registry::start(|_, _| Answer::new(429, &[("retry-after", "0")], b"")).await;
    let r = Resolver::builder()
        .insecure_registry(&fake.host)
        .max_retries(0)
        .build();
    let reference = format!("{}/fault/app:v1", fake.host);
    for round in 1..=2 {
        let err = r
            .resolve(&Engine::Registry, &reference, TTL)
            .await
            .unwrap_err();
        assert_eq!(cause(&err), CauseKind::RateLimited, "{err}");
        assert_eq!(fake.request_count(), round, "the registry is asked again");
    }
    assert_eq!(r.cache_len(), 0);
}

#[tokio::test]
async fn the_per_host_cap_holds_under_a_thousand_concurrent_resolves() {
    const CAP: usize = 8;
    let fake = fake_registry::start(|_, _| Answer {
        delay: Duration::from_millis(5),
        ..Answer::new(
            200,
            &[("docker-content-digest", DIGEST_F), ("content-type", OCI)],
            b"",
        )
    })
    .await;
    let r = Resolver::builder()
        .insecure_registry(&fake.host)
        .max_concurrent_requests_per_host(CAP)
        .request_timeout(Duration::from_secs(60))
        .build();
    let references: Vec<String> = (0..1000)
        .map(|n| format!("{}/fault/app:t{n}", fake.host))
        .collect();
    let answers = futures::future::join_all(
        references
            .iter()
            .map(|reference| r.resolve(&Engine::Registry, reference, TTL)),
    )
    .await;
    assert!(answers.iter().all(Result::is_ok));
    assert_eq!(fake.request_count(), 1000);
    let (requests, connections) = (fake.in_flight.peak(), fake.connections.peak());
    assert!(
        requests <= CAP,
        "{requests} requests in flight at once, cap {CAP}"
    );
    assert!(
        requests >= 2,
        "the cap still lets requests run side by side"
    );
    assert!(
        connections <= 2 * CAP,
        "{connections} connections open at once, cap {CAP}"
    );
    eprintln!("peak: {requests} requests in flight, {connections} connections open");
}
