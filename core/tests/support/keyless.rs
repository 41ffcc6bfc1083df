//! Real-world keyless fixtures (shared/fixtures/realworld, read at test time only) as the
//! check functions take them.

#![allow(dead_code, reason = "each test file uses a different part")]

use bytes::Bytes;
use imagecheck::Digest;
use imagecheck::verify::internals::discovery::LegacySignature;
use imagecheck::verify::{KeylessIdentity, Policy, RuleAction, TrustedRoot};
use serde_json::Value;

pub const GITHUB_LOGIN: &str = "https://github.com/login/oauth";
pub const GITHUB_ACTIONS: &str = "https://token.actions.githubusercontent.com";

// benches/keyless.rs includes this file alone, so it brings its own copy; in the integration
// binary support/mod.rs has the same file too.
#[allow(
    clippy::duplicate_mod,
    reason = "included alone by a bench and beside support/ by the tests"
)]
#[path = "shared_fixtures.rs"]
mod shared_fixtures;

pub use shared_fixtures::realworld;

pub fn read(path: &str) -> Vec<u8> {
    shared_fixtures::realworld_file(path)
}

pub fn read_text(path: &str) -> String {
    String::from_utf8(read(path)).unwrap()
}

pub fn digest_file(path: &str) -> Digest {
    let text = read_text(path);
    Digest::parse(text.trim().rsplit('@').next().unwrap()).unwrap()
}

/// A keyless identity from exact or regex strings, through the policy loader.
pub fn identity_with(
    issuer_field: &str,
    issuer: &str,
    subject_field: &str,
    subject: &str,
) -> KeylessIdentity {
    let doc = serde_json::json!({"rules": [{"image": "*", "keyless": {
        issuer_field: issuer, subject_field: subject}}]});
    let policy = Policy::parse(&doc.to_string()).unwrap();
    match policy.rules()[0].action() {
        RuleAction::Keyless(identity) => identity.clone(),
        other => panic!("not keyless: {other:?}"),
    }
}

pub fn identity(issuer: &str, subject: &str) -> KeylessIdentity {
    identity_with("issuer", issuer, "subject", subject)
}

pub fn public_good() -> TrustedRoot {
    TrustedRoot::public_good()
}

/// The public-good root JSON with `edit` applied.
pub fn edited_root(edit: impl FnOnce(&mut Value)) -> TrustedRoot {
    let mut root: Value =
        serde_json::from_slice(&read("trust/public-good-trusted_root.json")).unwrap();
    edit(&mut root);
    TrustedRoot::from_json(root.to_string().as_bytes()).unwrap()
}

pub fn staging_json() -> Value {
    serde_json::from_slice(&read("trust/staging-trusted_root.json")).unwrap()
}

fn annotation(annotations: &Value, key: &str) -> Option<String> {
    annotations
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn from_annotations(annotations: &Value, payload: Vec<u8>) -> LegacySignature {
    LegacySignature {
        layer_digest: Digest::sha256_of(&payload),
        payload: Bytes::from(payload),
        signature: annotation(annotations, "dev.cosignproject.cosign/signature").unwrap(),
        certificate: annotation(annotations, "dev.sigstore.cosign/certificate"),
        chain: annotation(annotations, "dev.sigstore.cosign/chain"),
        rekor_bundle: annotation(annotations, "dev.sigstore.cosign/bundle"),
    }
}

/// A legacy case: the signature and the image digest it must verify for.
pub fn legacy_case(case: &str) -> (LegacySignature, Digest) {
    let dir = format!("legacy-sig/{case}");
    let payload = if realworld().join(&dir).join("payload.json").exists() {
        read(&format!("{dir}/payload.json"))
    } else {
        read(&format!("{dir}/rekor-payload"))
    };
    let annotations: Value = if realworld().join(&dir).join("sig-manifest.json").exists() {
        let manifest: Value =
            serde_json::from_slice(&read(&format!("{dir}/sig-manifest.json"))).unwrap();
        manifest["layers"][0]["annotations"].clone()
    } else if realworld().join(&dir).join("annotations.json").exists() {
        serde_json::from_slice(&read(&format!("{dir}/annotations.json"))).unwrap()
    } else {
        // Loose components (containers/image testdata).
        serde_json::json!({
            "dev.cosignproject.cosign/signature": read_text(&format!("{dir}/rekor-sig")).trim(),
            "dev.sigstore.cosign/certificate": read_text(&format!("{dir}/rekor-cert")),
            "dev.sigstore.cosign/chain": read_text(&format!("{dir}/fulcio-chain")),
            "dev.sigstore.cosign/bundle": read_text(&format!("{dir}/rekor-set")).trim(),
        })
    };
    let digest = if realworld().join(&dir).join("image-digest.txt").exists() {
        digest_file(&format!("{dir}/image-digest.txt"))
    } else if realworld().join(&dir).join("manifest.json").exists() {
        Digest::sha256_of(&read(&format!("{dir}/manifest.json")))
    } else {
        let payload: Value = serde_json::from_slice(&payload).unwrap();
        Digest::parse(
            payload["critical"]["image"]["docker-manifest-digest"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
    };
    (from_annotations(&annotations, payload), digest)
}
