"""The model a worker serves, and how it is replaced without dropping a request.

`ModelHolder.current` is one attribute holding an immutable `LoadedModel`. A request
reads it once and keeps that object for its whole life; a reload builds and verifies
the new model completely, then rebinds the attribute (atomic under the GIL). Requests
in flight finish on the old model, which is freed when the last of them lets go. A
reload that fails leaves `current` untouched, so a bad bundle never stops the service.

`ModelWatcher` is a daemon thread that reloads when the registry alias being served
(`champion`) moves, and re-reads the API keys file when it changes. `HeldTriager` is the
`Triager` the help desk scores intake with: whatever the holder serves at that moment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.contract import Ticket, TriageResult
from triage.errors import BundleError, ModelNotReadyError, TriageError
from triage.triager import Triager

log = logging.getLogger("triage.api")


@dataclass(frozen=True)
class LoadedModel:
    """A verified bundle and the predictor built on it."""

    triager: Triager
    bundle: Any
    path: Path
    loaded_at: float

    @property
    def version(self) -> str:
        """The model version every response carries."""
        return self.triager.model_version


# Builds a predictor from a bundle directory; raises BundleError when it is unusable.
Loader = Callable[[Path], tuple[Any, Triager]]
# Says which bundle directory the served alias points at now.
Resolver = Callable[[], Path]


class ModelHolder:
    """Owns the served model; swaps it atomically on reload."""

    def __init__(
        self,
        load: Loader,
        resolve: Resolver,
        source: str,
        on_swap: Callable[[LoadedModel], None] | None = None,
    ) -> None:
        self._load = load
        self._resolve = resolve
        self.source = source
        self._on_swap = on_swap
        self._reload_lock = threading.Lock()
        self.current: LoadedModel | None = None

    def get(self) -> LoadedModel:
        """The model to answer this request with (read once per request)."""
        model = self.current
        if model is None:
            raise ModelNotReadyError("no model loaded yet")
        return model

    def reload(self, path: Path | None = None) -> LoadedModel:
        """Load `path` (default: what the source resolves to now) and swap it in.

        Raises `BundleError` (or another `TriageError`) and keeps the old model when the
        new bundle is refused. Reloads are serialised; requests are never blocked.
        """
        with self._reload_lock:
            target = Path(path) if path is not None else self._resolve()
            started = time.perf_counter()
            try:
                bundle, triager = self._load(target)
            except (TriageError, ImportError):
                raise  # an ImportError is a broken install, not a bad bundle
            except Exception as exc:  # an unreadable bundle must not become a 500 or a crash
                raise BundleError(
                    f"{target}: cannot load bundle ({type(exc).__name__}: {exc})"
                ) from exc
            loaded = LoadedModel(triager=triager, bundle=bundle, path=target, loaded_at=time.time())
            previous = self.current
            self.current = loaded
            log.info(
                "serving model %s from %s (loaded in %.0f ms%s)",
                loaded.version,
                target,
                (time.perf_counter() - started) * 1000,
                f", replaced {previous.version}" if previous else "",
            )
            if self._on_swap is not None:
                self._on_swap(loaded)
            return loaded


class HeldTriager:
    """The desk's `Triager`: whichever model the holder serves right now, so reloads and
    alias changes apply to intake too. No model loaded means the call raises
    `ModelNotReadyError` and the desk queues the ticket for re-triage."""

    def __init__(self, holder: ModelHolder) -> None:
        self.holder = holder

    @property
    def model_version(self) -> str:
        """The served model's version."""
        return str(self.holder.get().triager.model_version)

    def triage(self, ticket: Ticket) -> TriageResult:
        """Score one ticket with the served model."""
        return self.holder.get().triager.triage(ticket)

    def triage_batch(self, tickets: list[Ticket]) -> list[TriageResult]:
        """Score tickets with the served model."""
        return self.holder.get().triager.triage_batch(tickets)


class ModelWatcher:
    """Polls the registry alias and the keys file; reloads what changed."""

    def __init__(
        self,
        holder: ModelHolder,
        interval_s: float,
        alias_stamp: Callable[[], object] | None,
        keys_stamp: Callable[[], object],
        reload_keys: Callable[[], None],
        on_reload_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.holder = holder
        self.interval_s = interval_s
        self._alias_stamp = alias_stamp
        self._keys_stamp = keys_stamp
        self._reload_keys = reload_keys
        self._on_reload_error = on_reload_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="triage-model-watcher", daemon=True)
        self._failed_path: Path | None = None

    def start(self) -> None:
        """Start polling in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the thread to finish its current check."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        alias_seen = self._alias_stamp() if self._alias_stamp else None
        keys_seen = self._keys_stamp()
        while not self._stop.wait(self.interval_s):
            try:
                keys_now = self._keys_stamp()
                if keys_now != keys_seen:
                    keys_seen = keys_now
                    self._reload_keys()
                    log.info("API keys file changed; keys reloaded")
                if self._alias_stamp is not None:
                    alias_now = self._alias_stamp()
                    if alias_now != alias_seen:
                        alias_seen = alias_now
                        self.check_alias()
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive any bad check
                log.error("model watcher: %s", exc)

    def check_alias(self) -> bool:
        """Reload if the alias now points at another bundle; True when a new model was
        swapped in."""
        target = self.holder._resolve()
        current = self.holder.current
        if current is not None and target.resolve() == current.path.resolve():
            return False
        if self._failed_path is not None and target == self._failed_path:
            return False  # already refused; wait for the alias to move again
        try:
            self.holder.reload(target)
        except Exception as exc:  # noqa: BLE001 - any refusal keeps the old model
            self._failed_path = target
            log.error(
                "alias %s moved to %s but the bundle was refused: %s",
                self.holder.source,
                target,
                exc,
            )
            if self._on_reload_error is not None:
                self._on_reload_error(exc)
            return False
        self._failed_path = None
        return True
