"""The stacked recipe search's rounds and the folds every candidate shares."""

import numpy as np

from training.competition import folds_of, recipe_rounds
from training.selection import stacked


def test_the_search_tries_each_kind_once_then_the_chosen_kinds_other_recipes() -> None:
    recipes = [
        stacked("svm", 1.0, 0.0),
        stacked("svm", 1.0, 0.3),
        stacked("nbsvm", 0.7, 0.0),
        stacked("nbsvm", 0.7, 0.3),
    ]
    first, later = recipe_rounds(recipes)
    assert first == [recipes[0], recipes[2]]
    assert later == {"svm": [recipes[1]], "nbsvm": [recipes[3]]}
    # Three fits where the grid took four, and every recipe is still reachable.
    for kind, rest in later.items():
        assert {c for c in first if c.kind == kind} | set(rest) == {
            c for c in recipes if c.kind == kind
        }


def test_a_kind_without_a_recipe_at_the_base_power_still_enters_the_first_round() -> None:
    recipes = [stacked("svm", 1.0, 0.0), stacked("logreg", 1.0, 0.5), stacked("logreg", 1.0, 1.0)]
    first, later = recipe_rounds(recipes)
    assert first == [recipes[0], recipes[1]]
    assert later == {"svm": [], "logreg": [recipes[2]]}
    assert recipe_rounds(recipes[:1]) == ([recipes[0]], {"svm": []})


def test_folds_are_stratified_and_reproducible() -> None:
    y = np.repeat([0, 1, 2], [30, 60, 9])
    fold = folds_of(y, 3, seed=7)
    assert (fold == folds_of(y, 3, seed=7)).all()
    for c in range(3):
        counts = np.bincount(fold[y == c], minlength=3)
        assert counts.max() - counts.min() <= 1
