//! Configured registry credentials: docker `config.json`, containers `auth.json` and
//! `docker-credential-*` helpers. Per-call credentials are handled by the caller of
//! [`AuthSources::lookup`]; these are the fallback before anonymous access.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

mod config_file;

use crate::credentials::normalise_host;
use crate::error::{CauseKind, DigestCause};

/// How long a credential helper may take before it counts as failed.
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

/// A secret found in configuration. Debug never shows it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ConfiguredSecret {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in config.json, `<token>` from a helper).
    IdentityToken(String),
}

impl fmt::Debug for ConfiguredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfiguredSecret::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            ConfiguredSecret::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

/// One place credentials are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSource {
    /// A docker `config.json` (`auths`, `credHelpers`, `credsStore`).
    DockerConfig(PathBuf),
    /// A containers `auth.json` (same format; keys may name `host/namespace`).
    ContainersAuth(PathBuf),
}

/// The ordered list of configured sources; the first that has an entry for a host wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSources {
    sources: Vec<AuthSource>,
    /// Where `docker-credential-*` programs live; None searches `PATH` as docker does.
    helper_dir: Option<PathBuf>,
}

impl AuthSources {
    /// No configured credentials: per-call or anonymous only.
    pub fn none() -> Self {
        AuthSources::default()
    }

    pub fn new(sources: Vec<AuthSource>) -> Self {
        AuthSources {
            sources,
            helper_dir: None,
        }
    }

    /// Run credential helpers from `dir` instead of searching `PATH`.
    pub fn with_helper_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.helper_dir = Some(dir.into());
        self
    }

    pub fn sources(&self) -> &[AuthSource] {
        &self.sources
    }

    /// The sources the environment names, in the order podman and docker read them:
    /// `REGISTRY_AUTH_FILE` (or `$XDG_RUNTIME_DIR/containers/auth.json`), then
    /// `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`). Missing files are skipped
    /// at lookup time, so this never fails.
    pub fn from_env() -> Self {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let mut sources = Vec::new();
        if let Some(path) = env("REGISTRY_AUTH_FILE") {
            sources.push(AuthSource::ContainersAuth(PathBuf::from(path)));
        } else if let Some(dir) = env("XDG_RUNTIME_DIR") {
            sources.push(AuthSource::ContainersAuth(
                PathBuf::from(dir).join("containers/auth.json"),
            ));
        }
        if let Some(dir) = env("DOCKER_CONFIG") {
            sources.push(AuthSource::DockerConfig(
                PathBuf::from(dir).join("config.json"),
            ));
        } else if let Some(home) = env("HOME") {
            sources.push(AuthSource::DockerConfig(
                PathBuf::from(home).join(".docker/config.json"),
            ));
        }
        AuthSources::new(sources)
    }

    /// Credentials configured for `registry` (reference form, e.g. `docker.io`) and
    /// `repository`, or None for anonymous. A broken file or helper is an error (Unauthorized
    /// with the reason), not silent anonymous access, so that the user sees why.
    pub async fn lookup(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<ConfiguredSecret>, DigestCause> {
        for source in &self.sources {
            let (path, namespaced) = match source {
                AuthSource::DockerConfig(p) => (p, false),
                AuthSource::ContainersAuth(p) => (p, true),
            };
            let Some(config) = read_config(path).await? else {
                continue;
            };
            if let Some(secret) = config
                .lookup(
                    registry,
                    repository,
                    namespaced,
                    path,
                    self.helper_dir.as_deref(),
                )
                .await?
            {
                return Ok(Some(secret));
            }
        }
        Ok(None)
    }
}

#[derive(Debug, Default)]
struct ConfigFile {
    auths: HashMap<String, AuthEntry>,
    cred_helpers: HashMap<String, String>,
    creds_store: Option<String>,
}

#[derive(Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identity_token: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry(<redacted>)")
    }
}

