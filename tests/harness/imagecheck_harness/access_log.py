"""Counting requests in the registries' access logs (README.md, "Counting requests").

Take `log_offset` before the code under test runs and count only after it: `start`'s own
traffic (readiness checks, skopeo's pushes) is in the same files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def log_offset(path: Path | str) -> int:
    """Current size of a log: count requests made after this point with count_lines(since=...)."""
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def count_lines(path: Path | str, needle: str, since: int = 0) -> int:
    """Number of lines after byte offset `since` that contain `needle`."""
    with open(path, "rb") as f:
        f.seek(since)
        data = f.read()
    n = needle.encode()
    return sum(1 for line in data.splitlines() if n in line)


# One access-log line (Apache combined format, written by the registry to stdout):
# 127.0.0.1 - - [22/Nov/2026:16:09:25 +0000] "HEAD /v2/test/hello/manifests/v1 HTTP/1.1" 200 503 "" "curl/7.88.1"
ACCESS_LINE = re.compile(
    r'^(?P<remote>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] '
    r'"(?P<method>[A-Z]+) (?P<uri>\S+) (?P<proto>HTTP/[0-9.]+)" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$'
)


def access_log(path: Path | str, since: int = 0) -> list[dict[str, str]]:
    """Parsed access-log lines after byte offset `since` (the registry's other lines are skipped)."""
    with open(path, "rb") as f:
        f.seek(since)
        data = f.read().decode(errors="replace")
    out: list[dict[str, str]] = []
    for line in data.splitlines():
        m = ACCESS_LINE.match(line)
        if m:
            out.append(m.groupdict())
    return out


def count_requests(path: Path | str, method: str, uri: str, since: int = 0, status: int | None = None) -> int:
    """Requests with exactly this method and URI (path + query) after `since`, optionally of one status."""
    return sum(
        1
        for e in access_log(path, since)
        if e["method"] == method and e["uri"] == uri and (status is None or int(e["status"]) == status)
    )
