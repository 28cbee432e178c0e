"""Help-desk presets: the column names and value conventions of each tool's exports.

`--format jira|zendesk|freshdesk|servicenow` reads a tool's export as the tool writes it;
`--map FIELD=COLUMN` overrides any of a preset's choices and `--map FIELD=` drops one.
"""

from triage.ingest.presets.base import Derivation, Preset, RowContext
from triage.ingest.presets.freshdesk import FRESHDESK
from triage.ingest.presets.jira import JIRA
from triage.ingest.presets.servicenow import SERVICENOW
from triage.ingest.presets.zendesk import ZENDESK

PRESETS: dict[str, Preset] = {p.name: p for p in (ZENDESK, JIRA, SERVICENOW, FRESHDESK)}

__all__ = ["PRESETS", "Derivation", "Preset", "RowContext"]
