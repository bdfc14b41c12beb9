"""The short human reason shown with an offer ("Often bought with Trail Shoes").

A reason is kept as ``(message, subject)``: the English pattern and what goes in
its ``{}`` (a product title, a category). Only the few offers shown are worded,
in English (:func:`wording`) or, for a page in another language, through a
translation of the message (:mod:`offers.translations`).
"""

from collections.abc import Callable

PICKED_FOR_ORDER = "Picked for your order"
POPULAR_IN = "Popular in {}"
POPULAR_NOW = "Popular right now"
GOES_WITH = "Goes with your {}"
TIME_TO_RESTOCK = "Time to restock {}"
BOUGHT_WITH = "Often bought with {}"
BUY_AGAIN = "Buy {} again"
MESSAGES = (
    PICKED_FOR_ORDER,
    POPULAR_IN,
    POPULAR_NOW,
    GOES_WITH,
    TIME_TO_RESTOCK,
    BOUGHT_WITH,
    BUY_AGAIN,
)

Reason = tuple[str, str]
"""(message, subject)."""


def popular_in(category: str) -> Reason:
    """Popular in the offer's category, or popular overall when it has none."""
    return (POPULAR_IN, category) if category else (POPULAR_NOW, "")


def wording(reason: Reason, translate: Callable[[str], str] | None = None) -> str:
    """The reason as text: in English, or with its message looked up by ``translate``."""
    message, subject = reason
    return (translate(message) if translate else message).format(subject)
