"""Language detection: right code on real-looking tickets, "und" when there is nothing to go on."""

from __future__ import annotations

import threading

import pytest

from triage import language
from triage.demo import generate
from triage.language import detect

SAMPLES = {
    "en": "Hello, I was charged twice for my subscription this month. Could you please refund one "
    "of the payments?",
    "ru": "Здравствуйте, с меня дважды списали деньги за подписку в этом месяце. Верните, "
    "пожалуйста, один платёж.",
    "uk": "Добрий день, з мене двічі зняли гроші за підписку цього місяця. Поверніть, будь ласка, "
    "один платіж.",
    "pl": "Dzień dobry, w tym miesiącu dwa razy pobrano ode mnie opłatę za subskrypcję. Proszę o "
    "zwrot jednej płatności.",
    "de": "Guten Tag, mir wurde diesen Monat das Abo zweimal berechnet. Könnten Sie bitte eine "
    "Zahlung erstatten?",
    "es": "Hola, me han cobrado dos veces la suscripción este mes. ¿Podrían devolverme uno de los "
    "pagos, por favor?",
    "fr": "Bonjour, j'ai été débité deux fois pour mon abonnement ce mois-ci. Pourriez-vous "
    "rembourser un des paiements ?",
    "pt": "Olá, fui cobrado duas vezes pela assinatura este mês. Vocês podem devolver um dos "
    "pagamentos, por favor?",
    "it": "Buongiorno, questo mese mi è stato addebitato due volte l'abbonamento. Potete "
    "rimborsare uno dei pagamenti?",
    "nl": "Goedendag, ik ben deze maand twee keer gefactureerd voor mijn abonnement. Kunnen "
    "jullie één betaling terugstorten?",
}


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_detects_common_desk_languages(code: str) -> None:
    found, confidence = detect(SAMPLES[code])
    assert found == code
    assert 0.8 < confidence <= 1.0


@pytest.mark.parametrize("text", ["", "   ", "ok", "#12 !!", "1234567890", "\n\t"])
def test_nothing_to_go_on_is_undetermined(text: str) -> None:
    assert detect(text) == ("und", 0.0)


def test_confidence_is_lower_for_short_or_mixed_text() -> None:
    _, long_confidence = detect(SAMPLES["de"])
    _, mixed_confidence = detect("Hallo, ok, thanks, merci, danke")
    assert 0.0 <= mixed_confidence < long_confidence


def test_very_long_text_is_detected_from_its_start() -> None:
    text = SAMPLES["pl"] + " " + "x" * 50_000
    assert detect(text)[0] == "pl"


def test_demo_texts_are_identified() -> None:
    tickets = generate(tickets=400, seed=21).tickets
    right = sum(detect(t.text)[0] == t.language for t in tickets)
    assert right / len(tickets) >= 0.95


def test_codes_include_the_desk_languages() -> None:
    codes = language.languages()
    assert {"en", "ru", "uk", "pl", "de", "es", "fr", "pt", "it", "nl"} <= set(codes)
    assert "und" not in codes and "nb" not in codes


def test_model_loads_once_when_threads_race(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    original = language._load_identifier

    def counting():
        loads.append(1)
        return original()

    monkeypatch.setattr(language, "_identifier", None)
    monkeypatch.setattr(language, "_load_identifier", counting)
    results: list[tuple[str, float]] = []
    start = threading.Barrier(6)

    def work() -> None:
        start.wait()
        results.append(detect(SAMPLES["ru"]))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert len(results) == 6 and {code for code, _ in results} == {"ru"}


def test_unpacked_cache_gives_the_shipped_models_answers(tmp_path) -> None:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    shipped = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    first = language._from_cache(tmp_path, MODEL_DIR / MODEL_FILE)  # unpacks
    assert len(list(tmp_path.glob("py3langid-*/*.npy"))) == 6
    again = language._from_cache(tmp_path, MODEL_DIR / MODEL_FILE)  # reads the cache
    for text in SAMPLES.values():
        assert first.classify(text) == again.classify(text) == shipped.classify(text)