async fn read_config(path: &Path) -> Result<Option<ConfigFile>, DigestCause> {
    let text = match tokio::fs::read(path).await {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(DigestCause::new(
                CauseKind::Unauthorized,
                format!("cannot read credentials file {}: {e}", path.display()),
            ));
        }
    };
    config_file::parse(&text, path).map(Some)
}

impl ConfigFile {
    async fn lookup(
        &self,
        registry: &str,
        repository: &str,
        namespaced: bool,
        path: &Path,
        helper_dir: Option<&Path>,
    ) -> Result<Option<ConfiguredSecret>, DigestCause> {
        if let Some(helper) = find(&self.cred_helpers, registry) {
            return run_helper(helper, registry, helper_dir).await;
        }
        if let Some(store) = self.creds_store.as_deref().filter(|s| !s.is_empty())
            && let Some(secret) = run_helper(store, registry, helper_dir).await?
        {
            return Ok(Some(secret));
        }
        // auth.json allows `host/namespace/repo` keys; the most specific one wins.
        let mut scopes = vec![registry.to_owned()];
        if namespaced {
            let mut prefix = registry.to_owned();
            for part in repository.split('/') {
                prefix.push('/');
                prefix.push_str(part);
                scopes.push(prefix.clone());
            }
        }
        for scope in scopes.iter().rev() {
            if let Some(entry) = find(&self.auths, scope) {
                return entry.secret(scope, path);
            }
        }
        Ok(None)
    }
}

/// Find the entry whose key, normalised (scheme, `/v1/`, the host in canonical form: case,
/// `:443`, Docker Hub aliases), equals `key`. A key written exactly as `key` wins; among
/// other spellings of it (`GHCR.IO` and `ghcr.io:443`) the first in byte order, so the answer
/// does not depend on the map's iteration order.
fn find<'a, T>(map: &'a HashMap<String, T>, key: &str) -> Option<&'a T> {
    map.get(key).or_else(|| {
        map.iter()
            .filter(|(k, _)| normalise_host(k) == key)
            .min_by_key(|(k, _)| k.as_str())
            .map(|(_, v)| v)
    })
}

