"""The demo generator: deterministic, covering every label, with learnable but noisy structure."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from triage.dataset import iter_articles, iter_tickets, kb_path_for
from triage.demo import (
    DemoData,
    agents_path_for,
    generate,
    load_roster,
    summarize,
    write_demo,
)
from triage.demo.catalog import SLA
from triage.errors import InputFileError


@pytest.fixture(scope="session")
def demo() -> DemoData:
    """A small demo history, generated once for the session."""
    return generate(tickets=1500, seed=5)


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo.parquet"
    write_demo(out, tickets=1500, seed=5)
    return out


def _files(out: Path) -> list[Path]:
    return [out, kb_path_for(out), agents_path_for(out)]


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"
    write_demo(a, tickets=300, seed=11)
    write_demo(b, tickets=300, seed=11)
    write_demo(c, tickets=300, seed=12)
    for left, right in zip(_files(a), _files(b), strict=True):
        assert left.read_bytes() == right.read_bytes(), left.name
    assert a.read_bytes() != c.read_bytes()
    texts_a = [t.text for t in iter_tickets(a)]
    texts_c = [t.text for t in iter_tickets(c)]
    assert sum(x != y for x, y in zip(texts_a, texts_c, strict=True)) > 250


def test_written_files_round_trip_to_the_generated_data(demo: DemoData, demo_files: Path) -> None:
    assert list(iter_tickets(demo_files)) == demo.tickets
    assert list(iter_articles(kb_path_for(demo_files))) == demo.articles
    assert load_roster(agents_path_for(demo_files)) == demo.roster


@pytest.mark.slow
def test_default_size_spans_six_months_with_plausible_shares() -> None:
    data = generate()
    summary = summarize(data)
    assert summary.tickets == 6000
    created = [t.created_at for t in data.tickets]
    assert created == sorted(created)
    assert timedelta(days=170) < created[-1] - created[0] < timedelta(days=190)
    shares = {lang: count / summary.tickets for lang, count in summary.languages.items()}
    assert set(shares) == {"en", "ru", "pl", "de"}
    assert shares["en"] > 0.45 and max(shares, key=shares.get) == "en"
    assert all(0.05 < shares[lang] < 0.3 for lang in ("ru", "pl", "de"))
    assert 0.05 < summary.sla_breach_rate < 0.4
    assert 0.25 <= summary.kb_answer_rate <= 0.45


def test_labels_cover_the_taxonomy(demo: DemoData) -> None:
    tickets = demo.tickets
    subs_per_category: dict[str, set[str]] = {}
    for t in tickets:
        subs_per_category.setdefault(t.category, set()).add(t.subcategory)
    assert len(subs_per_category) >= 8
    assert all(2 <= len(subs) <= 5 for subs in subs_per_category.values())
    assert {t.priority for t in tickets} == {"low", "normal", "high", "urgent"}
    assert {t.channel.value for t in tickets} == {"email", "chat", "web", "phone", "api"}
    assert {t.customer_tier for t in tickets} == {"free", "standard", "premium", "enterprise"}
    assert {t.language for t in tickets} == {"en", "ru", "pl", "de"}
    assert len({t.team for t in tickets}) == 6
    assert len({t.id for t in tickets}) == len(tickets)


def test_texts_are_real_sentences_of_reasonable_length(demo: DemoData) -> None:
    words = [len(t.text.split()) for t in demo.tickets]
    assert 30 <= statistics.median(words) <= 150
    assert max(words) <= 200
    # Short vague tickets exist on purpose, but they are the exception.
    assert 0.0 < sum(w < 15 for w in words) / len(words) < 0.1
    assert all("{" not in t.text and "{" not in (t.agent_answer or "") for t in demo.tickets)
    assert len({t.text for t in demo.tickets}) > 0.95 * len(demo.tickets)


def test_timestamps_follow_business_hours_weekdays_and_sla(demo: DemoData) -> None:
    tickets = demo.tickets
    weekday = sum(t.created_at.weekday() < 5 for t in tickets) / 5
    weekend = sum(t.created_at.weekday() >= 5 for t in tickets) / 2
    assert weekday > 2 * weekend
    assert sum(8 <= t.created_at.hour < 18 for t in tickets) / len(tickets) > 0.55
    for t in tickets:
        assert t.created_at < t.first_response_at < t.resolved_at
        target = SLA[t.priority]
        late_answer = t.first_response_at - t.created_at > timedelta(
            hours=target.first_response_hours
        )
        late_fix = t.resolved_at - t.created_at > timedelta(hours=target.resolution_hours)
        assert t.sla_breached == (late_answer or late_fix)


def _rate(tickets, condition) -> float:
    chosen = [t for t in tickets if condition(t)]
    return sum(bool(t.sla_breached) for t in chosen) / max(len(chosen), 1)


def test_breaches_and_escalations_are_partly_predictable(demo: DemoData) -> None:
    tickets = demo.tickets
    breach = summarize(demo).sla_breach_rate
    assert 0.05 < breach < 0.4
    assert (
        _rate(tickets, lambda t: t.priority == "urgent")
        > _rate(tickets, lambda t: t.priority == "low") + 0.05
    )
    assert _rate(tickets, lambda t: "follow-up" in t.tags) > breach
    escalated = [t for t in tickets if t.escalated]
    assert 0.03 < len(escalated) / len(tickets) < 0.25
    assert sum(bool(t.sla_breached) for t in escalated) / len(escalated) > breach + 0.15
    # Priority follows the topic: security incidents outrank feature requests.
    rank = {"low": 0, "normal": 1, "high": 2, "urgent": 3}

    def mean_priority(category: str) -> float:
        return statistics.mean(rank[t.priority] for t in tickets if t.category == category)

    assert mean_priority("Security") > mean_priority("Feature Request") + 0.8


def test_follow_ups_refer_to_an_earlier_ticket_of_the_same_customer(demo: DemoData) -> None:
    by_id = {t.id: t for t in demo.tickets}
    follow_ups = [t for t in demo.tickets if "follow-up" in t.tags]
    assert 0.03 < len(follow_ups) / len(demo.tickets) < 0.2
    for t in follow_ups:
        earlier = by_id[t.extra["follow_up_of"]]
        assert earlier.created_at < t.created_at
        assert earlier.requester == t.requester
        assert earlier.id in t.body
        assert t.subject == "" or t.subject.split(":")[0] in {"Re", "RE", "AW", "Odp"}


def test_kb_articles_back_a_third_of_the_answers(demo: DemoData) -> None:
    articles = {a.id: a for a in demo.articles}
    assert 45 <= len(articles) <= 60
    assert Counter(a.language for a in demo.articles).most_common(1)[0][0] == "en"
    assert {a.language for a in demo.articles} == {"en", "ru", "pl", "de"}
    linked = [t for t in demo.tickets if t.kb_article_id]
    assert 0.25 <= len(linked) / len(demo.tickets) <= 0.45
    for t in linked:
        article = articles[t.kb_article_id]
        assert article.language == t.language
        assert article.body in t.agent_answer
    assert all(t.agent_answer for t in demo.tickets)


def test_every_assignee_is_an_agent_of_the_ticket_team(demo: DemoData, demo_files: Path) -> None:
    roster = load_roster(agents_path_for(demo_files))
    assert 15 <= len(roster.agents) <= 25
    team_of = {a.id: a.team for a in roster.agents}
    assert all(team_of[t.assignee] == t.team for t in demo.tickets)
    speaks = {a.id: set(a.languages) for a in roster.agents}
    in_language = sum(t.language in speaks[t.assignee] for t in demo.tickets) / len(demo.tickets)
    assert in_language > 0.9
    assert {a.tier for a in roster.agents} == {"L1", "L2", "L3"}


def test_roster_file_errors_name_the_problem(tmp_path: Path, demo_files: Path) -> None:
    data = json.loads(agents_path_for(demo_files).read_text(encoding="utf-8"))
    data["agents"][0]["team"] = "nowhere"
    bad = tmp_path / "bad.agents.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputFileError, match="unknown team 'nowhere'"):
        load_roster(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputFileError, match="not a JSON file"):
        load_roster(bad)
    with pytest.raises(InputFileError, match="no such file"):
        load_roster(tmp_path / "missing.agents.json")


def test_label_noise_keeps_a_text_classifier_below_perfect(demo: DemoData) -> None:
    pytest.importorskip("sklearn", reason="needs the train extra")
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    assert 0.05 < len(demo.flipped) / len(demo.tickets) < 0.12
    tickets = demo.tickets
    train, test = tickets[: int(len(tickets) * 0.75)], tickets[int(len(tickets) * 0.75) :]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    model = LinearSVC().fit(
        vectorizer.fit_transform([t.text for t in train]), [t.category for t in train]
    )
    predicted = model.predict(vectorizer.transform([t.text for t in test]))
    accuracy = sum(p == t.category for p, t in zip(predicted, test, strict=True)) / len(test)
    assert 0.6 < accuracy < 0.98
    # The flipped labels are what the model cannot learn: it is far better on the rest.
    clean = [(p, t) for p, t in zip(predicted, test, strict=True) if t.id not in demo.flipped]
    assert sum(p == t.category for p, t in clean) / len(clean) > accuracy


def test_write_demo_refuses_a_non_parquet_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NAME.parquet"):
        write_demo(tmp_path / "demo.csv", tickets=10)
