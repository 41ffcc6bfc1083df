//! Where a daemon's API socket is: an explicit path, `DOCKER_HOST` / `CONTAINER_HOST`, or the
//! platform default.

use std::fmt;
use std::path::{Path, PathBuf};

/// The Docker daemon's default socket.
pub const DOCKER_DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// The rootful Podman service's default socket.
pub const PODMAN_ROOTFUL_SOCKET: &str = "/run/podman/podman.sock";
/// Environment variable naming the Docker daemon (`unix:///path`).
pub const DOCKER_HOST_ENV: &str = "DOCKER_HOST";
/// Environment variable naming the Podman service (`unix:///path`).
pub const CONTAINER_HOST_ENV: &str = "CONTAINER_HOST";

/// How a daemon is reached.
#[derive(Clone, PartialEq, Eq)]
pub enum DaemonEndpoint {
    /// A unix socket speaking the Docker Engine API.
    Unix(PathBuf),
    /// The environment names an endpoint this client cannot use (`tcp://`, `ssh://`, …).
    /// Every resolve fails with a message naming the variable; nothing falls back silently to
    /// another daemon.
    Unsupported {
        variable: &'static str,
        value: String,
    },
}

impl fmt::Debug for DaemonEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaemonEndpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            // A URL may carry user info; show the scheme only.
            DaemonEndpoint::Unsupported { variable, value } => {
                let scheme = value.split_once("://").map_or("?", |(s, _)| s);
                write!(f, "Unsupported({variable}={scheme}://…)")
            }
        }
    }
}

impl DaemonEndpoint {
    /// A unix socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        DaemonEndpoint::Unix(path.into())
    }

    /// The socket path, if this endpoint is usable.
    pub fn socket(&self) -> Option<&Path> {
        match self {
            DaemonEndpoint::Unix(path) => Some(path),
            DaemonEndpoint::Unsupported { .. } => None,
        }
    }

    /// Parse a `DOCKER_HOST`-style value: `unix:///path` (or a bare absolute path).
    pub fn from_host_value(variable: &'static str, value: &str) -> Self {
        let value = value.trim();
        if let Some(path) = value.strip_prefix("unix://") {
            if path.starts_with('/') {
                return DaemonEndpoint::Unix(PathBuf::from(path));
            }
        } else if value.starts_with('/') {
            return DaemonEndpoint::Unix(PathBuf::from(value));
        }
        DaemonEndpoint::Unsupported {
            variable,
            value: value.to_owned(),
        }
    }

    /// `/var/run/docker.sock`.
    pub fn docker_default() -> Self {
        DaemonEndpoint::unix(DOCKER_DEFAULT_SOCKET)
    }

    /// `DOCKER_HOST` when set, else [`Self::docker_default`].
    pub fn docker_from_env() -> Self {
        match env(DOCKER_HOST_ENV) {
            Some(value) => DaemonEndpoint::from_host_value(DOCKER_HOST_ENV, &value),
            None => DaemonEndpoint::docker_default(),
        }
    }

    /// Podman's own default: `/run/podman/podman.sock` for root, else
    /// `$XDG_RUNTIME_DIR/podman/podman.sock` (`/run/user/UID/…` when the variable is unset).
    pub fn podman_default() -> Self {
        match effective_uid() {
            Some(0) => DaemonEndpoint::unix(PODMAN_ROOTFUL_SOCKET),
            uid => {
                let runtime_dir = env("XDG_RUNTIME_DIR")
                    .map(PathBuf::from)
                    .or_else(|| uid.map(|uid| PathBuf::from(format!("/run/user/{uid}"))));
                match runtime_dir {
                    Some(dir) => DaemonEndpoint::Unix(dir.join("podman/podman.sock")),
                    None => DaemonEndpoint::unix(PODMAN_ROOTFUL_SOCKET),
                }
            }
        }
    }

    /// `CONTAINER_HOST` when set, else [`Self::podman_default`].
    pub fn podman_from_env() -> Self {
        match env(CONTAINER_HOST_ENV) {
            Some(value) => DaemonEndpoint::from_host_value(CONTAINER_HOST_ENV, &value),
            None => DaemonEndpoint::podman_default(),
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The effective UID from `/proc/self/status` (no `unsafe` libc call in this crate).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_effective_uid(&status)
}

fn parse_effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    // Uid: real effective saved filesystem
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn host_values() {
        assert_eq!(
            DaemonEndpoint::from_host_value(DOCKER_HOST_ENV, "unix:///tmp/d.sock"),
            DaemonEndpoint::unix("/tmp/d.sock")
        );
        assert_eq!(
            DaemonEndpoint::from_host_value(DOCKER_HOST_ENV, " /tmp/d.sock "),
            DaemonEndpoint::unix("/tmp/d.sock")
        );
        let tcp = DaemonEndpoint::from_host_value(DOCKER_HOST_ENV, "tcp://user:pw@h:2375");
        assert!(tcp.socket().is_none());
        let shown = format!("{tcp:?}");
        assert!(!shown.contains("pw"), "{shown}");
        assert!(shown.contains("DOCKER_HOST=tcp"), "{shown}");
        // Relative unix paths are not accepted.
        assert!(
            DaemonEndpoint::from_host_value(CONTAINER_HOST_ENV, "unix://rel.sock")
                .socket()
                .is_none()
        );
    }

    #[test]
    fn effective_uid_is_the_second_uid_field() {
        let status = "Name:\tx\nUid:\t1000\t0\t1000\t1000\nGid:\t1\t1\t1\t1\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_effective_uid("Name: x\n"), None);
    }
}