impl AuthEntry {
    /// The secret this entry holds. An entry holding none (`{}`, or `"auth": ""`: docker writes
    /// that for a registry whose secret lives in a `credsStore`) means no credentials, as it
    /// does to docker: the next source, or anonymous access, is tried.
    fn secret(&self, key: &str, path: &Path) -> Result<Option<ConfiguredSecret>, DigestCause> {
        if let Some(token) = self.identity_token.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(ConfiguredSecret::IdentityToken(token.to_owned())));
        }
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Ok(Some(ConfiguredSecret::Basic {
                username: username.clone(),
                password: password.clone(),
            }));
        }
        let Some(encoded) = self.auth.as_deref().filter(|a| !a.trim().is_empty()) else {
            return Ok(None);
        };
        let bad = |what: &str| {
            DigestCause::new(
                CauseKind::Unauthorized,
                format!("credentials file {}: entry {key:?}: {what}", path.display()),
            )
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| bad("\"auth\" is not base64"))?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad("\"auth\" is not UTF-8"))?;
        let (username, password) = decoded
            .split_once(':')
            .ok_or_else(|| bad("\"auth\" is not base64 of user:password"))?;
        Ok(Some(ConfiguredSecret::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        }))
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Ask `docker-credential-<name> get` for `registry`. "Not found" answers None.
async fn run_helper(
    name: &str,
    registry: &str,
    helper_dir: Option<&Path>,
) -> Result<Option<ConfiguredSecret>, DigestCause> {
    let program = format!("docker-credential-{name}");
    if name.contains('/') {
        return Err(DigestCause::new(
            CauseKind::Unauthorized,
            format!("credential helper name {name:?} must not contain '/'"),
        ));
    }
    let executable = match helper_dir {
        Some(dir) => dir.join(&program),
        None => PathBuf::from(&program),
    };
    let server = if registry == crate::reference::DOCKER_HUB {
        "https://index.docker.io/v1/".to_owned()
    } else {
        registry.to_owned()
    };
    let fail = |what: String| {
        DigestCause::new(
            CauseKind::Unauthorized,
            format!("credential helper {program}: {what}"),
        )
    };
    let mut child = tokio::process::Command::new(&executable)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .await
            .map_err(|e| fail(format!("cannot write request: {e}")))?;
    }
    let output = tokio::time::timeout(HELPER_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| fail(format!("no answer within {}s", HELPER_TIMEOUT.as_secs())))?
        .map_err(|e| fail(format!("failed: {e}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stdout).to_lowercase()
            + &String::from_utf8_lossy(&output.stderr).to_lowercase();
        if said.contains("not found") {
            return Ok(None);
        }
        return Err(fail(format!("exited with {}", output.status)));
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .map_err(|_| fail("answered something that is not its JSON format".to_owned()))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if answer.username == "<token>" {
        ConfiguredSecret::IdentityToken(answer.secret)
    } else {
        ConfiguredSecret::Basic {
            username: answer.username,
            password: answer.secret,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[tokio::test]
    async fn reads_docker_config_auths_with_hub_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("u1:p:with:colons");
        let path = write(
            dir.path(),
            "config.json",
            &format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"127.0.0.1:5000":{{"identitytoken":"tok"}}}}}}"#
            ),
        );
        let sources = AuthSources::new(vec![AuthSource::DockerConfig(path)]);
        assert_eq!(
            sources.lookup("docker.io", "library/nginx").await.unwrap(),
            Some(ConfiguredSecret::Basic {
                username: "u1".into(),
                password: "p:with:colons".into()
            })
        );
        assert_eq!(
            sources.lookup("127.0.0.1:5000", "a").await.unwrap(),
            Some(ConfiguredSecret::IdentityToken("tok".into()))
        );
        assert_eq!(sources.lookup("ghcr.io", "a").await.unwrap(), None);
    }

    #[tokio::test]
    async fn keys_are_matched_in_canonical_form_and_the_choice_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let path = write(
            dir.path(),
            "auth.json",
            &format!(
                r#"{{"auths":{{"GHCR.IO":{{"auth":"{}"}},"ghcr.io:443":{{"auth":"{}"}},"registry-1.docker.io:443":{{"auth":"{}"}},"Quay.IO/team":{{"auth":"{}"}}}}}}"#,
                b64("upper:1"),
                b64("port:2"),
                b64("hub:3"),
                b64("team:4"),
            ),
        );
        let sources = AuthSources::new(vec![AuthSource::ContainersAuth(path)]);
        let user = |s: Option<ConfiguredSecret>| match s {
            Some(ConfiguredSecret::Basic { username, .. }) => username,
            other => panic!("{other:?}"),
        };
        // Every lookup reads the file into a new map with its own iteration order.
        for _ in 0..16 {
            assert_eq!(
                user(sources.lookup("ghcr.io", "org/app").await.unwrap()),
                "upper"
            );
        }
        assert_eq!(
            user(sources.lookup("docker.io", "library/nginx").await.unwrap()),
            "hub"
        );
        assert_eq!(
            user(sources.lookup("quay.io", "team/app").await.unwrap()),
            "team"
        );
        assert_eq!(sources.lookup("quay.io", "other/app").await.unwrap(), None);
    }

    #[tokio::test]
    async fn auth_json_most_specific_namespace_wins_and_order_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let auth_json = write(
            dir.path(),
            "auth.json",
            &format!(
                r#"{{"auths":{{"reg.example":{{"auth":"{}"}},"reg.example/team":{{"auth":"{}"}}}}}}"#,
                b64("wide:1"),
                b64("team:2")
            ),
        );
        let docker = write(
            dir.path(),
            "config.json",
            &format!(
                r#"{{"auths":{{"reg.example":{{"auth":"{}"}}}}}}"#,
                b64("docker:3")
            ),
        );
        let sources = AuthSources::new(vec![
            AuthSource::ContainersAuth(auth_json),
            AuthSource::DockerConfig(docker),
        ]);
        let user = |s: Option<ConfiguredSecret>| match s {
            Some(ConfiguredSecret::Basic { username, .. }) => username,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            user(sources.lookup("reg.example", "team/app").await.unwrap()),
            "team"
        );
        assert_eq!(
            user(sources.lookup("reg.example", "other/app").await.unwrap()),
            "wide"
        );
    }

    #[tokio::test]
    async fn broken_file_is_an_error_that_hides_content_and_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "config.json",
            r#"{"auths": {"h": {"auth": "s3cret!!"}}}"#,
        );
        let sources = AuthSources::new(vec![AuthSource::DockerConfig(path)]);
        let err = sources.lookup("h", "r").await.unwrap_err();
        assert_eq!(err.kind, CauseKind::Unauthorized);
        assert!(!err.detail.contains("s3cret"), "{err}");
        let none = AuthSources::new(vec![AuthSource::DockerConfig(dir.path().join("absent"))]);
        assert_eq!(none.lookup("h", "r").await.unwrap(), None);
    }

    /// The lookup's error for a config.json holding `text`, checked to name the file and the
    /// entry and to hold none of `secrets`.
    async fn error_for(text: &str, secrets: &[&str]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "config.json", text);
        let sources = AuthSources::new(vec![AuthSource::DockerConfig(path.clone())]);
        let err = sources.lookup("reg.example", "app").await.unwrap_err();
        assert_eq!(err.kind, CauseKind::Unauthorized);
        let shown = err.to_string();
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret:?} in {shown}");
        }
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        shown
    }

    #[tokio::test]
    async fn an_entry_that_is_the_base64_string_itself_is_named_not_quoted() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:s3cret-pw");
        let shown = error_for(
            &format!(r#"{{"auths": {{"reg.example": "{encoded}"}}}}"#),
            &[&encoded, "s3cret-pw"],
        )
        .await;
        assert!(
            shown.contains("\"reg.example\"") && shown.contains("is a string, not an object"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_field_of_the_wrong_type_is_named_not_quoted() {
        let shown = error_for(
            r#"{"auths": {"reg.example": {"username": "alice", "password": 73518264}}}"#,
            &["73518264"],
        )
        .await;
        assert!(
            shown.contains("\"reg.example\"") && shown.contains("\"password\" is a number"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn credential_helper_is_run_and_not_found_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let helper = dir.path().join("docker-credential-imagechecktest");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread host\nif [ \"$host\" = \"reg.example\" ]; then echo '{\"ServerURL\":\"reg.example\",\"Username\":\"helper-user\",\"Secret\":\"helper-pw\"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = write(
            dir.path(),
            "config.json",
            r#"{"credHelpers": {"reg.example": "imagechecktest", "other.example": "imagechecktest"}}"#,
        );
        let sources =
            AuthSources::new(vec![AuthSource::DockerConfig(config)]).with_helper_dir(dir.path());
        assert_eq!(
            sources.lookup("reg.example", "x").await.unwrap(),
            Some(ConfiguredSecret::Basic {
                username: "helper-user".into(),
                password: "helper-pw".into()
            })
        );
        assert_eq!(sources.lookup("other.example", "x").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_entry_holding_no_secret_means_no_credentials() {
        // docker writes `{}` for a registry whose secret lives in its credsStore; a store that
        // does not know the registry then leaves it anonymous, not an error.
        let dir = tempfile::tempdir().unwrap();
        let config = write(
            dir.path(),
            "config.json",
            r#"{"auths": {"https://index.docker.io/v1/": {}, "reg.example": {"auth": ""}}}"#,
        );
        let sources = AuthSources::new(vec![AuthSource::DockerConfig(config)]);
        assert_eq!(
            sources.lookup("docker.io", "library/x").await.unwrap(),
            None
        );
        assert_eq!(sources.lookup("reg.example", "x").await.unwrap(), None);
    }
}
