import html
import json
import re

from offers.files import read_orders
from offers.holdout import in_holdout
from offers.store import Store
from tests.widget.conftest import PK, SHOP_ID


def _data(page: str, name: str) -> dict:
    return json.loads(html.unescape(re.search(f"data-{name}='([^']*)'", page).group(1)))


def test_demo_page_shows_a_real_order_with_the_snippet(client):
    response = client.get("/demo")

    page = response.text
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script async src="http://testserver/widget.js"' in page
    assert f'data-key="{PK}"' in page
    order, customer = _data(page, "order"), _data(page, "customer")
    assert order["items"] and all(
        set(item) == {"sku", "title", "category", "price", "quantity"} for item in order["items"]
    )
    assert order["total"] == round(sum(i["price"] * i["quantity"] for i in order["items"]), 2)
    assert set(customer) == {"id", "is_returning"}


def test_service_pages_name_an_inline_icon_so_browsers_ask_for_no_favicon(client):
    pages = [client.get("/demo").text, client.get("/admin/login").text]

    assert client.get("/favicon.ico").status_code == 404
    assert all('<link rel="icon" href="data:,">' in page for page in pages)


def test_demo_page_shows_the_order_asked_for_with_when_it_was_placed(client, shop_data):
    first_line = shop_data.orders.iloc[0]

    page = client.get("/demo", params={"order": first_line["order_id"]}).text

    order = _data(page, "order")
    assert (order["id"], order["ordered_at"]) == (first_line["order_id"], first_line["ordered_at"])


def test_demo_page_of_an_unknown_order_is_404(client):
    response = client.get("/demo", params={"order": "nope"})

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no order `nope` in the demo shop"


def test_demo_page_is_only_served_by_the_demo(make_client):
    client = make_client(extra={"demo": False})

    response = client.get("/demo")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "the demo page is served by `encore demo` only"


def test_the_demo_order_ranks(client):
    page = client.get("/demo").text
    body = {"key": PK, "order": _data(page, "order"), "customer": _data(page, "customer")}

    response = client.post("/v1/widget", json=body, headers={"Origin": "http://testserver"})

    assert response.status_code == 200


def test_a_random_demo_order_is_never_a_holdout_customers(make_client):
    client = make_client(holdout_share=0.5)

    customers = {_data(client.get("/demo").text, "customer")["id"] for _ in range(20)}

    assert not any(in_holdout(customer, 0.5) for customer in customers)


def test_a_demo_order_sold_by_weight_shows_and_ranks_its_quantities_as_stored(
    make_client, database_url, write_file
):
    orders = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,quantity,price\n"
        "W1,C-kg,2026-10-30 10:00,FLOUR,0.5,4.00\nW1,C-kg,2026-10-30 10:00,SALT,2,1.50\n",
    )
    store = Store.open(database_url)
    store.save_order_lines(SHOP_ID, read_orders(orders))
    store.close()
    client = make_client()

    order = _data(client.get("/demo", params={"order": "W1"}).text, "order")
    body = {"key": PK, "order": order, "customer": {"id": "C-kg", "is_returning": False}}
    response = client.post("/v1/widget", json=body, headers={"Origin": "http://testserver"})

    assert [(item["sku"], item["quantity"]) for item in order["items"]] == [
        ("FLOUR", 0.5),
        ("SALT", 2),
    ]
    assert type(order["items"][1]["quantity"]) is int  # shown as 2, not 2.0
    assert order["total"] == 5.0
    assert response.status_code == 200
