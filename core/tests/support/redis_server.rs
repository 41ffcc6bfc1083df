//! A real `redis-server` (Debian's package) for the shared cache tests: on 127.0.0.1 at a free
//! port and on a unix socket in a directory of its own, nothing persisted (`--save ''
//! --appendonly no`), stopped by its PID when dropped. Each test starts its own, so what a
//! test finds in it is what that test wrote.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    pub socket: PathBuf,
    password: Option<String>,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        RedisServer::start_with(None)
    }

    /// A server that refuses clients without `password` (`--requirepass`).
    pub fn with_password(password: &str) -> RedisServer {
        RedisServer::start_with(Some(password))
    }

    fn start_with(password: Option<&str>) -> RedisServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let socket = dir.path().join("redis.sock");
        // A free port: bound, read and released; redis-server takes it a moment later.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--unixsocket")
            .arg(&socket)
            .args(["--unixsocketperm", "700", "--loglevel", "warning"])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = password {
            command.args(["--requirepass", password]);
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}): install it (apt-get install redis-server)")
        });
        let server = RedisServer {
            child: Some(child),
            port,
            socket,
            password: password.map(str::to_owned),
            _dir: dir,
        };
        let started = Instant::now();
        while server.try_cli(&["PING"]).as_deref() != Some("PONG") {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server on port {port} did not answer PING within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// `redis://127.0.0.1:PORT` (no password: add one to test with it).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `unix:///path/to/redis.sock`.
    pub fn unix_url(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    fn try_cli(&self, args: &[&str]) -> Option<String> {
        let mut command = Command::new("redis-cli");
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some(password) = &self.password {
            command.args(["-a", password, "--no-auth-warning"]);
        }
        let out = command.args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Run a command with `redis-cli`; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|| panic!("redis-cli {args:?} failed"))
    }

    /// Every key matching `pattern` (`SCAN`, as `redis-cli --scan` walks it).
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .cli(&["--scan", "--pattern", pattern])
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }

    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// Stop the server at once (SIGKILL to its PID), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
