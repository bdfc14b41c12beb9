"""The exported scorers give exactly what the calibrated scikit-learn estimators give."""

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from ranker.scorer import (
    LEARNERS,
    EstimatorScorer,
    LinearScorer,
    TreeScorer,
    export_scorer,
    make_learner,
)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4_000, 6))
    X[:, 5] = rng.integers(0, 3, size=len(X))  # a discrete column: thresholds between values
    logit = X[:, 0] - 0.5 * X[:, 1] * X[:, 2] + 0.8 * X[:, 5] - 1.0
    return X, rng.random(len(X)) < 1 / (1 + np.exp(-logit))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        pytest.param("gradient_boosting", TreeScorer, id="boosting"),
        pytest.param("logistic", LinearScorer, id="logistic"),
    ],
)
def test_export_matches_the_calibrated_estimator(data: tuple, name: str, kind: type) -> None:
    X, y = data
    learner = make_learner(name).fit(X[:3_000], y[:3_000])
    calibrated = CalibratedClassifierCV(FrozenEstimator(learner), method="isotonic").fit(
        X[3_000:], y[3_000:]
    )
    scorer = export_scorer(calibrated)
    assert isinstance(scorer, kind)
    np.testing.assert_allclose(scorer.decision_function(X), learner.decision_function(X), atol=1e-9)
    np.testing.assert_allclose(
        scorer.predict_proba(X), calibrated.predict_proba(X)[:, 1], atol=1e-9
    )
    assert scorer.floor == pytest.approx(calibrated.predict_proba(X)[:, 1].min(), abs=1e-9)
    np.testing.assert_allclose(
        EstimatorScorer(calibrated).predict_proba(X), scorer.predict_proba(X), rtol=0, atol=1e-12
    )


def test_candidates_in_one_step_of_the_calibration_keep_the_order_of_their_raw_scores() -> None:
    # isotonic calibration is a step function: here one step of 0.3 for every raw score
    scorer = LinearScorer(
        calibration_x=np.array([-5.0, 5.0]),
        calibration_y=np.array([0.3, 0.3]),
        intercept=0.0,
        coef=np.array([1.0]),
    )
    probability = scorer.predict_proba(np.array([[2.0], [-1.0], [0.5]]))

    assert list(np.argsort(-probability)) == [0, 2, 1]
    np.testing.assert_allclose(probability, 0.3, rtol=0, atol=1e-10)


def test_unknown_learner_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"learner must be one of \('gradient_boosting', 'logistic'\), got 'forest'",
    ):
        make_learner("forest")


def test_learners_are_listed_in_preference_order() -> None:
    assert LEARNERS == ("gradient_boosting", "logistic")
