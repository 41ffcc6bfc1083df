//! Warm resolve (cache hit) cost per call, single thread and 2 threads, through the sync fast
//! path bindings use (`Resolver::cached`) and the async `resolve`. No network: an in-process
//! engine answers the one cold resolve that fills the cache.
//!
//! Run: cargo bench -p imagecheck --bench warm_resolve

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imagecheck::resolve::{BoxFuture, DigestSource, ResolveRequest};
use imagecheck::{Digest, DigestCause, Engine, Resolver};

#[derive(Debug)]
struct Fixed(Digest);

impl DigestSource for Fixed {
    fn resolve<'a>(&'a self, _: ResolveRequest<'a>) -> BoxFuture<'a, Result<Digest, DigestCause>> {
        let d = self.0.clone();
        Box::pin(async move { Ok(d) })
    }
}

const CALLS: u32 = 2_000_000;
const REFERENCE: &str = "ghcr.io/example/app:1.2.3";
const TTL: Duration = Duration::from_secs(3600);

fn per_call(threads: usize, resolver: &Resolver, engine: &Engine, use_async: bool) -> f64 {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..CALLS {
                    let digest = if use_async {
                        futures::executor::block_on(resolver.resolve(
                            engine,
                            black_box(REFERENCE),
                            TTL,
                        ))
                    } else {
                        resolver
                            .cached(engine, black_box(REFERENCE), TTL, None)
                            .expect("warm")
                    };
                    black_box(digest.expect("cached"));
                }
            });
        }
    });
    started.elapsed().as_nanos() as f64 / f64::from(CALLS)
}

fn main() {
    let engine = Engine::parse("fixed").expect("name");
    let resolver = Resolver::builder()
        .engine("fixed", Arc::new(Fixed(Digest::sha256_of(b"bench"))))
        .build();
    resolver
        .resolve_blocking(&engine, REFERENCE, TTL, None)
        .expect("cold resolve fills the cache");
    println!("warm resolve, {CALLS} calls per thread (wall time per call in each thread):");
    for (label, use_async) in [
        ("Resolver::cached (sync, FFI path)", false),
        ("Resolver::resolve (async)", true),
    ] {
        for threads in [1, 2] {
            let ns = per_call(threads, &resolver, &engine, use_async);
            println!("  {label:<36} {threads} thread(s): {ns:>7.1} ns/call");
        }
    }
}
