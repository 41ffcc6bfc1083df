//! Talos's `machine.ImageService/Verify` (proto/machine/image.proto), wire- and
//! status-compatible with Talos: deny and failed check PERMISSION_DENIED, tag not found
//! NOT_FOUND, unparseable reference INVALID_ARGUMENT, anything else INTERNAL; no rule matched and
//! skip are OK with verified = false; `digested_image_ref` only when verified. Talos's patched
//! containerd sends metadata `talos-role: os:image:verifier`; it is accepted and ignored.

use std::sync::Arc;

use imagecheck::{CauseKind, Error, Verification};
use tonic::{Request, Response, Status};

use super::calls::Call;
use super::flights::VerifyFlights;
use super::metrics::Metrics;
use super::proto::machine::image_service_server::ImageService;
use super::proto::machine::{
    ImageServiceCredentials, ImageServiceVerifyRequest, ImageServiceVerifyResponse,
};
use super::rules::Rules;

pub(crate) const VERIFY: &str = "machine.ImageService/Verify";

#[derive(Debug)]
pub(crate) struct TalosImageService {
    pub(crate) rules: Arc<Rules>,
    pub(crate) flights: Arc<VerifyFlights>,
    pub(crate) metrics: Option<Arc<Metrics>>,
}

#[tonic::async_trait]
impl ImageService for TalosImageService {
    async fn verify(
        &self,
        request: Request<ImageServiceVerifyRequest>,
    ) -> Result<Response<ImageServiceVerifyResponse>, Status> {
        let request = request.into_inner();
        let call = Call::start(VERIFY, &request.image_ref, self.metrics.clone());
        let credentials = request.credentials.and_then(credentials);
        let answer = self
            .flights
            .verify(&self.rules, &request.image_ref, credentials)
            .await;
        let (outcome, reply) = answer_of(answer);
        call.finish(outcome);
        reply.map(Response::new)
    }
}

fn credentials(c: ImageServiceCredentials) -> Option<imagecheck::Credentials> {
    super::api::credentials(c.host, c.username, c.password)
}

/// The outcome label and Talos's answer for a verify result.
fn answer_of(
    answer: imagecheck::Result<Verification>,
) -> (&'static str, Result<ImageServiceVerifyResponse, Status>) {
    match answer {
        Ok(v) if v.verified => (
            "verified",
            Ok(ImageServiceVerifyResponse {
                verified: true,
                message: v.message,
                digested_image_ref: v.digested_ref.unwrap_or_default(),
            }),
        ),
        Ok(v) => (
            "not_verified",
            Ok(ImageServiceVerifyResponse {
                verified: false,
                message: v.message,
                digested_image_ref: String::new(),
            }),
        ),
        Err(e) => {
            let (outcome, status) = status_of(&e);
            (outcome, Err(status))
        }
    }
}

fn status_of(error: &Error) -> (&'static str, Status) {
    let message = error.to_string();
    match error {
        Error::Denied { .. } => ("denied", Status::permission_denied(message)),
        Error::VerificationFailed { .. } => ("failed", Status::permission_denied(message)),
        Error::InvalidReference(_) => ("invalid_reference", Status::invalid_argument(message)),
        Error::DigestUnavailable { cause, .. } if cause.kind == CauseKind::NotFound => {
            ("not_found", Status::not_found(message))
        }
        _ => ("error", Status::internal(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagecheck::DigestCause;
    use tonic::Code;

    #[test]
    fn statuses_are_talos_s() {
        let unavailable = |kind| Error::DigestUnavailable {
            reference: "r".into(),
            engine: "registry".into(),
            cause: DigestCause::new(kind, "d"),
        };
        let cases = [
            (
                Error::Denied {
                    reference: "r".into(),
                    rule_index: 0,
                    pattern: "p".into(),
                },
                Code::PermissionDenied,
            ),
            (
                Error::VerificationFailed {
                    reference: "r".into(),
                    failure: imagecheck::verify::VerificationFailure::Unreadable(
                        imagecheck::DigestCause::new(imagecheck::CauseKind::Network, "x"),
                    ),
                },
                Code::PermissionDenied,
            ),
            (unavailable(CauseKind::NotFound), Code::NotFound),
            (unavailable(CauseKind::Network), Code::Internal),
            (
                Error::from(imagecheck::verify::TrustedRootError("p".into())),
                Code::Internal,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(status_of(&error).1.code(), code, "{error}");
        }
        let (_, skipped) = answer_of(Ok(Verification {
            verified: false,
            message: "rule 0 skips verification".into(),
            digested_ref: Some("example.com/a@sha256:00".into()),
        }));
        let skipped = skipped.unwrap_or_else(|s| panic!("{s:?}"));
        assert!(!skipped.verified);
        assert_eq!(skipped.digested_image_ref, "", "only set when verified");
    }
}
