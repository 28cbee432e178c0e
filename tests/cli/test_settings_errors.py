"""A bad `TRIAGE_*` value ends the command with exit 2 and one line naming the variable and
the rule: no traceback, and never the value itself (it may be a secret)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_bad_setting_names_the_variable_and_hides_the_value(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["TRIAGE_AUTO_REPLY_UNCONFIRMED_PRIORITY_MAX"] = "7.25"
    done = subprocess.run(
        [sys.executable, "-m", "triage_cli.main", "models", "list"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "invalid setting TRIAGE_AUTO_REPLY_UNCONFIRMED_PRIORITY_MAX" in done.stderr
    assert "less than or equal to 1" in done.stderr
    assert "Traceback" not in done.stderr
    assert "7.25" not in done.stderr + done.stdout
