"""The head-and-tail token window the encoder reads of a long ticket."""

from __future__ import annotations

import pytest

from triage.token_window import head_tail, window_sizes, with_specials


def test_a_text_within_the_budget_is_kept_whole() -> None:
    assert head_tail([1, 2, 3], budget=3) == [1, 2, 3]
    assert head_tail([], budget=5) == []
    assert window_sizes(10, 62) == (10, 0)


def test_a_long_text_keeps_its_start_and_its_end_in_order() -> None:
    ids = list(range(100))
    kept = head_tail(ids, budget=8, head_share=0.75)
    assert kept == [0, 1, 2, 3, 4, 5, 98, 99]
    assert head_tail(ids, budget=8, head_share=1.0) == list(range(8))
    # Even a zero share keeps one head token: the subject's first word.
    assert head_tail(ids, budget=4, head_share=0.0) == [0, 97, 98, 99]


def test_special_tokens_wrap_the_window_within_max_length() -> None:
    ids = list(range(10, 200))
    out = with_specials(ids, max_length=64, prefix=[101], suffix=[102])
    assert len(out) == 64 and out[0] == 101 and out[-1] == 102
    assert out[1:47] == ids[:46] and out[47:63] == ids[-16:]
    assert with_specials([5, 6], 64, [101], [102]) == [101, 5, 6, 102]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: window_sizes(10, 0), "budget"),
        (lambda: window_sizes(10, 5, head_share=1.5), "head_share"),
        (lambda: with_specials([1], 2, [101], [102]), "no room"),
    ],
)
def test_bad_arguments_are_refused_clearly(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
