"""The test harness's parts, one module per job; `harness.py` next to this folder is the CLI.

- `common`: the error type, logging, digests, atomic writes.
- `oci`: OCI image layouts (`make_layout`, `read_layout`) and the media types.
- `certs`: the X.509 builder shared by the TLS CA, the token server's key and `testca.py`.
- `tls_ca`: a CA of its own and a 127.0.0.1 server certificate for the HTTPS registry.
- `token_server`: the ES256 token server behind the `token` registry.
- `processes`: spawning, the PID file, stopping by PID, the owner watchdog.
- `registries`: Distribution registry processes (plain, basic, token, tls) and their readiness.
- `skopeo`: pushing a layout and cross-checking its digest (`push_layout`, `push_to`).
- `registry_api`: uploads straight through the distribution API (`PlainRegistry`).
- `state`: `DIR/state.json` (`load_state`, `save_state`, `registry_creds`).
- `access_log`: counting requests in the registries' access logs.
- `fixtures`: where the shared fixtures are (`shared_fixtures`, `IMAGECHECK_SHARED_FIXTURES`).
- `start`: `start` itself: the images, the order things come up, the state it writes.

Only `certs`, `tls_ca`, `token_server` and `start` import `cryptography`: Python tests import
`harness` (and through it `oci`, `skopeo`, `state`, `access_log`) from virtualenvs without it.
"""
