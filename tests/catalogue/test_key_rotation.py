"""Keystone key rotation: CronJobs with least-privilege RBAC rotate the Fernet and credential keys
in their Secrets, External Secrets never regenerates them, max_active_keys covers the token
lifetime; and the rotation script run for real (keystone-manage of the release's venv) against a
local stand-in for the Secret API keeps max_active_keys and promotes the staged key."""

from __future__ import annotations

import base64
import importlib.util
import json
import math
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from ccp_gitops.compile.assemble import pod_spec

from .support import compiled, config_file, parse_ini

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"fernet": "keystone-fernet-keys", "credential": "keystone-credential-keys"}


def by_id(catalogue: Path, env: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o.id.kind, o.id.name): o.body for o in compiled(catalogue, env).objects if o.component == "keystone"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rotation_cronjobs_with_least_privilege(catalogue: Path, env: str) -> None:
    objs = by_id(catalogue, env)
    for kind, secret in SECRETS.items():
        name = f"keystone-{kind}-rotate"
        cron = objs[("CronJob", name)]
        assert cron["spec"]["concurrencyPolicy"] == "Forbid"
        pod = pod_spec(cron)
        assert pod is not None and pod["spec"]["serviceAccountName"] == name
        (container,) = pod["spec"]["containers"]
        assert container["command"][-2:] == ["/usr/local/lib/ccp/key-rotate.py", kind]
        assert container["image"].startswith("quay.io/airshipit/keystone:")
        mounted = {v.get("secret", {}).get("secretName") for v in pod["spec"]["volumes"]}
        assert secret not in mounted, "the keys are read through the API, not mounted"
        assert objs[("Role", name)]["rules"] == [
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret], "verbs": ["get", "update"]}]
        binding = objs[("RoleBinding", name)]
        assert binding["roleRef"]["name"] == name and binding["subjects"][0]["name"] == name
        es = objs[("ExternalSecret", secret)]["spec"]
        assert (es["refreshPolicy"], es["refreshInterval"]) == ("CreatedOnce", "0s"), "ESO must never regenerate rotated keys"
        assert es["target"]["creationPolicy"] == "Orphan" and es["target"]["immutable"] is False
        annotations = objs[("ExternalSecret", secret)]["metadata"]["annotations"]
        assert "Prune=false" in annotations["argocd.argoproj.io/sync-options"]
        assert annotations["kustomize.toolkit.fluxcd.io/prune"] == "disabled"
    assert not any(o["kind"] == "Secret" for o in objs.values())
    assert objs[("ExternalSecret", "keystone-admin")]["spec"]["target"]["immutable"] is True


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_max_active_keys_outlives_every_token(catalogue: Path, env: str) -> None:
    """keystone-manage fernet_rotate docs: max_active_keys >= (expiration + allow_expired_window) / period + 2."""
    conf = parse_ini(config_file(catalogue, env, "keystone", "keystone-etc", "keystone.conf"))
    expiration = int(conf["token"]["expiration"])
    window = int(conf["token"].get("allow_expired_window", str(48 * 3600)))
    schedule = by_id(catalogue, env)[("CronJob", "keystone-fernet-rotate")]["spec"]["schedule"].split()
    assert schedule[2:] == ["*", "*", "*"] and schedule[1].startswith("*/")
    period = int(schedule[1][2:]) * 3600
    assert int(conf["fernet_tokens"]["max_active_keys"]) >= math.ceil((expiration + window) / period) + 2


