"""Self-test of the harness: starts it, checks every promise in README.md with plain HTTP, stops it.

Run: python3 -m unittest tests/harness/test_harness.py   (or pytest tests/harness)
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from imagecheck_harness.common import DIRECT, sha256_digest  # noqa: E402
from imagecheck_harness.oci import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST  # noqa: E402
from imagecheck_harness.processes import alive  # noqa: E402

HARNESS = str(HERE / "harness.py")
ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])


def request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with DIRECT.open(req, timeout=10) as resp:
            return int(resp.status), {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return int(e.code), {k.lower(): v for k, v in e.headers.items()}, e.read()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class HarnessTest(unittest.TestCase):
    tmp: tempfile.TemporaryDirectory[str]
    state_dir: Path
    state: dict[str, Any]
    start_seconds: float

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="imagecheck-harness-")
        cls.state_dir = Path(cls.tmp.name) / "state"
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, HARNESS, "start", "--state-dir", str(cls.state_dir), "--owner-pid", str(os.getpid())],
            check=True,
        )
        cls.start_seconds = time.monotonic() - t0
        cls.state = harness.load_state(cls.state_dir)

    @classmethod
    def tearDownClass(cls) -> None:
        pids = list(cls.state["pids"])
        subprocess.run([sys.executable, HARNESS, "stop", "--state-dir", str(cls.state_dir)], check=True)
        running = [p for p in pids if alive(p)]
        cls.tmp.cleanup()
        if running:
            raise AssertionError(f"processes still running after stop: {running}")

    def image(self, name: str) -> dict[str, Any]:
        return next(i for i in self.state["images"] if i["name"] == name)

    def reg(self, name: str) -> dict[str, Any]:
        reg: dict[str, Any] = self.state["registries"][name]
        return reg

    def token(self, scope: str, creds: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
        t = self.reg("token")
        q = urllib.parse.urlencode({"service": t["service"], "scope": scope})
        status, _, body = request(f"{t['token_url']}?{q}", headers=basic(*creds) if creds else None)
        return status, json.loads(body) if body else {}

    # -- the state file --------------------------------------------------------------

    def test_state_shape(self) -> None:
        s = self.state
        self.assertEqual(set(s["registries"]), {"plain", "basic", "token"})
        self.assertEqual(s["state_dir"], str(self.state_dir.resolve()))
        self.assertEqual(set(s["processes"]), {"plain", "basic", "token", "tls", "token-server", "watchdog"})
        self.assertEqual(sorted(s["pids"]), sorted(s["processes"].values()))
        self.assertEqual(s["owner_pid"], os.getpid())
        self.assertEqual(sorted(s["pids"]), sorted(int(p) for p in (self.state_dir / "pids").read_text().split()))
        names = [i["name"] for i in s["images"]]
        self.assertEqual(len(names), len(set(names)))
        for i in s["images"]:
            self.assertTrue(Path(s["layouts"][i["name"]], "oci-layout").exists())
        self.assertLess(self.start_seconds, 20.0)

    # -- tls ---------------------------------------------------------------------------

    def test_tls_registry_serves_https_under_its_own_ca_only(self) -> None:
        t = self.state["tls_registry"]
        url = f"https://{t['host']}/v2/{t['image']['repository']}/manifests/{t['image']['tag']}"
        req = urllib.request.Request(url, method="HEAD", headers={"Accept": t["image"]["media_type"]})

        def opener(context: ssl.SSLContext) -> urllib.request.OpenerDirector:
            return urllib.request.build_opener(
                urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
            )

        with opener(ssl.create_default_context(cafile=t["ca"])).open(req, timeout=5) as resp:
            self.assertEqual(resp.headers["Docker-Content-Digest"], t["image"]["digest"])
        with self.assertRaises(urllib.error.URLError) as refused:
            opener(ssl.create_default_context()).open(req, timeout=5)
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(refused.exception))

    # -- plain -----------------------------------------------------------------------

    def test_plain_anonymous_head_matches_state_and_is_logged(self) -> None:
        plain = self.reg("plain")
        for name in ("hello-oci", "index-oci", "docker-v2s2", "dockerlist-v2s2"):
            img = self.image(name)
            uri = f"/v2/{img['repository']}/manifests/{img['tag']}"
            before = harness.log_offset(plain["log"])
            status, headers, _ = request(f"http://{plain['host']}{uri}", "HEAD", {"Accept": ACCEPT})
            self.assertEqual(status, 200, name)
            self.assertEqual(headers["docker-content-digest"], img["digest"], name)
            self.assertEqual(headers["content-type"], img["media_type"], name)
            self.assertEqual(harness.count_requests(plain["log"], "HEAD", uri, before, status=200), 1)
            self.assertEqual(harness.count_lines(plain["log"], f'"HEAD {uri} HTTP/1.1" 200', before), 1)

    def test_children_are_pullable_by_digest(self) -> None:
        plain = self.reg("plain")
        for name in ("index-oci", "dockerlist-v2s2"):
            img = self.image(name)
            self.assertEqual([c["platform"]["architecture"] for c in img["children"]], ["amd64", "arm64"])
            for c in img["children"]:
                url = f"http://{plain['host']}/v2/{img['repository']}/manifests/{c['digest']}"
                status, headers, body = request(url, "GET", {"Accept": ACCEPT})
                self.assertEqual(status, 200)
                self.assertEqual(sha256_digest(body), c["digest"])

    def test_images_are_distinct(self) -> None:
        configs = [i["config_digest"] for i in self.state["images"] if "config_digest" in i]
        self.assertEqual(len(configs), len(set(configs)))

    # -- basic -----------------------------------------------------------------------

    def test_basic(self) -> None:
        b = self.reg("basic")
        url = f"http://{b['host']}/v2/test/hello/manifests/v1"
        status, headers, _ = request(url, "HEAD", {"Accept": ACCEPT})
        self.assertEqual(status, 401)
        self.assertTrue(headers["www-authenticate"].startswith("Basic "), headers["www-authenticate"])
        status, _, _ = request(url, "HEAD", {"Accept": ACCEPT, **basic("alice", "wrong")})
        self.assertEqual(status, 401)
        status, headers, _ = request(url, "HEAD", {"Accept": ACCEPT, **basic(b["username"], b["password"])})
        self.assertEqual(status, 200)
        self.assertEqual(headers["docker-content-digest"], self.image("basic-hello-oci")["digest"])

    # -- token -----------------------------------------------------------------------

    def test_token_challenge(self) -> None:
        t = self.reg("token")
        status, headers, _ = request(f"http://{t['host']}/v2/private/hello/manifests/v1", "HEAD", {"Accept": ACCEPT})
        self.assertEqual(status, 401)
        self.assertEqual(
            headers["www-authenticate"],
            f'Bearer realm="{t["token_url"]}",service="{t["service"]}",scope="repository:private/hello:pull"',
        )

    def test_token_bob(self) -> None:
        t = self.reg("token")
        before = harness.log_offset(t["token_log"])
        status, body = self.token("repository:private/hello:pull", (t["username"], t["password"]))
        self.assertEqual(status, 200)
        self.assertEqual(body["token"], body["access_token"])
        self.assertGreater(body["expires_in"], 0)
        self.assertIn("issued_at", body)
        header = json.loads(base64.urlsafe_b64decode(body["token"].split(".")[0] + "=="))
        self.assertEqual(header["kid"], t["kid"])
        status, headers, _ = request(
            f"http://{t['host']}/v2/private/hello/manifests/v1",
            "HEAD",
            {"Accept": ACCEPT, "Authorization": f"Bearer {body['token']}"},
        )
        self.assertEqual(status, 200)
        self.assertEqual(headers["docker-content-digest"], self.image("token-private-hello-oci")["digest"])
        entries = [json.loads(x) for x in Path(t["token_log"]).read_bytes()[before:].splitlines()]
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0]["user"], "bob")
        self.assertEqual(entries[0]["access"], [{"type": "repository", "name": "private/hello", "actions": ["pull"]}])

    def test_token_scopes_repeat(self) -> None:
        t = self.reg("token")
        q = "service={}&scope=repository:a/b:pull&scope=repository:c/d:pull,push".format(t["service"])
        status, _, body = request(f"{t['token_url']}?{q}", headers=basic(t["username"], t["password"]))
        self.assertEqual(status, 200)
        claims = json.loads(base64.urlsafe_b64decode(json.loads(body)["token"].split(".")[1] + "=="))
        self.assertEqual([a["name"] for a in claims["access"]], ["a/b", "c/d"])
        self.assertEqual(claims["access"][1]["actions"], ["pull", "push"])
        self.assertEqual(claims["aud"], t["service"])
        self.assertEqual(claims["iss"], t["issuer"])

    def test_token_anonymous(self) -> None:
        t = self.reg("token")
        status, body = self.token("repository:public/hello:pull", None)
        self.assertEqual(status, 200)
        status, headers, _ = request(
            f"http://{t['host']}/v2/public/hello/manifests/v1",
            "HEAD",
            {"Accept": ACCEPT, "Authorization": f"Bearer {body['token']}"},
        )
        self.assertEqual(status, 200)
        self.assertEqual(headers["docker-content-digest"], self.image("token-public-hello-oci")["digest"])

        status, body = self.token("repository:private/hello:pull", None)
        self.assertEqual(status, 200)  # a token, with an empty access list
        status, headers, _ = request(
            f"http://{t['host']}/v2/private/hello/manifests/v1",
            "HEAD",
            {"Accept": ACCEPT, "Authorization": f"Bearer {body['token']}"},
        )
        self.assertEqual(status, 401)
        self.assertIn('error="insufficient_scope"', headers["www-authenticate"])

    def test_token_wrong_password(self) -> None:
        status, _ = self.token("repository:private/hello:pull", ("bob", "not-the-password"))
        self.assertEqual(status, 401)
        status, _ = self.token("repository:private/hello:pull", ("mallory", "x"))
        self.assertEqual(status, 401)

    # -- make-image + push -----------------------------------------------------------

    def test_make_image_and_push_moves_tag(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            layout = Path(d) / "img"
            out = subprocess.run(
                [sys.executable, HARNESS, "make-image", "--out", str(layout), "--seed", "moved"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()
            again = harness.make_layout(layout, "moved").top.digest
            self.assertEqual(out, again)  # deterministic in the seed
            for reg in ("plain", "basic", "token"):
                pushed = subprocess.run(
                    [sys.executable, HARNESS, "push", "--state-dir", str(self.state_dir), "--layout", str(layout),
                     "--registry", reg, "--to", "private/moved:latest"],
                    check=True, capture_output=True, text=True,
                ).stdout.strip()
                self.assertEqual(pushed, out)
            idx = Path(d) / "idx"
            subprocess.run(
                [sys.executable, HARNESS, "make-image", "--out", str(idx), "--seed", "moved-2", "--index"],
                check=True, capture_output=True,
            )
            pushed = subprocess.run(
                [sys.executable, HARNESS, "push", "--state-dir", str(self.state_dir), "--layout", str(idx),
                 "--registry", "plain", "--to", "private/moved:latest", "--format", "v2s2"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()
            plain = self.reg("plain")
            status, headers, _ = request(
                f"http://{plain['host']}/v2/private/moved/manifests/latest", "HEAD", {"Accept": ACCEPT}
            )
            self.assertEqual(status, 200)
            self.assertEqual(headers["docker-content-digest"], pushed)
            self.assertEqual(headers["content-type"], DOCKER_LIST)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    unittest.main()
