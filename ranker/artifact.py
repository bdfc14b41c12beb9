"""The model artifact: ``DIR/model.joblib`` and its card ``DIR/card.json``.

joblib runs code while loading, so Encore only loads artifacts it wrote: the
card records the SHA-256 of ``model.joblib``, the artifact format and the
library versions, and :func:`load_model` checks all three *before* unpickling.
An artifact written by another format version or scikit-learn major.minor is
refused with one clear line rather than loaded into subtly different code.
"""

import hashlib
import json
import platform
import secrets
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import joblib
import numpy as np
import sklearn

from offers.staging import staged
from ranker.features import FEATURES
from ranker.interactions import Interactions, iso_time

if TYPE_CHECKING:
    from ranker.model import RelevanceModel

FORMAT_VERSION = 3  # 2: the feedback model's context weights keyed by their ctx_ column;
# 3: and its cross-sell offers' click weights
MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"


class ModelError(Exception):
    """A missing, corrupt or incompatible model artifact; ``str(err)`` is one line."""


def make_card(
    log: Interactions,
    metrics: dict,
    *,
    trained_at: datetime,
    features: tuple[str, ...],
    learner: dict,
    horizon: float,
    n_training_rows: int,
    n_lines: int,
    n_orders: int,
) -> dict:
    """The model card of DESIGN.md (``version``, ``trained_at``, ``libraries``, ``data``,
    ``features``, ``metrics``) plus what Encore needs to load the artifact safely.

    ``n_lines`` and ``n_orders`` are the file's: ``log`` holds a customer's orders placed
    at one moment as one."""
    return {
        "version": f"{trained_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}",
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "format_version": FORMAT_VERSION,
        "libraries": library_versions(),
        "data": {
            "rows": n_lines,
            "orders": n_orders,
            "customers": int(log.n_customers),
            "skus": int(len(np.unique(log.sku))),
            "time_range": [iso_time(log.order_time[0]), iso_time(log.order_time[-1])],
        },
        "features": list(features),
        "learner": learner,
        "horizon_days": round(horizon, 3),
        "training_rows": n_training_rows,
        "metrics": _rounded(metrics),
    }


def library_versions() -> dict[str, str]:
    """Versions of what the artifact depends on."""
    try:
        encore = version("encore-offers")
    except PackageNotFoundError:
        encore = "unknown"
    return {
        "encore": encore,
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
    }


def save_model(model: "RelevanceModel", directory: str | Path) -> Path:
    """Write ``model.joblib``, then ``card.json`` holding its hash, into ``directory``.

    Both are written whole under temporary names first, and only then take the place of
    an artifact already there: a write that fails (a full disk) leaves that one as it was.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with staged(directory / MODEL_FILE, directory / CARD_FILE) as (model_file, card_file):
            joblib.dump(model, model_file, compress=3)
            card = dict(model.card, sha256=_sha256(model_file))
            card_file.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    except OSError as err:
        if err.filename is None:  # joblib's own writes name no file
            raise OSError(err.errno, err.strerror, str(directory)) from err
        raise
    model.card = card
    return directory


def read_card(directory: str | Path) -> dict:
    """The card of an artifact, checked for compatibility; raises :class:`ModelError`."""
    directory = Path(directory)
    path = directory / CARD_FILE
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{directory}: no model here (missing {CARD_FILE})") from None
    except (OSError, ValueError) as err:
        raise ModelError(f"{path}: unreadable model card ({err})") from None
    if not isinstance(card, dict):
        raise ModelError(f"{path}: not a model card")
    if not isinstance(card.get("version"), str) or not card["version"]:
        raise ModelError(f"{path}: not a model card (no version)")
    metrics = card.get("metrics")
    if not isinstance(metrics, dict) or not _is_iso_time(metrics.get("split_at")):
        raise ModelError(f"{path}: not a model card (no metrics.split_at time)")
    written = card.get("format_version")
    if written != FORMAT_VERSION:
        raise ModelError(
            f"{directory}: artifact format {json.dumps(written)} is not supported "
            f"(this Encore reads format {FORMAT_VERSION}); retrain with `encore train`"
        )
    if card.get("features") != list(FEATURES):
        raise ModelError(
            f"{directory}: trained on other features than this Encore computes; "
            "retrain with `encore train`"
        )
    libraries = card.get("libraries")
    if not isinstance(libraries, dict):
        raise ModelError(f"{path}: not a model card (no library versions)")
    trained_with = str(libraries.get("scikit-learn", "unknown"))
    if _major_minor(trained_with) != _major_minor(sklearn.__version__):
        raise ModelError(
            f"{directory}: trained with scikit-learn {trained_with}, this is "
            f"{sklearn.__version__}; retrain with `encore train`"
        )
    return card


def load_model(directory: str | Path) -> "RelevanceModel":
    """Load an artifact written by :func:`save_model`.

    A service calls the model's ``warm_up`` next, so that no request builds its tables
    or compiles its scoring kernel; the commands, which rank in batches, need neither.

    Raises
    ------
    ModelError
        When the folder holds no artifact, the card is unreadable, the artifact
        comes from an incompatible version, or ``model.joblib`` is not the file
        the card describes.
    """
    directory = Path(directory)
    card = read_card(directory)
    path = directory / MODEL_FILE
    try:
        digest = _sha256(path)
    except OSError:
        raise ModelError(f"{directory}: missing or unreadable {MODEL_FILE}") from None
    if digest != card.get("sha256"):
        raise ModelError(
            f"{path}: does not match its card (refusing to load a file Encore did not write)"
        )
    try:
        model = joblib.load(path)
    except Exception as err:  # a corrupt pickle can raise almost anything
        raise ModelError(f"{path}: corrupt model file ({type(err).__name__})") from None
    model.card = card
    return model


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_iso_time(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _major_minor(text: str) -> tuple[str, ...]:
    return tuple(text.split(".")[:2])


def _rounded(metrics: dict) -> dict:
    return {
        key: _rounded(value)
        if isinstance(value, dict)
        else round(value, 6)
        if isinstance(value, float)
        else value
        for key, value in metrics.items()
    }
