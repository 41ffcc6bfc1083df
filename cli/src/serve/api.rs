//! imagecheck's own services (proto/imagecheck/v1/imagecheck.proto): Resolver.Resolve against
//! the daemon's shared digest cache, and Verifier.Verify with the daemon's rules, errors as the
//! stable kinds (see `kinds`).

use std::sync::Arc;
use std::time::Duration;

use imagecheck::{Engine, Verification};
use tonic::{Request, Response, Status};

use super::calls::Call;
use super::flights::VerifyFlights;
use super::kinds::to_status;
use super::metrics::Metrics;
use super::proto::imagecheck_v1::resolver_server::Resolver;
use super::proto::imagecheck_v1::verifier_server::Verifier;
use super::proto::imagecheck_v1::{
    Credentials, ResolveRequest, ResolveResponse, VerifyRequest, VerifyResponse,
};
use super::rules::Rules;

pub(crate) const RESOLVE: &str = "imagecheck.v1.Resolver/Resolve";
pub(crate) const VERIFY: &str = "imagecheck.v1.Verifier/Verify";

#[derive(Debug)]
pub(crate) struct Api {
    pub(crate) rules: Arc<Rules>,
    pub(crate) flights: Arc<VerifyFlights>,
    pub(crate) metrics: Option<Arc<Metrics>>,
}

/// Per-call credentials from a request; none when no username was given.
pub(crate) fn credentials(
    host: String,
    username: String,
    password: String,
) -> Option<imagecheck::Credentials> {
    (!username.is_empty()).then(|| imagecheck::Credentials::new(host, username, password))
}

fn from_wire(c: Option<Credentials>) -> Option<imagecheck::Credentials> {
    c.and_then(|c| credentials(c.host, c.username, c.password))
}

/// The outcome label of a failed call (metrics and the call log).
fn outcome_of(error: &imagecheck::Error) -> &'static str {
    use imagecheck::ErrorKind as K;
    match error.kind() {
        K::InvalidReference => "invalid_reference",
        K::DigestUnavailable => "digest_unavailable",
        K::VerificationFailed => "failed",
        K::Denied => "denied",
        K::InvalidPolicy => "invalid_policy",
        K::Cancelled => "cancelled",
        K::InvalidArgument => "invalid_argument",
    }
}

#[tonic::async_trait]
impl Resolver for Api {
    async fn resolve(
        &self,
        request: Request<ResolveRequest>,
    ) -> Result<Response<ResolveResponse>, Status> {
        let request = request.into_inner();
        let call = Call::start(RESOLVE, &request.reference, self.metrics.clone());
        let engine_name = if request.engine.is_empty() {
            "registry"
        } else {
            request.engine.as_str()
        };
        let answer = match Engine::parse(engine_name) {
            Ok(engine) => {
                let ttl = if request.ttl_seconds.is_finite() {
                    Duration::from_secs_f64(request.ttl_seconds.clamp(0.0, 1e9))
                } else {
                    Duration::ZERO
                };
                let credentials = from_wire(request.credentials);
                self.rules
                    .resolver()
                    .resolve_with(&engine, &request.reference, ttl, credentials.as_ref())
                    .await
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok(digest) => {
                call.finish("ok");
                Ok(Response::new(ResolveResponse {
                    digest: digest.as_str().to_owned(),
                }))
            }
            Err(e) => {
                call.finish(outcome_of(&e));
                Err(to_status(&e))
            }
        }
    }
}

#[tonic::async_trait]
impl Verifier for Api {
    async fn verify(
        &self,
        request: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        let request = request.into_inner();
        let call = Call::start(VERIFY, &request.reference, self.metrics.clone());
        let credentials = from_wire(request.credentials);
        let answer = self
            .flights
            .verify(&self.rules, &request.reference, credentials)
            .await;
        match answer {
            Ok(v) => {
                call.finish(if v.verified {
                    "verified"
                } else {
                    "not_verified"
                });
                Ok(Response::new(to_wire(v)))
            }
            Err(e) => {
                call.finish(outcome_of(&e));
                Err(to_status(&e))
            }
        }
    }
}

fn to_wire(v: Verification) -> VerifyResponse {
    VerifyResponse {
        verified: v.verified,
        message: v.message,
        digested_ref: v.digested_ref.unwrap_or_default(),
    }
}
