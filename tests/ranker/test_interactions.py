from ranker.interactions import from_lines
from ranker.splits import next_order_task


def test_a_customers_orders_placed_at_one_moment_are_one_checkout(make_lines) -> None:
    log = from_lines(
        make_lines(
            [
                ("o1", "c1", 5, "A"),  # a marketplace's checkout, split into an order a line
                ("o2", "c1", 5, "B"),
                ("o3", "c1", 5, "A"),  # the same sku from a second seller
                ("o4", "c2", 5, "A"),  # another customer at the same moment
                ("o5", "c1", 6, "C"),
            ]
        )
    )

    assert log.n_orders == 3
    assert log.customers[log.order_customer].tolist() == ["c1", "c2", "c1"]
    assert sorted(log.skus[log.sku[log.order == 0]].tolist()) == ["A", "B"]


def test_an_order_a_line_export_gives_the_queries_of_whole_orders(make_lines) -> None:
    rows = [("o0", "c1", 0, "A"), ("o1", "c1", 5, "B"), ("o1", "c1", 5, "C"), ("o2", "c1", 9, "D")]
    by_line = [(f"{order}-{sku}", customer, day, sku) for order, customer, day, sku in rows]
    whole, split = from_lines(make_lines(rows)), from_lines(make_lines(by_line))

    tasks = [next_order_task(log, cut=8.0 + log.order_time[0]) for log in (whole, split)]

    baskets = [
        log.skus[task.queries.basket_sku].tolist()
        for log, task in zip((whole, split), tasks, strict=True)
    ]
    assert baskets == [["B", "C"], ["B", "C"]]
