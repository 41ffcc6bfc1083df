//! Test images for the engine tests and the engine benchmark: OCI image layouts written by
//! hand (distinct content per seed), pushed with skopeo, and skopeo's digest as the oracle.
//! Included with `#[path]` by core/tests/engines.rs and core/examples/engines_bench.rs.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use imagecheck::Digest;
use serde_json::{Value, json};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub struct Layout {
    pub dir: tempfile::TempDir,
    /// The digest of the top manifest (or index) as written.
    pub digest: Digest,
}

fn blob(dir: &Path, bytes: &[u8]) -> (Digest, usize) {
    let digest = Digest::sha256_of(bytes);
    let path = dir.join("blobs/sha256").join(digest.hex());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    (digest, bytes.len())
}

/// One platform image (a one-file layer holding `seed`); the manifest descriptor's JSON.
fn image(dir: &Path, seed: &str, arch: &str) -> Value {
    let tar = tar_one_file("imagecheck-seed", seed.as_bytes());
    let diff_id = Digest::sha256_of(&tar);
    let (layer, layer_size) = blob(dir, &gzip_stored(&tar));
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Labels": {"dev.imagecheck.test.seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.as_str()]},
        "history": [{"created_by": "imagecheck engines test"}]
    });
    let (config, config_size) = blob(dir, config.to_string().as_bytes());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config.as_str(), "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer.as_str(), "size": layer_size}]
    });
    let (digest, size) = blob(dir, manifest.to_string().as_bytes());
    json!({"mediaType": OCI_MANIFEST, "digest": digest.as_str(), "size": size,
           "platform": {"architecture": arch, "os": "linux"}})
}

/// A layout tagged `v1`: one linux/amd64 image, or an index of amd64 and arm64.
pub fn layout(seed: &str, multi_arch: bool) -> Layout {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::fs::write(path.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut top = if multi_arch {
        let children = vec![
            image(path, &format!("{seed}|amd64"), "amd64"),
            image(path, &format!("{seed}|arm64"), "arm64"),
        ];
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children});
        let (digest, size) = blob(path, index.to_string().as_bytes());
        json!({"mediaType": OCI_INDEX, "digest": digest.as_str(), "size": size})
    } else {
        let mut d = image(path, seed, "amd64");
        d.as_object_mut().unwrap().remove("platform");
        d
    };
    let digest = Digest::parse(top["digest"].as_str().unwrap()).unwrap();
    top["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    let index = json!({"schemaVersion": 2, "manifests": [top]});
    std::fs::write(path.join("index.json"), index.to_string()).unwrap();
    Layout { dir, digest }
}

pub fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let put =
        |h: &mut [u8; 512], at: usize, text: &[u8]| h[at..at + text.len()].copy_from_slice(text);
    put(&mut header, 0, name.as_bytes());
    put(&mut header, 100, b"0000644\0");
    put(&mut header, 108, b"0000000\0");
    put(&mut header, 116, b"0000000\0");
    put(
        &mut header,
        124,
        format!("{:011o}\0", content.len()).as_bytes(),
    );
    put(&mut header, 136, b"00000000000\0");
    put(&mut header, 148, b"        ");
    header[156] = b'0';
    put(&mut header, 257, b"ustar\0");
    put(&mut header, 263, b"00");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    put(&mut header, 148, format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(content);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

/// gzip with "stored" deflate blocks: valid, deterministic, and needs no compressor.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

pub fn skopeo(args: &[&str]) -> String {
    let output = Command::new("skopeo")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run skopeo ({e}); run tests/harness/install-daemons.sh")
        });
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Push `layout` to `host/repository:v1`; returns the digest skopeo then reads back.
pub fn push(
    layout: &Layout,
    host: &str,
    repository: &str,
    creds: Option<&str>,
    v2s2: bool,
) -> Digest {
    let src = format!("oci:{}:v1", layout.dir.path().display());
    let dest = format!("docker://{host}/{repository}:v1");
    let mut args = vec!["copy", "--quiet", "--dest-tls-verify=false", "--all"];
    if let Some(c) = creds {
        args.extend(["--dest-creds", c]);
    }
    if v2s2 {
        args.extend(["--format", "v2s2"]);
    }
    args.extend([src.as_str(), dest.as_str()]);
    skopeo(&args);
    oracle(host, repository, creds)
}

/// `skopeo inspect --format '{{.Digest}}'`: the independent answer.
pub fn oracle(host: &str, repository: &str, creds: Option<&str>) -> Digest {
    let reference = format!("docker://{host}/{repository}:v1");
    let mut args = vec!["inspect", "--tls-verify=false", "--format", "{{.Digest}}"];
    if let Some(c) = creds {
        args.extend(["--creds", c]);
    }
    args.push(&reference);
    Digest::parse(&skopeo(&args)).unwrap()
}
