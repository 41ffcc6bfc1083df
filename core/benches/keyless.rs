//! Keyless verification cost, no network: the check of one candidate (legacy `.sig`, cosign v3
//! image bundle, conformance blob bundle), the trust-root parse, and a warm `Verifier::verify`
//! (result-cache hit) after one cold verify against a loopback registry.
//!
//! Reads the real-world fixtures from shared/fixtures/realworld (like the tests).
//! Run: cargo bench -p imagecheck --bench keyless

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark should stop at the first surprise"
)]

#[path = "../tests/support/fake_registry.rs"]
mod fake_registry;
#[path = "../tests/support/keyless.rs"]
mod fixtures;

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use fixtures::*;
use imagecheck::verify::internals::bundle::Bundle;
use imagecheck::verify::internals::check;
use imagecheck::verify::internals::discovery::{BundleSignature, Candidate};
use imagecheck::verify::internals::keyless::{self, Signer, Subject};
use imagecheck::verify::trusted_root::PUBLIC_GOOD_JSON;
use imagecheck::verify::{Policy, TrustedRoot, Verifier};
use imagecheck::{Digest, Resolver};

fn time(label: &str, iterations: u32, mut f: impl FnMut()) {
    f(); // warm up
    let started = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let per = started.elapsed().as_nanos() as f64 / f64::from(iterations);
    if per > 10_000.0 {
        println!("{label:58} {:>10.1} µs", per / 1000.0);
    } else {
        println!("{label:58} {per:>10.0} ns");
    }
}

fn main() {
    let started = Instant::now();
    let root = TrustedRoot::public_good();
    println!(
        "{:58} {:>10.1} µs",
        "trust root: first use (LazyLock parse)",
        started.elapsed().as_nanos() as f64 / 1000.0
    );
    time(
        "trust root: TrustedRoot::from_json(public good)",
        2_000,
        || {
            black_box(TrustedRoot::from_json(black_box(PUBLIC_GOOD_JSON)).unwrap());
        },
    );
    time(
        "trust root: TrustedRoot::public_good() (shared)",
        1_000_000,
        || {
            black_box(TrustedRoot::public_good());
        },
    );

    let (legacy, digest) = legacy_case("salrashid123-server_image-email");
    let id = identity(GITHUB_LOGIN, "salrashid123@gmail.com");
    let candidate = Candidate::Legacy(legacy);
    time(
        "keyless check: legacy .sig (cert, SET, body, SCT, identity)",
        2_000,
        || {
            check::keyless(&candidate, &digest, &id, &root).unwrap();
        },
    );

    let json = read("bundle-v03-image/kubewarden-controller-v1.34.0/bundle.sigstore.json");
    let image = digest_file("bundle-v03-image/kubewarden-controller-v1.34.0/image-digest.txt");
    let kw_id = identity(
        GITHUB_ACTIONS,
        "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
    );
    let candidate = Candidate::Bundle(BundleSignature {
        json: Bytes::from(json),
        manifest_digest: Digest::sha256_of(b"x"),
    });
    time(
        "keyless check: image bundle v0.3 (+ proof, checkpoint, TSA)",
        2_000,
        || {
            check::keyless(&candidate, &image, &kw_id, &root).unwrap();
        },
    );

    let blob = read("conformance/a.txt");
    let bundle = read("conformance/happy-path-v0.3/bundle.sigstore.json");
    let conf_id = identity(
        GITHUB_ACTIONS,
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
    );
    time(
        "keyless check: conformance blob bundle v0.3 (parse incl.)",
        2_000,
        || {
            let parsed = Bundle::parse(&bundle).unwrap();
            keyless::verify_bundle(
                &parsed,
                Subject::Artifact(&blob),
                Signer::Identity(&conf_id),
                &root,
            )
            .unwrap();
        },
    );

    // Warm verify: one cold verify through a loopback registry fills the result cache.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let case = "legacy-sig/salrashid123-server_image-email";
        let manifest = read(&format!("{case}/sig-manifest.json"));
        let payload = read(&format!("{case}/payload.json"));
        let sig_tag = format!("/manifests/sha256-{}.sig", digest.hex());
        let payload_path = format!("/blobs/{}", Digest::sha256_of(&payload));
        let registry = fake_registry::start(move |_, path| {
            let (status, body) = if path.ends_with(&sig_tag) {
                (200, manifest.clone())
            } else if path.ends_with(&payload_path) {
                (200, payload.clone())
            } else {
                (404, b"{}".to_vec())
            };
            fake_registry::Answer {
                status,
                headers: vec![
                    (
                        "content-type".into(),
                        "application/vnd.oci.image.manifest.v1+json".into(),
                    ),
                    (
                        "docker-content-digest".into(),
                        Digest::sha256_of(&body).to_string(),
                    ),
                ],
                body,
                ..Default::default()
            }
        })
        .await;
        let policy = Policy::parse(
            &serde_json::json!({"rules": [{"image": "*", "keyless": {
                "issuer": GITHUB_LOGIN, "subject": "salrashid123@gmail.com"}}]})
            .to_string(),
        )
        .unwrap();
        let verifier = Verifier::builder(policy)
            .resolver(
                Resolver::builder()
                    .insecure_registry(&registry.host)
                    .build(),
            )
            .build();
        let reference = format!("{}/salrashid123/server_image@{digest}", registry.host);
        let started = Instant::now();
        assert!(verifier.verify(&reference, None).await.unwrap().verified);
        println!(
            "{:58} {:>10.1} µs",
            "verify: cold (loopback registry: 3 misses, manifest, blob)",
            started.elapsed().as_nanos() as f64 / 1000.0
        );
        let calls = 200_000u32;
        let started = Instant::now();
        for _ in 0..calls {
            black_box(verifier.verify(black_box(&reference), None).await.unwrap());
        }
        let per = started.elapsed().as_nanos() as f64 / f64::from(calls);
        println!(
            "{:58} {per:>10.0} ns",
            "verify: warm (result-cache hit, no request)"
        );
        let requests = registry.requests.load(std::sync::atomic::Ordering::SeqCst);
        println!("{:58} {requests:>10}", "registry requests in all");
    });
}
