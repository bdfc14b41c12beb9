"""What shoppers read, in the shop's language: the widget's words and the offers' reasons.

A rank body may name a ``locale`` (BCP 47: ``de``, ``de-AT``, ``pt_BR``); the snippet
sends the page's ``<html lang>`` unless told otherwise. Its language, when one of
these catalogs has it, words the fragment (heading, labels, the CSAT question) and
each offer's reason (in ``/v1/rank``, ``/v1/widget`` and ``encore recommend``); any
other locale, or none, gets English. Offer text (title, body, CTA label) is the
shop's own and shown as written.

Catalogs are keyed by the English message, gettext-style, and a test holds each
one to exactly the messages the fragment and :mod:`ranker.reasons` use.
"""

from collections.abc import Callable

Translate = Callable[[str], str]

CATALOGS: dict[str, dict[str, str]] = {
    "de": {
        "Offers for you": "Angebote für Sie",
        "Your feedback": "Ihr Feedback",
        "Sponsored": "Gesponsert",
        "See offer": "Zum Angebot",
        "Dismiss offer: {}": "Angebot ausblenden: {}",
        "Offer dismissed": "Angebot ausgeblendet",
        "How was your checkout?": "Wie war Ihr Bestellvorgang?",
        "{} out of 5": "{} von 5",
        "Thanks for your feedback!": "Danke für Ihr Feedback!",
        "Picked for your order": "Passend zu Ihrer Bestellung",
        "Popular in {}": "Beliebt in {}",
        "Popular right now": "Gerade beliebt",
        "Goes with your {}": "Passt zu: {}",
        "Time to restock {}": "Zeit, {} nachzukaufen",
        "Often bought with {}": "Oft zusammen gekauft mit {}",
        "Buy {} again": "{} erneut kaufen",
    },
    "es": {
        "Offers for you": "Ofertas para ti",
        "Your feedback": "Tu opinión",
        "Sponsored": "Patrocinado",
        "See offer": "Ver oferta",
        "Dismiss offer: {}": "Descartar oferta: {}",
        "Offer dismissed": "Oferta descartada",
        "How was your checkout?": "¿Qué tal fue tu compra?",
        "{} out of 5": "{} de 5",
        "Thanks for your feedback!": "¡Gracias por tu opinión!",
        "Picked for your order": "Elegido para tu pedido",
        "Popular in {}": "Popular en {}",
        "Popular right now": "Popular ahora",
        "Goes with your {}": "Combina con: {}",
        "Time to restock {}": "Hora de reponer {}",
        "Often bought with {}": "Comprado a menudo con {}",
        "Buy {} again": "Vuelve a comprar {}",
    },
    "fr": {
        "Offers for you": "Offres pour vous",
        "Your feedback": "Votre avis",
        "Sponsored": "Sponsorisé",
        "See offer": "Voir l'offre",
        "Dismiss offer: {}": "Masquer l'offre : {}",
        "Offer dismissed": "Offre masquée",
        "How was your checkout?": "Comment s'est passée votre commande ?",
        "{} out of 5": "{} sur 5",
        "Thanks for your feedback!": "Merci pour votre avis !",
        "Picked for your order": "Choisi pour votre commande",
        "Popular in {}": "Populaire dans {}",
        "Popular right now": "Populaire en ce moment",
        "Goes with your {}": "Va avec : {}",
        "Time to restock {}": "Il est temps de racheter {}",
        "Often bought with {}": "Souvent acheté avec {}",
        "Buy {} again": "Racheter {}",
    },
    "it": {
        "Offers for you": "Offerte per te",
        "Your feedback": "La tua opinione",
        "Sponsored": "Sponsorizzato",
        "See offer": "Vedi l'offerta",
        "Dismiss offer: {}": "Nascondi offerta: {}",
        "Offer dismissed": "Offerta nascosta",
        "How was your checkout?": "Com'è andato il tuo acquisto?",
        "{} out of 5": "{} su 5",
        "Thanks for your feedback!": "Grazie per la tua opinione!",
        "Picked for your order": "Scelto per il tuo ordine",
        "Popular in {}": "Popolare in {}",
        "Popular right now": "Popolare in questo momento",
        "Goes with your {}": "Si abbina a: {}",
        "Time to restock {}": "È ora di riacquistare {}",
        "Often bought with {}": "Spesso acquistato con {}",
        "Buy {} again": "Acquista di nuovo {}",
    },
    "nl": {
        "Offers for you": "Aanbiedingen voor jou",
        "Your feedback": "Jouw feedback",
        "Sponsored": "Gesponsord",
        "See offer": "Bekijk aanbieding",
        "Dismiss offer: {}": "Aanbieding verbergen: {}",
        "Offer dismissed": "Aanbieding verborgen",
        "How was your checkout?": "Hoe verliep het afrekenen?",
        "{} out of 5": "{} van 5",
        "Thanks for your feedback!": "Bedankt voor je feedback!",
        "Picked for your order": "Gekozen bij je bestelling",
        "Popular in {}": "Populair in {}",
        "Popular right now": "Nu populair",
        "Goes with your {}": "Past bij: {}",
        "Time to restock {}": "Tijd om {} bij te kopen",
        "Often bought with {}": "Vaak gekocht met {}",
        "Buy {} again": "{} opnieuw kopen",
    },
}
ENGLISH = "en"


def language_of(locale: str) -> str:
    """The catalog's language for ``locale`` (``de-AT`` -> ``de``); English when none has it."""
    language = locale.replace("_", "-").partition("-")[0].strip().lower()
    return language if language in CATALOGS else ENGLISH


def translator(language: str) -> Translate:
    """Looks a message up in ``language``'s catalog; English messages are their own text."""
    catalog = CATALOGS.get(language)
    if catalog is None:
        return _as_written
    return lambda message: catalog.get(message, message)


def _as_written(message: str) -> str:
    return message
