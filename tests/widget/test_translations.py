"""The widget's words in the shop's language: catalogs, locales, and what the API answers."""

import re
from pathlib import Path

import pytest

import widget
from offers.translations import CATALOGS, language_of
from ranker.reasons import MESSAGES
from tests.widget.conftest import auth

FRAGMENT = Path(widget.__file__).parent / "templates" / "fragment.html"


def fragment_messages() -> set[str]:
    """Every message the fragment words through ``_()``."""
    found = re.findall(r"""_\((?:"([^"]*)"|'([^']*)')\)""", FRAGMENT.read_text())
    return {double or single for double, single in found}


def in_german(english: str) -> str:
    """An English reason as the German catalog words it."""
    for message in MESSAGES:
        found = re.fullmatch(re.escape(message).replace(r"\{\}", "(.*)"), english)
        if found:
            return CATALOGS["de"][message].format(*found.groups())
    raise AssertionError(f"no reason message reads {english!r}")


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_each_catalog_words_exactly_the_messages_in_use(language):
    catalog = CATALOGS[language]

    assert set(catalog) == fragment_messages() | set(MESSAGES)
    assert [m for m, text in catalog.items() if text.count("{}") != m.count("{}")] == []


@pytest.mark.parametrize(
    ("locale", "language"),
    [("de", "de"), ("de-AT", "de"), ("FR_ca", "fr"), ("pt-BR", "en"), ("", "en"), ("en-GB", "en")],
)
def test_a_locale_is_read_for_its_language_else_english(locale, language):
    assert language_of(locale) == language


def test_rank_words_reasons_in_the_locale_of_the_page(client, rank_body):
    english = client.post("/v1/rank", json=rank_body(customer=None), headers=auth()).json()
    german = client.post(
        "/v1/rank", json=rank_body(customer=None, locale="de-DE"), headers=auth()
    ).json()

    assert [o["id"] for o in german["offers"]] == [o["id"] for o in english["offers"]]
    assert german["offers"]
    assert [o["reason"] for o in german["offers"]] == [
        in_german(o["reason"]) for o in english["offers"]
    ]


def test_the_fragment_speaks_the_page_language(client, rank_body):
    answer = client.post(
        "/v1/widget", json=rank_body(customer=None, locale="fr"), headers=auth()
    ).json()

    assert 'lang="fr"' in answer["html"]
    assert "Offres pour vous" in answer["html"]
    assert "Offers for you" not in answer["html"]
