"""The serving process never imports the training stack."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = ("torch", "sentence_transformers", "sklearn", "transformers", "mlflow", "pandas")


def test_serving_process_imports_no_training_stack(api_settings, api_keys):
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from fastapi.testclient import TestClient
        import api.server  # the module `triage serve` runs
        from api.app import create_app
        from triage.settings import Settings

        settings = Settings(
            _env_file=None,
            bundle=Path({str(api_settings.bundle)!r}),
            api_keys_file=Path({str(api_keys.path)!r}),
            model_watch_interval_s=0,
        )
        with TestClient(create_app(settings)) as client:
            response = client.post(
                "/v1/triage",
                json={{"id": "1", "subject": "Refund", "body": "I was charged twice"}},
                headers={{"Authorization": "Bearer {api_keys.triage}"}},
            )
            assert response.status_code == 200, response.text
        print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "onnxruntime" in loaded  # the check would be vacuous otherwise
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
