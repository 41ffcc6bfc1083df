//! Distribution registries a test starts itself (beside the harness's shared ones): an
//! upstream it may stop, and pull-through caches in front of it (`proxy.remoteurl`), each on
//! 127.0.0.1 with its access log in a file. Stopped by PID when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Distribution {
    pub host: String,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Distribution {
    /// A registry serving `storage` (a directory it may write to); with `upstream`, a
    /// pull-through cache of that registry (which must be up: the proxy pings it on start).
    pub fn start(dir: &Path, name: &str, storage: &Path, upstream: Option<&str>) -> Distribution {
        let host = format!("127.0.0.1:{}", super::unused_port());
        let mut config = serde_json::json!({
            "version": "0.1",
            "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": false}},
            "storage": {
                "filesystem": {"rootdirectory": storage},
                "delete": {"enabled": true},
                "maintenance": {"uploadpurging": {"enabled": false}},
            },
            "http": {"addr": host, "secret": format!("{name}-secret")},
        });
        if let Some(upstream) = upstream {
            config["proxy"] = serde_json::json!({"remoteurl": format!("http://{upstream}")});
        }
        let config_path = dir.join(format!("{name}.yml"));
        std::fs::write(&config_path, config.to_string()).unwrap();
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("docker-registry runs (tests/harness/install-deps.sh installs it)");
        let mut registry = Distribution {
            host,
            log,
            child: Some(child),
        };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "docker-registry for {} exited ({status}): {}",
                    self.host,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if get_status(&self.host, "/v2/").is_some_and(|s| s == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("docker-registry on {} did not answer /v2/", self.host);
    }

    /// Stop it (SIGKILL to its PID) and wait until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Access-log lines (`"METHOD /path HTTP/1.1" status …`) after `offset` bytes.
    pub fn requests(&self, offset: u64) -> Vec<String> {
        let text = std::fs::read(&self.log).unwrap();
        String::from_utf8_lossy(&text[offset as usize..])
            .lines()
            .filter(|l| l.contains(" HTTP/1.1\" "))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The status of `GET path` on `host`, or None when nothing answers.
fn get_status(host: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(host).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Copy the directory tree `from` to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
