//! `--metrics ADDR`: Prometheus text on `GET /metrics` (prometheus-client): calls by method and
//! outcome, call latency, and core's counters (digest cache hits and misses, registry and token
//! requests, the shared cache tier's hits, misses, errors and rejected entries). Plain HTTP/1 over hyper; bind it to loopback or a node-local address.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

/// What the daemon counts per call.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<MethodLabels, Histogram>,
}

impl Metrics {
    pub(crate) fn new(resolver: imagecheck::Resolver) -> Metrics {
        let mut registry = Registry::with_prefix("imagecheck");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "calls",
            "gRPC calls answered, by method and outcome",
            calls.clone(),
        );
        let latency = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            // 50 µs to about 13 s.
            Histogram::new(exponential_buckets(0.000_05, 4.0, 10))
        });
        registry.register(
            "call_duration_seconds",
            "Time to answer a gRPC call, by method",
            latency.clone(),
        );
        registry.register_collector(Box::new(CoreCounters { resolver }));
        Metrics {
            registry,
            calls,
            latency,
        }
    }

    pub(crate) fn record(&self, method: &'static str, outcome: &'static str, took: Duration) {
        self.calls
            .get_or_create(&CallLabels { method, outcome })
            .inc();
        self.latency
            .get_or_create(&MethodLabels { method })
            .observe(took.as_secs_f64());
    }

    fn render(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        text
    }
}

/// Core's process-wide counters, read at each scrape.
#[derive(Debug)]
struct CoreCounters {
    resolver: imagecheck::Resolver,
}

impl Collector for CoreCounters {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let now = imagecheck::metrics::snapshot();
        for (name, help, value) in [
            (
                "digest_cache_hits",
                "Tag lookups answered from the digest cache",
                now.digest_cache_hits,
            ),
            (
                "digest_cache_misses",
                "Tag lookups the digest cache could not answer (zero-TTL calls skip the cache)",
                now.digest_cache_misses,
            ),
            (
                "registry_requests",
                "HTTP requests sent to registries",
                now.registry_requests,
            ),
            (
                "token_requests",
                "Requests sent to registry token servers",
                now.token_requests,
            ),
            (
                "shared_cache_hits",
                "Lookups the fleet's shared cache answered",
                now.shared_cache_hits,
            ),
            (
                "shared_cache_misses",
                "Lookups the fleet's shared cache had no usable entry for",
                now.shared_cache_misses,
            ),
            (
                "shared_cache_errors",
                "Shared cache operations that failed or timed out (calls went on without it)",
                now.shared_cache_errors,
            ),
            (
                "shared_cache_rejected",
                "Shared cache entries ignored: bytes not hashing to their digest, malformed entries",
                now.shared_cache_rejected,
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let cached = ConstGauge::new(i64::try_from(self.resolver.cache_len()).unwrap_or(i64::MAX));
        cached.encode(encoder.encode_descriptor(
            "digest_cache_entries",
            "Digests held in the resolver's cache",
            None,
            cached.metric_type(),
        )?)?;
        Ok(())
    }
}

/// Serve `GET /metrics` on `listener` until the daemon stops.
pub(crate) async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let metrics = metrics.clone();
                    async move { Ok::<_, Infallible>(answer(&request, &metrics)) }
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            // A scrape is one small request: a connection that lingers is dropped.
            let _ = tokio::time::timeout(Duration::from_secs(30), connection).await;
        });
    }
}

fn answer(request: &Request<hyper::body::Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let (status, content_type, body) = if request.uri().path() == "/metrics" {
        (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        )
    } else {
        (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: metrics are at /metrics\n".to_owned(),
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}
