"""fragment.html and demo.html rendered as the service renders them (autoescape on), no browser."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest

import widget
from offers.translations import translator

TEMPLATES = Path(widget.__file__).parent / "templates"
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def offer(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "xs-1",
        "kind": "cross_sell",
        "title": "Camera bag",
        "body": "Fits your new camera.",
        "image_url": "https://shop.example/bag.jpg",
        "cta_label": "Add to order",
        "click_url": "http://encore.example/v1/click/TOKEN1",
        "token": "TOKEN1",
        "position": 1,
        "score": 0.12,
        "reason": "Often bought with cameras",
        **overrides,
    }


def fragment(offers: list[dict[str, Any]], **context: Any) -> str:
    values = {
        "request_id": "req1",
        "placement": "thank_you",
        "model_version": "m1",
        "csat": False,
        "lang": "en",
        "_": translator("en"),
    }
    return ENV.get_template("fragment.html").render(**{**values, **context}, offers=offers)


class Elements(HTMLParser):
    """Start tags with their attributes, and the text, of a rendered page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


def test_no_offers_and_no_question_render_nothing() -> None:
    assert fragment([], csat=False).strip() == ""


def test_the_question_alone_renders_without_offers() -> None:
    """A holdout customer's fragment: the CSAT question, no heading and no list."""
    parsed = Elements(fragment([], csat=True, csat_token="SIGNED"))
    assert parsed.find("section", **{"aria-label": "Your feedback"})
    assert parsed.find("div", **{"data-encore-csat": "SIGNED"})
    assert parsed.find("ul") == [] and parsed.find("h2") == []
    assert "How was your checkout?" in parsed.text


def test_offer_text_is_escaped_everywhere() -> None:
    hostile = '<img src=x onerror="alert(1)">'
    page = fragment([offer(title=hostile, body=hostile, reason=hostile, cta_label=hostile)])

    parsed = Elements(page)
    assert parsed.find("img", src="x") == []
    assert hostile in parsed.text
    assert parsed.find("button", **{"aria-label": f"Dismiss offer: {hostile}"})


def test_offer_markup_carries_what_the_snippet_wires() -> None:
    second = offer(
        id="xs-2", token="TOKEN2", position=2, click_url="http://encore.example/v1/click/TOKEN2"
    )
    parsed = Elements(fragment([offer(), second]))

    assert parsed.find("section", role="region", **{"aria-label": "Offers for you"})
    assert [a["data-encore-token"] for a in parsed.find("article")] == ["TOKEN1", "TOKEN2"]
    assert [a["href"] for a in parsed.find("a", **{"class": "encore-cta"})] == [
        "http://encore.example/v1/click/TOKEN1",
        "http://encore.example/v1/click/TOKEN2",
    ]
    assert len(parsed.find("button", type="button", **{"data-encore-dismiss": None})) == 2
    assert "Often bought with cameras" in parsed.text


@pytest.mark.parametrize(
    ("kind", "sponsored"),
    [
        pytest.param("partner", True, id="partner"),
        pytest.param("cross_sell", False, id="cross-sell"),
    ],
)
def test_partner_offers_are_labelled_sponsored(kind: str, sponsored: bool) -> None:
    parsed = Elements(fragment([offer(kind=kind)]))

    assert ("Sponsored" in parsed.text) is sponsored
    assert (parsed.find("a")[0].get("rel") == "sponsored noopener") is sponsored


@pytest.mark.parametrize(
    ("context", "token"),
    [
        pytest.param({"csat_token": "SIGNED"}, "SIGNED", id="signed-token"),
        pytest.param({}, "req1", id="request-id"),
    ],
)
def test_csat_question_is_rendered_only_when_asked(context: dict[str, str], token: str) -> None:
    parsed = Elements(fragment([offer()], csat=True, **context))

    assert parsed.find("div", **{"data-encore-csat": token})
    assert [
        a["data-encore-score"] for a in parsed.find("button", **{"class": "encore-score"})
    ] == list("12345")
    assert "How was your checkout?" in parsed.text
    assert Elements(fragment([offer()], csat=False)).find("div", **{"class": "encore-csat"}) == []


def test_templates_never_mark_offer_text_safe() -> None:
    for name in ("fragment.html", "demo.html"):
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        assert re.findall(r"\{\{[^}]*\|\s*safe", source) == [], name


def test_demo_page_passes_the_order_to_the_snippet_as_json() -> None:
    order = {
        "id": "O-1",
        "total": 42.5,
        "currency": "EUR",
        "country": "DE",
        "items": [
            {
                "sku": "S1",
                "title": "Rock 'n' roll </script><b>",
                "category": "Music",
                "price": 20.0,
                "quantity": 2,
            },
            {
                "sku": "S2",
                "title": 'Say "cheese" & smile',
                "category": "Photo",
                "price": 2.5,
                "quantity": 1,
            },
        ],
    }
    customer = {"id": "C-1", "is_returning": True}
    page = ENV.get_template("demo.html").render(
        publishable_key="pk_demo",
        order=order,
        customer=customer,
        script_url="http://encore.example/widget.js",
    )

    script = Elements(page).find("script", src="http://encore.example/widget.js")[0]
    assert json.loads(script["data-order"]) == order
    assert json.loads(script["data-customer"]) == customer
    assert script["data-key"] == "pk_demo"
    assert script["data-placement"] == "thank_you"
    assert "async" in script
    assert "Thank you for your order!" in Elements(page).text
