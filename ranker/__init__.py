"""The relevance model and the selection policy: which few offers to show for one order.

The request-time surface used by the service is re-exported here; training,
evaluation and the CLI live in their own modules (``ranker.train``,
``ranker.evaluate``, ``ranker.commands``).
"""

from ranker.artifact import ModelError, load_model
from ranker.fallback import popularity_model
from ranker.model import OfferScores, RankContext, RelevanceModel
from ranker.policy import Selection, SelectionPolicy

__all__ = [
    "ModelError",
    "OfferScores",
    "RankContext",
    "RelevanceModel",
    "Selection",
    "SelectionPolicy",
    "load_model",
    "popularity_model",
]
