//! fork() while a resolve is in flight: the child must not join the parent's flight (driven by
//! a runtime that has no threads in the child) but resolve on its own. Python's
//! multiprocessing (fork start method) does exactly this to a library that is in use. One test
//! in its own binary: a forked child has only the forking thread, so no other
//! test may be running in this process.

#![allow(
    clippy::unwrap_used,
    reason = "a test should stop at the first surprise"
)]

#[path = "support/fake_registry.rs"]
mod fake_registry;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fake_registry::Answer;
use imagecheck::{Engine, Resolver};

const OCI: &str = "application/vnd.oci.image.manifest.v1+json";

/// The child's exit status, or None when it has not exited by `deadline` (then it is killed).
fn wait_for(pid: libc::pid_t, deadline: Duration) -> Option<libc::c_int> {
    let started = Instant::now();
    let mut status: libc::c_int = 0;
    while started.elapsed() < deadline {
        // SAFETY: waiting on our own child, with a valid out-pointer.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(done >= 0, "waitpid failed");
        if done == pid {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: killing and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
    None
}

#[test]
fn a_child_forked_during_a_resolve_resolves_the_same_reference_itself() {
    // The fake registry runs on this runtime, in the parent; the child reaches it over loopback.
    let server = tokio::runtime::Runtime::new().unwrap();
    let digest = format!("sha256:{}", "b".repeat(64));
    let calls = Arc::new(AtomicUsize::new(0));
    let fake = {
        let (digest, calls) = (digest.clone(), calls.clone());
        server.block_on(fake_registry::start(move |_, _| {
            let mut answer = Answer::new(
                200,
                &[("docker-content-digest", &digest), ("content-type", OCI)],
                b"",
            );
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                // The parent's request stalls: its flight is under way when the fork happens.
                answer.delay = Duration::from_secs(5);
            }
            answer
        }))
    };
    let resolver = Resolver::builder()
        .insecure_registry(&fake.host)
        .request_timeout(Duration::from_secs(20))
        .build();
    let reference = format!("{}/fork/app:v1", fake.host);

    let parent = {
        let (resolver, reference) = (resolver.clone(), reference.clone());
        std::thread::spawn(move || {
            resolver.resolve_blocking(&Engine::Registry, &reference, Duration::ZERO, None)
        })
    };
    let started = Instant::now();
    while fake.requests.load(Ordering::SeqCst) == 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "no request");
        std::thread::sleep(Duration::from_millis(5));
    }

    // SAFETY: the child only resolves and leaves with _exit (no destructors, no test harness).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let resolved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            resolver.resolve_blocking(&Engine::Registry, &reference, Duration::ZERO, None)
        }));
        let code = match resolved {
            Ok(Ok(d)) if d.as_str() == digest => 0,
            Ok(_) => 1,
            Err(_) => 2,
        };
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }

    let status = wait_for(pid, Duration::from_secs(4));
    let status =
        status.expect("the forked child's resolve never returned (it joined the parent's flight)");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child's resolve failed (status {status:#x})"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the child asked the registry itself"
    );
    // The parent's own flight still finishes.
    assert_eq!(parent.join().unwrap().unwrap().as_str(), digest);
}
