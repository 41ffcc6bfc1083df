//! A local TUF repository made by python-tuf (tests/harness/tuf_repo.py) and served over
//! loopback HTTP by a Python process this helper starts and stops (also on drop). Included by
//! path from core's and the CLI's tests alike, so it depends on nothing of either.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (both crates sit one level under it).
fn repo_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub struct TufRepo {
    dir: tempfile::TempDir,
    server: Option<Child>,
    port: u16,
}

impl TufRepo {
    /// A fresh repository (its target: the trusted root of a CA of its own), served.
    pub fn start() -> TufRepo {
        let dir = tempfile::tempdir().expect("a temporary directory");
        script(&["init", dir.path().to_str().unwrap()]);
        let mut repo = TufRepo {
            dir,
            server: None,
            port: 0,
        };
        repo.serve();
        repo
    }

    /// Serve the repository (again), on the port it had if it had one.
    fn serve(&mut self) {
        let port_file = self.dir.path().join("port");
        let _ = std::fs::remove_file(&port_file);
        let child = Command::new("python3")
            .arg(repo_root().join("tests/harness/tuf_repo.py"))
            .args(["serve", self.dir.path().to_str().unwrap(), "--port-file"])
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs tests/harness/tuf_repo.py serve");
        self.server = Some(child);
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                self.port = text.trim().parse().unwrap();
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "tuf_repo.py serve did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The repository's URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The root a client starts from (version 1).
    pub fn initial_root(&self) -> PathBuf {
        self.dir.path().join("repo/1.root.json")
    }

    /// Run one of tuf_repo.py's commands on this repository (`add-ca`, `rotate-root`, …).
    pub fn change(&self, command: &str, args: &[&str]) {
        let mut all = vec![command, self.dir.path().to_str().unwrap()];
        all.extend_from_slice(args);
        script(&all);
    }

    /// The target the repository serves now.
    pub fn served_target(&self) -> Vec<u8> {
        let targets: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.dir.path().join("state/targets.json")).unwrap(),
        )
        .unwrap();
        let digest = targets["signed"]["targets"]["trusted_root.json"]["hashes"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        std::fs::read(
            self.dir
                .path()
                .join(format!("repo/targets/{digest}.trusted_root.json")),
        )
        .unwrap()
    }

    /// Requests served so far.
    pub fn requests(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .map(|log| log.lines().count())
            .unwrap_or(0)
    }

    /// Stop serving (the port is free again).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.server.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for TufRepo {
    fn drop(&mut self) {
        self.stop();
    }
}

fn script(args: &[&str]) {
    let out = Command::new("python3")
        .arg(repo_root().join("tests/harness/tuf_repo.py"))
        .args(args)
        .output()
        .expect("python3 runs tests/harness/tuf_repo.py");
    assert!(
        out.status.success(),
        "tuf_repo.py {args:?} failed (needs `pip install tuf`, see tests/harness/install-deps.sh):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
