"""The feedback model measured on impressions it did not learn from.

The click model is fitted on the log's earlier impressions and predicts the clicks
of the later ones (the last ``test_fraction`` of the period, by ``shown_at``), each
at its logged offer, position and context, against two baselines fitted on the same
earlier impressions: the overall click rate, and each offer's click rate at each
position (smoothed towards the overall rate by ``PRIOR_IMPRESSIONS``). Log loss
(lower is better) and ROC AUC (0.5 is chance) on the later impressions go into the
model card under ``feedback``.
"""

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from ranker.feedback import fit_click_model

PRIOR_IMPRESSIONS = 20.0
_CLIP = 1e-6  # a baseline's rate of 0 or 1 would make one surprise an infinite loss


def evaluate_feedback(impressions: pd.DataFrame, test_fraction: float = 0.2) -> dict | None:
    """Held-out figures of the click model and its baselines; None when the log's period
    cannot be split in two (all impressions at one time).

    Parameters
    ----------
    impressions : DataFrame of shape (n_impressions, n_columns)
        As read by :func:`offers.files.read_impressions`.
    test_fraction : float, default=0.2
        Share of the log's period held out.

    Returns
    -------
    dict or None
        ``split_at``, ``train_impressions``, ``test_impressions``, ``test_clicks``, and
        ``log_loss`` and ``auc`` (None when the later impressions hold no click, or only
        clicks), each by ``model``, ``overall_ctr`` and ``offer_position_ctr``.
    """
    shown = impressions["shown_at"]
    split = shown.min() + (shown.max() - shown.min()) * (1 - test_fraction)
    train, test = impressions[shown < split], impressions[shown >= split]
    if not len(train) or not len(test):
        return None
    overall = float(train["clicked"].mean())
    predicted = {
        "model": fit_click_model(train).click_probability(test),
        "overall_ctr": np.full(len(test), overall),
        "offer_position_ctr": _offer_position_ctr(train, test, overall),
    }
    clicked = test["clicked"].to_numpy()
    both_kinds = len(np.unique(clicked)) == 2
    return {
        "split_at": split.isoformat(timespec="seconds") + "Z",  # UTC, as the card's others
        "train_impressions": len(train),
        "test_impressions": len(test),
        "test_clicks": int(clicked.sum()),
        "log_loss": {
            name: round(float(log_loss(clicked, np.clip(p, _CLIP, 1 - _CLIP), labels=[0, 1])), 4)
            for name, p in predicted.items()
        },
        "auc": (
            {name: round(float(roc_auc_score(clicked, p)), 4) for name, p in predicted.items()}
            if both_kinds
            else None
        ),
    }


def _offer_position_ctr(train: pd.DataFrame, test: pd.DataFrame, overall: float) -> np.ndarray:
    keys = ["offer_id", "position"]
    rates = train.groupby(keys)["clicked"].agg(["sum", "count"])
    smoothed = (rates["sum"] + PRIOR_IMPRESSIONS * overall) / (rates["count"] + PRIOR_IMPRESSIONS)
    looked_up = test[keys].merge(
        smoothed.rename("rate"), left_on=keys, right_index=True, how="left"
    )
    return looked_up["rate"].fillna(overall).to_numpy()
