"""A child forked while the parent has a resolve in flight resolves the same reference itself.

The parent's flight is driven by the library's runtime, whose threads do not exist in the child;
a child that joined it would wait forever (issue 19, finding 10)."""

from __future__ import annotations

import http.server
import multiprocessing
import threading
import time
from typing import Any, Optional

import pytest

import imagecheck

DIGEST = "sha256:" + "c" * 64
RESOLVER: Optional[imagecheck.Resolver] = None


class FirstRequestStalls(http.server.ThreadingHTTPServer):
    """A loopback registry that answers every request with DIGEST, the first one after 5 s."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.host = f"127.0.0.1:{self.server_address[1]}"
        self.requests = 0
        self.lock = threading.Lock()
        self.first_seen = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FirstRequestStalls

    def _answer(self) -> None:
        with self.server.lock:
            self.server.requests += 1
            first = self.server.requests == 1
        if first:
            self.server.first_seen.set()
            time.sleep(5)
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Docker-Content-Digest", DIGEST)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = _answer
    do_GET = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


def child_main(ref: str, queue: Any) -> None:
    assert RESOLVER is not None
    try:
        queue.put(("ok", RESOLVER.resolve(ref, ttl=0)))
    except BaseException as e:
        queue.put(("error", repr(e)))
        raise


# Python 3.12+ warns when forking a process that has threads (the runtime's workers are).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_child_forked_during_a_resolve_resolves_on_its_own() -> None:
    global RESOLVER
    server = FirstRequestStalls()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        resolver = RESOLVER = imagecheck.Resolver(insecure_registries=[server.host], from_env=False)
        ref = f"{server.host}/fork/app:v1"
        answers: list[str] = []
        parent = threading.Thread(target=lambda: answers.append(resolver.resolve(ref, ttl=0)))
        parent.start()
        assert server.first_seen.wait(5), "the parent's resolve sent no request"

        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=child_main, args=(ref, queue))
        child.start()
        child.join(4)
        if child.is_alive():
            child.kill()
            child.join()
            pytest.fail("the forked child's resolve never returned (it joined the parent's flight)")
        assert child.exitcode == 0
        assert queue.get(timeout=5) == ("ok", DIGEST)

        parent.join(10)
        assert answers == [DIGEST], "the parent's own resolve finishes too"
        assert server.requests == 2
    finally:
        server.shutdown()
        server.server_close()
