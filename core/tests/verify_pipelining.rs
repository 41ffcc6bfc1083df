//! What the verifier sends together and what it does not send again, seen through a relay that
//! adds latency in front of the real harness registry (images signed by real cosign). Arrival
//! times only separate "sent together" from "sent after an answer came back": the relay holds
//! every answer for `LATENCY`, so dependent requests arrive at least that far apart.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

use crate::support;

use std::process::Command;
use std::time::Duration;

use imagecheck::{Error, Policy, Verifier};
use support::slow_link::{self, Seen, SlowLink};
use support::{harness, run_ok, signed, signed_image, unique};

const LATENCY: Duration = Duration::from_millis(400);

/// A verifier for everything behind `link`, with key a, no result cache and resolve TTL 0 (so
/// every call re-checks the tag and the signatures).
fn verifier(link: &SlowLink) -> Verifier {
    let key = std::fs::read_to_string(signed()["keys"]["a"]["public"].as_str().unwrap()).unwrap();
    let indented = key.trim().replace('\n', "\n          ");
    let policy = format!(
        "rules:\n  - image: \"{}/*\"\n    publicKey:\n      certificate: |\n          {indented}\n",
        link.host
    );
    Verifier::builder(Policy::parse(&policy).unwrap())
        .resolver(
            imagecheck::Resolver::builder()
                .insecure_registry(&link.host)
                .build(),
        )
        .result_ttl(Duration::ZERO)
        .resolve_ttl(Duration::ZERO)
        .build()
}

/// `reference` with its registry replaced by the relay.
fn through(link: &SlowLink, reference: &str) -> String {
    format!("{}/{}", link.host, reference.split_once('/').unwrap().1)
}

fn together(a: &Seen, b: &Seen) -> bool {
    b.at.duration_since(a.at) < LATENCY / 2
}

fn after_an_answer(a: &Seen, b: &Seen) -> bool {
    b.at.duration_since(a.at) >= LATENCY
}

#[tokio::test(flavor = "multi_thread")]
async fn first_contact_lists_every_signature_source_in_one_round_trip() {
    let (legacy, digest) = signed_image("legacy");
    let link = slow_link::start(&harness().host("plain"), LATENCY).await;
    let answer = verifier(&link)
        .verify(&through(&link, &legacy), None)
        .await
        .unwrap();
    assert!(answer.verified, "{answer:?}");

    // HEAD; the three listings together; the payload blob (read, not predicted: the payload
    // names the registry it was signed on, not the relay).
    let seen = link.seen();
    assert_eq!(seen.len(), 5, "{seen:#?}");
    assert!(seen[0].line.starts_with("HEAD "), "{seen:#?}");
    let hex = digest.trim_start_matches("sha256:");
    let mut listings: Vec<&str> = seen[1..4].iter().map(|s| s.line.as_str()).collect();
    listings.sort_unstable();
    assert!(
        listings[0].contains(&format!("/manifests/sha256-{hex} ")),
        "{seen:#?}"
    );
    assert!(
        listings[1].contains(&format!("/manifests/sha256-{hex}.sig ")),
        "{seen:#?}"
    );
    assert!(
        listings[2].contains(&format!("/referrers/sha256:{hex}")),
        "{seen:#?}"
    );
    assert!(after_an_answer(&seen[0], &seen[1]), "{seen:#?}");
    assert!(
        together(&seen[1], &seen[3]),
        "listings one by one: {seen:#?}"
    );
    assert!(seen[4].line.contains("/blobs/sha256:"), "{seen:#?}");
    assert!(after_an_answer(&seen[3], &seen[4]), "{seen:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reverifying_a_tag_lists_its_signatures_during_the_head_and_keeps_the_payload() {
    let (legacy, digest) = signed_image("legacy");
    let link = slow_link::start(&harness().host("plain"), LATENCY).await;
    let v = verifier(&link);
    let reference = through(&link, &legacy);
    assert!(v.verify(&reference, None).await.unwrap().verified);

    link.clear();
    let answer = v.verify(&reference, None).await.unwrap();
    assert!(answer.verified, "{answer:?}");
    assert!(answer.digested_ref.unwrap().ends_with(&digest));
    let seen = link.seen();
    assert_eq!(seen.len(), 2, "HEAD and the .sig manifest only: {seen:#?}");
    let (head, listing) = if seen[0].line.starts_with("HEAD ") {
        (&seen[0], &seen[1])
    } else {
        (&seen[1], &seen[0])
    };
    assert!(head.line.starts_with("HEAD "), "{seen:#?}");
    assert!(listing.line.contains(".sig "), "{seen:#?}");
    assert!(
        together(&seen[0], &seen[1]),
        "listing waited for the HEAD: {seen:#?}"
    );
}

fn skopeo_copy(from: &str, to: &str) {
    run_ok(Command::new("skopeo").args([
        "--insecure-policy",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-no-creds",
        "--dest-no-creds",
        "--preserve-digests",
        &format!("docker://{from}"),
        &format!("docker://{to}"),
    ]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tag_moved_to_an_unsigned_image_is_judged_by_its_new_digest() {
    // A repository of its own: the signed image and its .sig tag copied in, verified, then the
    // tag moved to an unsigned image.
    let (legacy, digest) = signed_image("legacy");
    let plain = harness().host("plain");
    let repository = format!("{plain}/{}", unique("pipelining/moved"));
    let hex = digest.trim_start_matches("sha256:");
    let legacy_repository = legacy.rsplit_once(':').unwrap().0;
    skopeo_copy(&legacy, &format!("{repository}:v1"));
    skopeo_copy(
        &format!("{legacy_repository}:sha256-{hex}.sig"),
        &format!("{repository}:sha256-{hex}.sig"),
    );
    let link = slow_link::start(&plain, LATENCY).await;
    let v = verifier(&link);
    let reference = through(&link, &format!("{repository}:v1"));
    assert!(v.verify(&reference, None).await.unwrap().verified);

    let unsigned = harness().image("hello-oci");
    skopeo_copy(&unsigned.reference, &format!("{repository}:v1"));
    link.clear();
    let err = v.verify(&reference, None).await.unwrap_err();
    assert!(
        matches!(&err, Error::VerificationFailed { failure, .. } if failure.to_string().contains("no signature")),
        "{err:?}"
    );
    let seen = link.seen();
    let new_hex = unsigned.digest.trim_start_matches("sha256:");
    assert!(
        seen.iter()
            .any(|s| s.line.contains(&format!("sha256-{hex}.sig "))),
        "the old digest's signatures were listed during the HEAD: {seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|s| s.line.contains(&format!("sha256-{new_hex}.sig "))),
        "the new digest's signatures were looked up: {seen:#?}"
    );
}
