"""Fixtures for the HTTP service: API keys, settings over the demo bundle, an in-process
client, and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import fast_lane
from triage.keys import create_key
from triage.settings import Settings


@dataclass(frozen=True)
class ApiKeys:
    """A keys file with one key per scope combination."""

    path: Path
    triage: str
    admin: str
    both: str

    def header(self, key: str) -> dict[str, str]:
        """The Authorization header for `key`."""
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def api_keys(tmp_path_factory: pytest.TempPathFactory) -> ApiKeys:
    path = tmp_path_factory.mktemp("keys") / "api_keys.json"
    triage, _ = create_key(path, frozenset({"triage"}), name="client")
    admin, _ = create_key(path, frozenset({"admin"}), name="ops")
    both, _ = create_key(path, frozenset({"triage", "admin"}), name="root")
    return ApiKeys(path=path, triage=triage, admin=admin, both=both)


def serve_settings(bundle: Path | None, keys: ApiKeys, **overrides: object) -> Settings:
    """Settings for a test server: this bundle, these keys, no watcher unless asked."""
    values: dict[str, object] = {
        "bundle": bundle,
        "model_alias": None,
        "api_keys_file": keys.path,
        "model_watch_interval_s": 0,
        "onnx_threads": 1,
        "insecure_no_auth": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def api_settings(demo_bundle: Path, api_keys: ApiKeys) -> Settings:
    return serve_settings(demo_bundle, api_keys)


@pytest.fixture(scope="session")
def client(api_settings: Settings) -> Iterator[TestClient]:
    """The app in-process, lifespan run (bundle loaded and verified)."""
    from api.app import create_app

    with TestClient(create_app(api_settings)) as test_client:
        yield test_client


@dataclass
class LiveServer:
    """A uvicorn server in a background thread."""

    url: str
    app: object
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(timeout=20)


def start_server(settings: Settings) -> LiveServer:
    """Start the real server stack (our protocol class, lifespan) on a free port."""
    import uvicorn

    fast_lane.require_slow("starts a uvicorn server")
    from api.app import create_app
    from api.server import NoDelayProtocol

    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, http=NoDelayProtocol, lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return LiveServer(url=f"http://127.0.0.1:{port}", app=app, server=server, thread=thread)


@pytest.fixture(scope="session")
def live_server(api_settings: Settings) -> Iterator[LiveServer]:
    server = start_server(api_settings)
    yield server
    server.stop()


def copy_bundle(source: Path, target: Path, version: str | None = None) -> Path:
    """A copy of a bundle, optionally under another model version.

    The manifest itself is not in its own sha256 list, so changing the version keeps
    the copy valid: it stands for a second trained model.
    """
    shutil.copytree(source, target)
    if version is not None:
        manifest_path = target / "manifest.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        manifest["model_version"] = version
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    return target


def tamper(bundle: Path) -> str:
    """Flip one byte of the heads graph; returns the file's name."""
    target = bundle / "heads.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    return target.name


TICKET_100_WORDS = {
    "id": "T-100",
    "channel": "email",
    "customer_tier": "gold",
    "subject": "Invoice charged twice after plan upgrade",
    "body": (
        "Hello support team, last week I upgraded our company account from the basic plan to "
        "the business plan and today I noticed that my credit card was charged twice for the "
        "same invoice. The first charge appeared on Monday and the second one on Tuesday, both "
        "for the full amount. I have attached screenshots of the bank statement and the invoice "
        "from your portal. Could you please check what happened, refund the duplicate payment "
        "and confirm that future invoices will only be charged once? Our finance department "
        "needs this sorted before the end of the month because we close the books then. "
        "Thank you in advance for your help."
    ),
}
