"""Type stubs for the compiled module imagecheck._imagecheck (checked with mypy.stubtest)."""

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Final, Optional, Union, final

__version__: Final[str]
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

#: Seconds (negative means zero) or a timedelta.
_Seconds = Union[float, timedelta]
_Path = Union[str, "os.PathLike[str]"]

class ImageCheckError(Exception):
    """Base class of every imagecheck error."""

    kind: str
    cause: Optional[str]
    failures: list[CandidateFailure]

class InvalidReference(ImageCheckError, ValueError): ...

class DigestUnavailable(ImageCheckError):
    cause: Optional[str]

class VerificationFailed(ImageCheckError):
    failures: list[CandidateFailure]

@final
class CandidateFailure:
    """One signature candidate a failed verification checked."""

    @property
    def source(self) -> str: ...
    @property
    def check(self) -> str: ...
    @property
    def message(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...
class Denied(ImageCheckError): ...
class InvalidPolicy(ImageCheckError, ValueError): ...
class InvalidArgument(ImageCheckError, ValueError): ...

@final
class Credentials:
    def __new__(cls, host: str, username: str, password: str) -> Credentials: ...
    @property
    def host(self) -> str: ...
    @property
    def username(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...

@final
class Verification:
    def __new__(
        cls, verified: bool, message: str, digested_ref: Optional[str] = None
    ) -> Verification: ...
    @property
    def verified(self) -> bool: ...
    @property
    def message(self) -> str: ...
    @property
    def digested_ref(self) -> Optional[str]: ...
    def __bool__(self) -> bool: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Reference:
    def __new__(cls, text: str) -> Reference: ...
    @property
    def registry(self) -> str: ...
    @property
    def repository(self) -> str: ...
    @property
    def tag(self) -> Optional[str]: ...
    @property
    def digest(self) -> Optional[str]: ...
    @property
    def name(self) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Resolver:
    def __new__(
        cls,
        *,
        insecure_registries: Optional[Sequence[str]] = None,
        timeout: Optional[_Seconds] = None,
        from_env: Optional[bool] = None,
        max_cache_entries: Optional[int] = None,
        registries_conf: Optional[_Path] = None,
        hosts_dir: Optional[_Path] = None,
        max_retries: Optional[int] = None,
        max_concurrent_requests_per_host: Optional[int] = None,
        shared_cache: Optional[str] = None,
    ) -> Resolver: ...
    def resolve(
        self,
        reference: str,
        engine: str = "registry",
        ttl: _Seconds = ...,
        credentials: Optional[Credentials] = None,
    ) -> str: ...
    def resolve_async(
        self,
        reference: str,
        engine: str = "registry",
        ttl: _Seconds = ...,
        credentials: Optional[Credentials] = None,
    ) -> asyncio.Future[str]: ...
    def register_engine(
        self, name: str, function: Callable[[str], Union[str, Awaitable[str]]]
    ) -> None: ...
    def engine_names(self) -> list[str]: ...
    @property
    def insecure_registries(self) -> list[str]: ...
    def cache_len(self) -> int: ...
    def clear_cache(self) -> None: ...

@final
class Verifier:
    def __new__(
        cls,
        policy: str,
        *,
        trusted_root: Optional[_Path] = None,
        trusted_roots: Optional[Mapping[str, _Path]] = None,
        tuf_url: Optional[str] = None,
        tuf_root: Optional[_Path] = None,
        tuf_cache_dir: Optional[_Path] = None,
        tuf_refresh_interval: Optional[_Seconds] = None,
        resolve_ttl: Optional[_Seconds] = None,
        result_ttl: Optional[_Seconds] = None,
        deadline: Optional[_Seconds] = None,
        insecure_registries: Optional[Sequence[str]] = None,
        resolver: Optional[Resolver] = None,
    ) -> Verifier: ...
    @staticmethod
    def from_file(
        path: _Path,
        *,
        trusted_root: Optional[_Path] = None,
        trusted_roots: Optional[Mapping[str, _Path]] = None,
        tuf_url: Optional[str] = None,
        tuf_root: Optional[_Path] = None,
        tuf_cache_dir: Optional[_Path] = None,
        tuf_refresh_interval: Optional[_Seconds] = None,
        resolve_ttl: Optional[_Seconds] = None,
        result_ttl: Optional[_Seconds] = None,
        deadline: Optional[_Seconds] = None,
        insecure_registries: Optional[Sequence[str]] = None,
        resolver: Optional[Resolver] = None,
    ) -> Verifier: ...
    def verify(self, reference: str, credentials: Optional[Credentials] = None) -> Verification: ...
    def verify_async(
        self, reference: str, credentials: Optional[Credentials] = None
    ) -> asyncio.Future[Verification]: ...
    def set_policy(self, policy: str) -> None: ...
    def load_policy(self, path: _Path) -> None: ...
    def rule_count(self) -> int: ...

def default_resolver() -> Resolver: ...
def default_verifier() -> Verifier: ...
def register_engine(name: str, function: Callable[[str], Union[str, Awaitable[str]]]) -> None: ...
