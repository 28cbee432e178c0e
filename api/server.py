"""Running the app under uvicorn, tuned for millisecond latency on a small machine.

- httptools parser when installed (the `serve` extra ships it), h11 otherwise.
- TCP_NODELAY on every accepted connection: with `--workers N` uvicorn hands the
  workers a pre-bound socket and the accepted connections keep Nagle's algorithm on;
  Nagle plus the client's delayed ACK then add ~40 ms to every keep-alive response.
- A header-read timeout (`settings.header_timeout_s`): a client that has not sent its
  request headers that long after connecting (or after starting a request) is
  disconnected, so slow clients cannot hold connections open; idle keep-alive
  connections close after `settings.keep_alive_timeout_s` (uvicorn's own timer).
- `--workers N` forks N processes that each load the bundle once in their lifespan.
  One worker is the default: its onnxruntime session already uses both cores here.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ctypes
import ctypes.util
import functools
import gc
import socket
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from api.app import ServeConfigError, create_app
from triage.settings import Settings

try:
    import httptools  # noqa: F401  (the impl module imports it lazily on some versions)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - the serve extra installs httptools
    from uvicorn.protocols.http.h11_impl import H11Protocol as _BaseProtocol  # type: ignore[assignment]


class NoDelayProtocol(_BaseProtocol):
    """uvicorn's HTTP protocol with TCP_NODELAY set on the accepted socket and a
    header-read timeout (`header_timeout_s`; `with_timeouts` makes one with another)."""

    header_timeout_s: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Not fatal when refused: only latency suffers.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._arm_header_timer()

    # httptools callbacks: a request starts, its headers are complete.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if not _HEADER_CALLBACKS:
            return  # h11 has no headers-complete callback: rely on uvicorn's timers
        self._cancel_header_timer()
        self._header_timer = asyncio.get_running_loop().call_later(
            self.header_timeout_s, self._headers_too_slow
        )

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


# The header timer needs httptools' `on_headers_complete`; with h11 it stays off.
_HEADER_CALLBACKS = hasattr(_BaseProtocol, "on_headers_complete")


def with_timeouts(header_timeout_s: float) -> type[NoDelayProtocol]:
    """`NoDelayProtocol` with another header-read timeout."""
    return type("NoDelayProtocol", (NoDelayProtocol,), {"header_timeout_s": header_timeout_s})


# glibc's mallopt parameter for the number of malloc arenas.
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for this process; False where that is not glibc.

    FastAPI runs sync endpoints on a pool of up to 40 threads, and glibc gives each
    thread that allocates its own arena (up to 8 per core), each keeping the freed
    numpy buffers of the requests it served. Under a burst of 32 concurrent requests
    that added ~150 MB of resident memory per worker; two arenas keep it flat. Must run
    before the threads start.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def freeze_startup_objects() -> None:
    """Move everything alive now (modules, the app, a loaded bundle) out of the garbage
    collector's view. They live as long as the process, yet every full collection scanned
    them: pauses of up to 0.6 s put a 500-ticket console queue's p99 at 638 ms on a loaded
    machine, 101 ms once frozen (benchmarks/console_queue.py --gc-freeze)."""
    gc.collect()
    gc.freeze()


def _worker_app(settings: Settings) -> Any:
    """The app factory each `--workers N` process calls."""
    limit_malloc_arenas()
    app = create_app(settings)
    freeze_startup_objects()
    return app


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging config plus our `triage` loggers on the same handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    # Customer link tokens never reach the access log (`api.access_log`).
    config.setdefault("filters", {})["redact_tokens"] = {
        "()": "api.access_log.TokenRedactingFilter"
    }
    config["handlers"]["access"]["filters"] = ["redact_tokens"]
    config["loggers"]["triage"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    access_log: bool = True,
    log_level: str = "info",
) -> None:
    """Serve until interrupted. Bad configuration or a refused bundle raise before binding."""
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": with_timeouts(settings.header_timeout_s),
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "lifespan": "on",
        "log_config": log_config(log_level),
        "log_level": log_level,
        "access_log": access_log,
        "server_header": False,
    }
    if workers <= 1:
        limit_malloc_arenas()
        app = create_app(settings)
        # Load and verify here, before binding: a bad bundle is a one-line error and exit 2.
        app.state.holder.reload()
        freeze_startup_objects()
        server = uvicorn.Server(uvicorn.Config(app, **common))
        server.run()
        if not server.started:
            raise ServeConfigError(f"the server did not start on {host}:{port}; see the log above")
        return

    from uvicorn.supervisors import Multiprocess

    # Verify once in the parent so that a bad bundle or missing key fails fast and
    # clearly; each worker then loads its own copy in its lifespan.
    create_app(settings).state.holder.reload()
    config = uvicorn.Config(
        functools.partial(_worker_app, settings), factory=True, workers=workers, **common
    )
    sock = config.bind_socket()
    Multiprocess(config, sockets=[sock]).run()
