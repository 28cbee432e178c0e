"""The shadow challenger on a serving desk: a second bundle, loaded at start-up, scores
every new ticket in a background thread (`triage.health.shadow.ShadowScorer`)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI

from triage.desk import Desk
from triage.health.shadow import ShadowScorer
from triage.settings import Settings

log = logging.getLogger("triage.api")


def attach_shadow(app: FastAPI, desk: Desk, settings: Settings) -> ShadowScorer:
    """Load `settings.shadow_model` (a registry alias or version, or a bundle path) and
    hand the desk's new tickets to it; kept in `app.state.shadow`."""
    from api.app import load_predictor
    from triage.registry import ModelRegistry

    name = str(settings.shadow_model)
    path = Path(name)
    if not (path / "manifest.json").is_file():
        path = ModelRegistry(settings.models_dir).resolve(name)
    _, triager = load_predictor(path, settings)
    scorer = ShadowScorer(triager, desk.sessions, desk.clock)
    desk.shadow = scorer
    app.state.shadow = scorer
    log.info("shadow model %s scores new tickets without acting", triager.model_version)
    return scorer
