"""Artifacts: the round trip, and refusing what Encore did not write or cannot read."""

import errno
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import joblib
import pytest
import sklearn

from offers.catalog import Offer
from ranker.artifact import (
    CARD_FILE,
    FORMAT_VERSION,
    MODEL_FILE,
    ModelError,
    load_model,
    save_model,
)
from ranker.compiled_scoring import score_order
from ranker.model import RankContext, RelevanceModel

CARD_KEYS = {
    "version",
    "trained_at",
    "format_version",
    "libraries",
    "data",
    "features",
    "learner",
    "horizon_days",
    "training_rows",
    "metrics",
    "feedback",  # trained with impressions: the click model's held-out figures
    "sha256",
}
METRIC_KEYS = {"hit_rate_at_k", "recall_at_k", "ndcg_at_k"}


@pytest.fixture
def artifact(model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the trained artifact, free to alter."""
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


def _edit_card(directory: Path, **changes: object) -> None:
    card = json.loads((directory / CARD_FILE).read_text())
    for key, value in changes.items():
        card[key] = value
    (directory / CARD_FILE).write_text(json.dumps(card))


def test_round_trip_gives_the_same_recommendations(
    trained_model: RelevanceModel, model_dir: Path
) -> None:
    loaded = load_model(model_dir)
    customer = next(iter(trained_model.index.customer_code))
    context = RankContext(customer_id=customer, basket=[(trained_model.index.skus[0], "", 0.0, 1)])
    assert loaded.version == trained_model.version
    assert loaded.recommend_skus(context, 3) == trained_model.recommend_skus(context, 3)


def test_warming_up_compiles_the_scoring_kernel_so_that_requests_do_not(
    model_dir: Path, make_offer: Callable[..., Offer]
) -> None:
    loaded = load_model(model_dir)
    loaded.warm_up()
    assert not [name for name in loaded.__getstate__() if name.startswith("_")]
    compiled, built = list(score_order.signatures), set(vars(loaded))
    context = RankContext(customer_id=None, basket=[(loaded.index.skus[0], "", 0.0, 1)])
    unvalued = [
        make_offer(f"o{i}", sku=sku, value=0.0) for i, sku in enumerate(loaded.index.skus[1:6])
    ]
    loaded.score_offers(context, [*loaded.offers, *unvalued])
    assert score_order.signatures == compiled
    assert set(vars(loaded)) == built  # nothing left to build on a request


def test_card_holds_the_design_keys(model_dir: Path) -> None:
    card = json.loads((model_dir / CARD_FILE).read_text())
    assert set(card) == CARD_KEYS
    assert set(card["data"]) == {"rows", "orders", "customers", "skus", "time_range"}
    assert set(card["libraries"]) == {"encore", "python", "scikit-learn", "numpy", "joblib"}
    assert card["format_version"] == FORMAT_VERSION
    metrics = card["metrics"]
    assert METRIC_KEYS | {"k", "popularity", "co_occurrence", "history"} <= set(metrics)
    for baseline in ("popularity", "co_occurrence", "history"):
        assert set(metrics[baseline]) == METRIC_KEYS
    assert metrics["k"] == 3


def test_a_failed_save_leaves_the_model_already_there_as_it_was(
    trained_model: RelevanceModel, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {path.name: path.read_bytes() for path in artifact.iterdir()}

    def disk_full(_model: object, filename: Path, **_kwargs: object) -> None:
        Path(filename).write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(joblib, "dump", disk_full)
    with pytest.raises(OSError) as caught:
        save_model(trained_model, artifact)

    assert (caught.value.strerror, caught.value.filename) == (
        "No space left on device",
        str(artifact),
    )
    assert {path.name: path.read_bytes() for path in artifact.iterdir()} == before
    assert load_model(artifact).version == json.loads(before[CARD_FILE])["version"]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        pytest.param(FORMAT_VERSION + 1, str(FORMAT_VERSION + 1), id="newer"),
        pytest.param(str(FORMAT_VERSION), f'"{FORMAT_VERSION}"', id="the-same-written-as-text"),
        pytest.param(None, "null", id="none"),
    ],
)
def test_another_format_version_is_refused_as_the_card_writes_it(
    artifact: Path, written: object, shown: str
) -> None:
    _edit_card(artifact, format_version=written)
    with pytest.raises(ModelError) as caught:
        load_model(artifact)
    assert str(caught.value) == (
        f"{artifact}: artifact format {shown} is not supported "
        f"(this Encore reads format {FORMAT_VERSION}); retrain with `encore train`"
    )


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        pytest.param({"version": None}, "no version", id="no-version"),
        pytest.param({"version": 5}, "no version", id="version-not-text"),
        pytest.param({"metrics": None}, "no metrics.split_at time", id="no-metrics"),
        pytest.param({"metrics": {"split_at": "nonsense"}}, "no metrics.split_at time", id="split"),
    ],
)
def test_a_card_edited_by_hand_is_refused_in_one_line(artifact: Path, edit, problem) -> None:
    _edit_card(artifact, **edit)
    with pytest.raises(ModelError) as caught:
        load_model(artifact)
    assert str(caught.value) == f"{artifact / CARD_FILE}: not a model card ({problem})"


def test_a_model_trained_on_other_features_is_refused(artifact: Path) -> None:
    card = json.loads((artifact / CARD_FILE).read_text())
    _edit_card(artifact, features=[*card["features"], "a_feature_of_an_older_encore"])
    with pytest.raises(ModelError) as caught:
        load_model(artifact)
    assert str(caught.value) == (
        f"{artifact}: trained on other features than this Encore computes; "
        "retrain with `encore train`"
    )


def test_another_scikit_learn_minor_version_is_refused(artifact: Path) -> None:
    card = json.loads((artifact / CARD_FILE).read_text())
    _edit_card(artifact, libraries=card["libraries"] | {"scikit-learn": "1.2.0"})
    with pytest.raises(ModelError) as caught:
        load_model(artifact)
    assert str(caught.value) == (
        f"{artifact}: trained with scikit-learn 1.2.0, this is {sklearn.__version__}; "
        "retrain with `encore train`"
    )


def test_a_model_file_the_card_does_not_describe_is_refused(artifact: Path) -> None:
    (artifact / MODEL_FILE).write_bytes(b"not the file Encore wrote")
    with pytest.raises(ModelError) as caught:
        load_model(artifact)
    assert str(caught.value) == (
        f"{artifact / MODEL_FILE}: does not match its card "
        "(refusing to load a file Encore did not write)"
    )


def test_a_model_file_that_matches_its_card_but_does_not_unpickle_is_refused(
    artifact: Path,
) -> None:
    """A file cut short after it was hashed (a copy interrupted, a disk full)."""
    path = artifact / MODEL_FILE
    path.write_bytes(path.read_bytes()[:1000])
    card = json.loads((artifact / CARD_FILE).read_text())
    card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (artifact / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelError) as caught:
        load_model(artifact)
    assert str(caught.value).startswith(f"{path}: corrupt model file (")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param("no-card", "{dir}: no model here (missing card.json)", id="missing-card"),
        pytest.param("no-model", "{dir}: missing or unreadable model.joblib", id="missing-model"),
        pytest.param("bad-card", "{dir}/card.json: unreadable model card", id="corrupt-card"),
        pytest.param(
            "no-libraries",
            "{dir}/card.json: not a model card (no library versions)",
            id="card-without-libraries",
        ),
    ],
)
def test_damaged_artifacts_raise_one_line(artifact: Path, damage: str, message: str) -> None:
    if damage == "no-card":
        (artifact / CARD_FILE).unlink()
    elif damage == "no-model":
        (artifact / MODEL_FILE).unlink()
    elif damage == "no-libraries":
        card = json.loads((artifact / CARD_FILE).read_text())
        (artifact / CARD_FILE).write_text(json.dumps({**card, "libraries": None}))
    else:
        (artifact / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelError) as caught:
        load_model(artifact)
    text = str(caught.value)
    assert text.startswith(message.format(dir=artifact))
    assert "\n" not in text
