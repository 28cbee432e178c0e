"""Each shared-dataset importer: expected counts and spot checks of the mapped fields."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from triage.contract import Channel
from triage.dataset import iter_articles, iter_tickets, kb_path_for
from triage.ingest import ImportReport, import_source

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def imported(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory):
    """Import a dataset once per module: name -> (report, list of tickets)."""
    out_dir = tmp_path_factory.mktemp("imports")
    cache: dict[str, tuple[ImportReport, list]] = {}

    def get(name: str):
        if name not in cache:
            out = out_dir / f"{name}.parquet"
            report = import_source(shared_datasets / name, name, out)
            cache[name] = (report, list(iter_tickets(out)))
        return cache[name]

    return get


@pytest.mark.slow
def test_endava_it_tickets(imported) -> None:
    report, tickets = imported("endava_it_tickets")
    assert report.rows_written == len(tickets) == 47_837
    assert report.rows_dropped == 0
    assert tickets[0].id == "endava-1" and tickets[-1].id == "endava-47837"
    assert len({t.category for t in tickets}) == 8
    assert all(t.body and t.created_at is None for t in tickets[:100])


def test_endava_all_labels_sample(imported) -> None:
    report, tickets = imported("endava_all_labels_sample")
    assert len(tickets) == 5_431 and report.rows_dropped == 0
    untitled = [t for t in tickets if not t.subject]
    assert len(untitled) == 107 and all(t.body for t in untitled)
    first = tickets[0]
    # Row 1: ticket_type 1, category 4, sub_category1 2, sub_category2 21, business_service 71,
    # urgency 3, impact 4
    assert (first.category, first.subcategory, first.priority) == ("4", "2", "3")
    assert first.extra == {
        "ticket_type": "1",
        "sub_category2": "21",
        "business_service": "71",
        "impact": "4",
    }
    # urgency 3 / impact 4 mark exactly the requests (ticket_type 1), as the README says.
    assert all((t.priority == "3") == (t.extra["ticket_type"] == "1") for t in tickets)


def test_servicenow_assignment(imported) -> None:
    report, tickets = imported("servicenow_assignment")
    assert len(tickets) == 8_500 and report.rows_dropped == 0
    texts = [t.text for t in tickets]
    assert not any("_x000D_" in text or "_x000d_" in text for text in texts)
    assert not any("received from:" in text.lower() for text in texts)
    assert len({t.team for t in tickets}) == 74
    assert Counter(t.team for t in tickets).most_common(1)[0] == ("GRP_0", 3976)
    assert tickets[0].requester == "spxjnwir pjlcoqds"
    assert tickets[1].body.startswith("hello team,")


def test_rutube_cases_point_at_their_gold_kb_article(imported, tmp_path: Path) -> None:
    report, tickets = imported("rutube_support_ru")
    assert len(tickets) == 801 and report.kb_written == 326
    articles = {a.id: a for a in iter_articles(report.kb_out)}
    assert report.kb_out == kb_path_for(report.out) and len(articles) == 326
    assert all(t.kb_article_id in articles for t in tickets)
    assert all(t.language == "ru" and t.body and t.agent_answer for t in tickets)
    # The gold article shares the case's classifier in all but the two cases the file itself
    # disagrees on.
    same = sum(
        (articles[t.kb_article_id].category, articles[t.kb_article_id].subcategory)
        == (t.category, t.subcategory)
        for t in tickets
    )
    assert same >= 799
    first = tickets[0]
    assert articles[first.kb_article_id].title == "Что нельзя публиковать на RUTUBE?"
    assert first.category == "МОДЕРАЦИЯ"


@pytest.mark.slow
def test_uci_incident_log(imported) -> None:
    report, tickets = imported("uci_incident_log")
    assert len(tickets) == 24_918 and report.rows_dropped == 0
    by_id = {t.id: t for t in tickets}
    first = by_id["INC0000045"]  # four events, made_sla true throughout
    assert first.sla_breached is False
    assert first.created_at.isoformat() == "2016-02-29T01:16:00+00:00"
    assert first.resolved_at.isoformat() == "2016-02-29T11:29:00+00:00"
    assert first.channel == Channel.phone and first.team == "56" and first.requester == "2403"
    assert first.extra["event_count"] == 4 and first.extra["first_state"] == "New"
    assert first.subject == "" and first.body == ""
    # made_sla false on the last event <=> breached; 9,115 incidents end with made_sla false.
    assert sum(t.sla_breached for t in tickets) == 9_115
    # `?` is missing, never a label.
    assert not any("?" in (t.team or "", t.assignee or "", t.category or "") for t in tickets)
    second = by_id["INC0000047"]  # reassigned once: group 70 at open, 24 at the end
    assert (
        second.extra["open_assignment_group"],
        second.team,
        second.extra["reassignment_count"],
    ) == ("70", "24", 1)
    assert Counter(t.channel for t in tickets)[Channel.web] > 0


def test_synthetic_multilingual_drops_only_the_truncated_rows(imported) -> None:
    report, tickets = imported("synthetic_multilingual")
    # 1,168 and 2,182 records parsed; the last of each is cut off mid-field.
    assert len(tickets) == 1_167 + 2_181
    assert report.rows_dropped == 2 and len(report.dropped) == 1
    assert "truncated" in next(iter(report.dropped))
    assert {t.language for t in tickets} == {"en", "de", "es", "fr", "pt"}
    assert {t.priority for t in tickets} == {"high", "medium", "low"}
    assert len({t.team for t in tickets}) == 10
    first = tickets[0]
    assert first.category == "Incident" and first.team == "Technical Support" and first.agent_answer
    assert first.tags == [
        "Urgent Issue",
        "Service Disruption",
        "Incident Report",
        "Service Recovery",
        "System Maintenance",
    ]
    assert len({t.id for t in tickets}) == len(tickets)
