"""`create_app(settings)`: the FastAPI app over one served model.

The composition is here and nowhere else: key store, model holder (bundle loaded and
verified once per worker in the lifespan), registry watcher, metrics, error mapping,
body-size limit. Middleware is kept to two plain-ASGI layers because every layer is
paid on every request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from api.docs import install_docs
from api.errors import UnexpectedErrorMiddleware, install_error_handlers
from api.holder import LoadedModel, Loader, ModelHolder, ModelWatcher, Resolver
from api.limits import BodySizeLimitMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.routes import health, model, triage
from api.security import Authenticator
from triage import __version__, language
from triage.errors import TriageError
from triage.settings import Settings, signing_key

log = logging.getLogger("triage.api")


class ServeConfigError(TriageError):
    """The server cannot start as configured (no model chosen, no API key, ...)."""


def load_predictor(path: Path, settings: Settings) -> tuple[Any, Any]:
    """Load and verify the bundle at `path` and build the in-process ONNX predictor on it,
    with the onnxruntime threads and spinning `settings` give."""
    # Imported here so that `api.app` imports stay light for `triage --help`.
    from triage.bundle import load_bundle
    from triage.predictor import OnnxTriager

    bundle = load_bundle(
        path,
        threads=settings.onnx_threads,
        spinning=settings.onnx_allow_spinning,
        signing_key=signing_key(settings),
    )
    return bundle, OnnxTriager(bundle)


def model_source(settings: Settings) -> tuple[str, Resolver, Any]:
    """What to serve: `(description, resolver, alias change stamp or None)`.

    The description is shown by `GET /v1/model`, so it names no server path.

    `settings.bundle` (a path) wins over `settings.model_alias` (a registry alias).
    """
    if settings.bundle is not None:
        bundle = Path(settings.bundle)
        return f"bundle {bundle.name}", lambda: bundle, None
    if settings.model_alias:
        from triage.registry import ModelRegistry

        registry = ModelRegistry(settings.models_dir)
        alias = settings.model_alias
        # The manifest is checked against the sha256 recorded at registration.
        return (
            f"alias {alias!r}",
            lambda: registry.resolve_verified(alias)[0],
            registry.alias_mtime,
        )
    raise ServeConfigError(
        "no model to serve: pass --bundle models/NAME or --model champion "
        "(or set TRIAGE_BUNDLE / TRIAGE_MODEL_ALIAS)"
    )


def check_auth(settings: Settings) -> Authenticator:
    """The authenticator, or a refusal to start when auth is on and no key exists.

    With auth off (`--insecure-no-auth`) every start logs a warning."""
    auth = Authenticator(
        settings.api_keys_file,
        enabled=not settings.insecure_no_auth,
        rate=settings.rate_limit_per_s,
        burst=settings.rate_limit_burst,
    )
    if not auth.enabled:
        log.warning(
            "API keys are OFF (--insecure-no-auth): anyone who reaches this server can "
            "read and change every ticket and reload the model"
        )
    if auth.enabled and len(auth.store) == 0:
        raise ServeConfigError(
            f"no API key configured in {settings.api_keys_file}: create one with "
            "`triage keys create --scopes triage,admin`, or start with --insecure-no-auth "
            "(only on a trusted network)"
        )
    return auth


def create_app(settings: Settings, *, load: Loader | None = None) -> FastAPI:
    """Build the app. Raises `ServeConfigError` when no model or no API key is configured.

    The lifespan loads the model unless `app.state.holder.reload()` was called before
    (the CLI does, to report a bad bundle before the server starts). `load` replaces the
    default `load_bundle` + `OnnxTriager` loader.
    """
    # The language model is one per process; this server's settings say where it is cached.
    language.configure(settings.language_cache_dir)
    auth = check_auth(settings)
    metrics = Metrics()
    source, resolve, alias_stamp = model_source(settings)

    def on_swap(loaded: LoadedModel) -> None:
        metrics.set_model(loaded.version)
        metrics.reloads.labels(outcome="ok").inc()

    loader = load or (lambda path: load_predictor(path, settings))
    holder = ModelHolder(loader, resolve, source, on_swap=on_swap)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if holder.current is None:
            # BundleError propagates: the server refuses to start on a bad bundle.
            holder.reload()
        watcher = None
        if settings.model_watch_interval_s > 0:
            watcher = ModelWatcher(
                holder,
                settings.model_watch_interval_s,
                alias_stamp=alias_stamp,
                keys_stamp=auth.stamp,
                reload_keys=auth.reload,
                on_reload_error=lambda exc: metrics.reloads.labels(outcome="refused").inc(),
            )
            watcher.start()
        app.state.watcher = watcher
        try:
            yield
        finally:
            if watcher is not None:
                watcher.stop()
            desk = getattr(app.state, "desk", None)
            if desk is not None:
                desk.engine.dispose()

    app = FastAPI(
        title="ticket-triage",
        version=__version__,
        summary="Help-desk ticket triage: category, priority, routing, escalation risk, "
        "auto-reply.",
        lifespan=lifespan,
        # /docs and /redoc come from local assets (`api.docs`), not from a CDN.
        docs_url=None,
        redoc_url=None,
        # No OAuth: the bearer keys need no redirect page.
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.auth = auth
    app.state.metrics = metrics
    app.state.holder = holder
    # Bounds the model calls in flight: FastAPI's threadpool would otherwise run up to 40
    # at once, each growing onnxruntime's buffers, for no extra throughput on a few cores.
    app.state.prediction_slots = threading.BoundedSemaphore(settings.max_concurrent_predictions)
    install_error_handlers(app)
    install_docs(app)
    app.include_router(health.router)
    app.include_router(triage.build_router(settings))
    app.include_router(model.router)
    if settings.desk:
        # Imported here: SQLAlchemy and the lifecycle are not needed by a triage-only server.
        from api.routes.tickets import install_desk

        install_desk(app, settings, migrate_schema=True)
        from api.console.pages import install_console

        install_console(app, settings)
    # Innermost: an unexpected exception becomes a 500 that the layers below count.
    app.add_middleware(UnexpectedErrorMiddleware)
    # Added last = outermost: the size check runs before anything reads the body, and
    # the metrics see every response, 413s included.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
