"""imagecheck: resolve container image tags to content digests and verify their cosign
signatures against machine-wide rules, in-process (a Rust core; see DESIGN.md).

>>> import imagecheck
>>> imagecheck.default_resolver().resolve("ghcr.io/org/app:1.2")   # doctest: +SKIP
'sha256:...'

Errors derive from :class:`ImageCheckError`; a resolve that fails with
:class:`DigestUnavailable` can always fall back to the tag.
Log records go to the ``imagecheck`` logger.
"""

import logging as _logging

from ._imagecheck import (
    CandidateFailure,
    Credentials,
    Denied,
    DigestUnavailable,
    ImageCheckError,
    InvalidArgument,
    InvalidPolicy,
    InvalidReference,
    Reference,
    Resolver,
    Verification,
    VerificationFailed,
    Verifier,
    __version__,
    default_resolver,
    default_verifier,
    register_engine,
)

# A library must not print through logging's last-resort handler; applications configure it.
_logging.getLogger("imagecheck").addHandler(_logging.NullHandler())

__all__ = [
    "CandidateFailure",
    "Credentials",
    "Denied",
    "DigestUnavailable",
    "ImageCheckError",
    "InvalidArgument",
    "InvalidPolicy",
    "InvalidReference",
    "Reference",
    "Resolver",
    "Verification",
    "VerificationFailed",
    "Verifier",
    "__version__",
    "default_resolver",
    "default_verifier",
    "register_engine",
]