class SecretAPI(BaseHTTPRequestHandler):
    """A stand-in for the one Secret endpoint the script uses: GET, and PUT with resourceVersion checks."""

    store: dict[str, Any] = {}

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        assert self.headers["Authorization"] == "Bearer test-token"
        self._reply(200, self.store["secret"]) if self.path == self.store["path"] else self._reply(404, {})

    def do_PUT(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        current = self.store["secret"]
        if self.path != self.store["path"] or body["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
            self._reply(409, {"reason": "Conflict"})
            return
        body["metadata"]["resourceVersion"] = str(int(current["metadata"]["resourceVersion"]) + 1)
        self.store["secret"] = body
        self.store["puts"] += 1
        self._reply(200, body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def secret_api() -> Iterator[tuple[str, dict[str, Any]]]:
    store: dict[str, Any] = {"puts": 0}
    handler = type("Handler", (SecretAPI,), {"store": store})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", store
    server.shutdown()


def _keystone_bin() -> Path:
    spec = importlib.util.spec_from_file_location("option_catalogues", ROOT / "scripts/option_catalogues.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("option_catalogues", module)
    spec.loader.exec_module(module)
    cache = os.environ.get("CCP_OPENSTACK_CACHE")
    root = Path(module.install_release("2026.1", Path(cache) if cache else None, module.DEFAULT_INDEX, sys.executable))
    bindir = root / "venv" / "bin"
    assert (bindir / "keystone-manage").exists(), f"keystone is not installed in {root}"
    return bindir


def test_fernet_rotation_for_real(catalogue: Path, tmp_path: Path, secret_api: tuple[str, dict[str, Any]]) -> None:
    url, store = secret_api
    bindir = _keystone_bin()
    script = tmp_path / "key-rotate.py"
    script.write_text(config_file(catalogue, "prod", "keystone", "keystone-bin", "key-rotate.py"))
    conf_text = config_file(catalogue, "prod", "keystone", "keystone-etc", "keystone.conf")
    (tmp_path / "keystone.conf").write_text(conf_text)
    max_keys = int(parse_ini(conf_text)["fernet_tokens"]["max_active_keys"])
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("test-token\n")
    (account / "namespace").write_text("openstack\n")
    # Fernet keys are 32 random bytes, url-safe base64 (what the Password generator's base64url gives)
    initial = {str(i): base64.urlsafe_b64encode(os.urandom(32)).decode() for i in range(3)}
    store["path"] = "/api/v1/namespaces/openstack/secrets/keystone-fernet-keys"
    store["secret"] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keystone-fernet-keys", "resourceVersion": "7"},
                       "data": {k: base64.b64encode(v.encode()).decode() for k, v in initial.items()}}
    repo = tmp_path / "repo"
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "KUBERNETES_API": url, "SERVICE_ACCOUNT_DIR": str(account),
           "KEYSTONE_CONFIG": str(tmp_path / "keystone.conf"), "KEY_REPOSITORY": f"{repo}/",
           "OS_FERNET_TOKENS__KEY_REPOSITORY": f"{repo}/", "OS_FERNET_RECEIPTS__KEY_REPOSITORY": f"{repo}/"}

    def rotate() -> dict[str, str]:
        run = subprocess.run([str(bindir / "python3"), str(script), "fernet"], env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        return {k: base64.b64decode(v).decode() for k, v in store["secret"]["data"].items()}

    first = rotate()
    assert sorted(first, key=int) == ["0", "1", "2", "3"]
    assert first["3"] == initial["0"], "the staged key every API pod already holds becomes the primary"
    assert first["0"] not in initial.values() and first["1"] == initial["1"] and first["2"] == initial["2"]
    keys = first
    for _ in range(max_keys - 3):  # 4 keys -> max_active_keys, then the oldest secondary is purged
        keys = rotate()
    assert len(keys) == max_keys and initial["1"] not in keys.values() and initial["0"] in keys.values()
    assert store["puts"] == max_keys - 2
    # a writer that raced us: the update is refused, the Secret keeps its keys
    store["secret"]["metadata"]["resourceVersion"] = "99"
    real_put = SecretAPI.do_PUT
    try:
        def stale(self: SecretAPI) -> None:
            self.store["secret"]["metadata"]["resourceVersion"] = "100"
            real_put(self)
        SecretAPI.do_PUT = stale  # type: ignore[method-assign]
        run = subprocess.run([str(bindir / "python3"), str(script), "fernet"], env=env, capture_output=True, text=True, timeout=300)
    finally:
        SecretAPI.do_PUT = real_put  # type: ignore[method-assign]
    assert run.returncode != 0 and "409" in run.stderr
    assert {k: base64.b64decode(v).decode() for k, v in store["secret"]["data"].items()} == keys
    # an immutable Secret (created by an earlier catalogue) is refused with an explanation
    store["secret"]["immutable"] = True
    run = subprocess.run([str(bindir / "python3"), str(script), "fernet"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "immutable" in run.stderr
