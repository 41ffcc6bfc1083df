//! The cache key derived from a set of credentials: a keyed hash, so that a fingerprint that
//! escapes (a Debug print, a heap dump) cannot be checked against guessed passwords offline.

use std::fmt;
use std::sync::LazyLock;

use aws_lc_rs::hmac;

/// HMAC-SHA256 of (host, username, password) under a key drawn at random once per process.
///
/// It keys caches so that an answer obtained with some credentials is never served to a
/// caller with others. It is comparable and hashable, never printable: Debug shows no byte of
/// it, and nothing hands the bytes out. A forked child inherits the key, and with it the
/// parent's cache entries (they stay valid: the credentials have not changed).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Fingerprint([u8; 32]);

/// The per-process key. Without it an unsalted hash of a weak password falls to a
/// dictionary; with it a fingerprint says nothing outside this process.
static KEY: LazyLock<hmac::Key> = LazyLock::new(|| {
    hmac::Key::generate(hmac::HMAC_SHA256, &aws_lc_rs::rand::SystemRandom::new())
        .unwrap_or_else(|_| panic!("imagecheck: the system random generator failed"))
});

impl Fingerprint {
    /// The fingerprint of these fields under this process's key.
    pub(crate) fn of(host: &str, username: &str, password: &str) -> Fingerprint {
        Fingerprint::keyed(&KEY, host, username, password)
    }

    fn keyed(key: &hmac::Key, host: &str, username: &str, password: &str) -> Fingerprint {
        let mut context = hmac::Context::with_key(key);
        for field in [host, username, password] {
            // Length-prefixed: ("ab", "c") and ("a", "bc") differ.
            context.update(&(field.len() as u64).to_le_bytes());
            context.update(field.as_bytes());
        }
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(context.sign().as_ref());
        Fingerprint(bytes)
    }

    /// The bytes, for tests that check they are printed nowhere.
    #[cfg(test)]
    pub(crate) fn bytes_for_test(&self) -> [u8; 32] {
        self.0
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fingerprint(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set in the child run of the test below, which prints its own fingerprint.
    const CHILD: &str = "IMAGECHECK_FINGERPRINT_CHILD";
    const MARK: &str = "fingerprint=";

    fn hex_of(fingerprint: Fingerprint) -> String {
        hex::encode(fingerprint.bytes_for_test())
    }

    #[test]
    fn another_key_gives_another_fingerprint() {
        let other = hmac::Key::new(hmac::HMAC_SHA256, b"another process's key");
        let here = Fingerprint::of("h", "u", "p");
        assert_ne!(here, Fingerprint::keyed(&other, "h", "u", "p"));
        assert_eq!(
            here,
            Fingerprint::of("h", "u", "p"),
            "stable within a process"
        );
    }

    #[test]
    fn two_processes_give_different_fingerprints_for_the_same_credentials() {
        let mine = hex_of(Fingerprint::of("reg.example", "alice", "hunter2"));
        if std::env::var_os(CHILD).is_some() {
            println!("{MARK}{mine}");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "credentials::fingerprint::tests::two_processes_give_different_fingerprints_for_the_same_credentials",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let theirs = text
            .lines()
            .find_map(|l| l.split_once(MARK).map(|(_, rest)| rest.trim()))
            .unwrap_or_else(|| panic!("the child printed no fingerprint: {text}"));
        assert_eq!(theirs.len(), 64, "{theirs}");
        assert_ne!(
            theirs, mine,
            "the same fingerprint in two processes: unkeyed"
        );
    }

    #[test]
    fn debug_shows_no_byte() {
        let fingerprint = Fingerprint::of("h", "u", "p");
        let shown = format!("{fingerprint:?}");
        assert_eq!(shown, "Fingerprint(<redacted>)");
        assert!(!shown.contains(&hex_of(fingerprint)));
    }
}
