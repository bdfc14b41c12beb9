"""`encore train`, `evaluate` and `recommend` end to end, and their one-line errors."""

import codecs
import json
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from offers.files import read_orders
from offers.identity import customer_key
from offers.translations import translator
from ranker.artifact import load_model
from ranker.model import RelevanceModel
from ranker.reasons import MESSAGES
from widget.cli import main


@pytest.fixture(scope="module")
def rank_bodies(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop's last 40 orders as /v1/rank bodies, one JSON line each."""
    orders = pd.read_csv(shop_dir / "orders.csv", dtype=str)
    orders = orders[orders["quantity"].astype(int) > 0]
    path = tmp_path_factory.mktemp("bodies") / "orders.jsonl"
    lines = []
    for order_id, group in list(orders.groupby("order_id", sort=True))[-40:]:
        items = [
            {
                "sku": r.sku,
                "category": r.category,
                "price": float(r.price),
                "quantity": int(r.quantity),
            }
            for r in group.itertuples()
        ]
        body = {
            "order": {"id": order_id, "ordered_at": group["ordered_at"].iloc[0], "items": items},
            "customer": {"id": group["customer_id"].iloc[0]},
            "key": "pk_ignored",
        }
        lines.append(json.dumps(body))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_train_writes_an_artifact_and_prints_the_comparison(
    shop_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "model"
    status = main(
        [
            "train",
            "--orders",
            str(shop_dir / "orders.csv"),
            "--products",
            str(shop_dir / "products.csv"),
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == ["card.json", "model.joblib"]
    for row in ("model", "popularity", "co_occurrence", "history", "model vs best baseline"):
        assert row in printed
    n_returns = len(read_orders(shop_dir / "orders.csv").returns)
    (summary,) = [line for line in printed.splitlines() if line.startswith("read ")]
    assert f"skus, {n_returns} returns" in summary and n_returns > 0
    assert (
        f"wrote {out} (version {json.loads((out / 'card.json').read_text())['version']})" in printed
    )


def test_train_says_how_many_impression_rows_it_used_and_why_others_were_skipped(
    shop_dir: Path, tmp_path: Path, capsys
) -> None:
    rows = (shop_dir / "impressions.csv").read_text().splitlines()
    header, first = rows[0].split(","), rows[1].split(",")
    no_date = dict(zip(header, first, strict=True)) | {"shown_at": "someday"}
    zero_propensity = dict(zip(header, first, strict=True)) | {"propensity": "0"}
    broken = [",".join(row[name] for name in header) for row in (no_date, zero_propensity)]
    impressions = tmp_path / "impressions.csv"
    impressions.write_text("\n".join([*rows, *broken]) + "\n")

    status = main(
        [
            "train",
            "--orders",
            str(shop_dir / "orders.csv"),
            "--impressions",
            str(impressions),
            "--out",
            str(tmp_path / "model"),
        ]
    )

    printed = capsys.readouterr().out.splitlines()
    (line,) = [line for line in printed if line.startswith("impr")]
    assert status == 0
    assert line.startswith(
        f"impressions.csv: {len(rows) + 1} rows read, {len(rows) - 1} used (skipped: "
    )
    assert "unreadable shown_at: 1" in line and "propensity not in (0, 1]: 1" in line
    feedback = json.loads((tmp_path / "model" / "card.json").read_text())["feedback"]
    assert feedback["train_impressions"] + feedback["test_impressions"] == len(rows) - 1
    (held_out,) = [line for line in printed if line.startswith("click model on the")]
    assert held_out.startswith(f"click model on the {feedback['test_impressions']} impressions")
    (losses,) = [line for line in printed if line.startswith("log loss: model")]
    assert f"overall_ctr {feedback['log_loss']['overall_ctr']:.4f}" in losses
    assert "cross-sells: not moved by their own clicks (give --offers to say which they are)" in (
        printed
    )


def test_train_with_the_offers_says_how_many_cross_sells_learned_from_their_clicks(
    shop_dir: Path, tmp_path: Path, capsys
) -> None:
    status = main(
        [
            "train",
            "--orders",
            str(shop_dir / "orders.csv"),
            "--impressions",
            str(shop_dir / "impressions.csv"),
            "--offers",
            str(shop_dir / "offers.json"),
            "--out",
            str(tmp_path / "model"),
        ]
    )

    model = load_model(tmp_path / "model")
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "own clicks" in line]
    assert status == 0
    assert model.feedback.cross_sell_weights
    assert (
        line == f"cross-sells moved by their own clicks: {len(model.feedback.cross_sell_weights)}"
    )


def test_train_keeps_no_email_of_its_files_in_the_model_or_its_card(
    shop_dir: Path, tmp_path: Path, capsys
) -> None:
    files = {}
    for name in ("orders", "products", "impressions"):
        table = pd.read_csv(shop_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        if name == "impressions":
            table["ctx_cy@corp.example"] = table["ctx_device"]
        else:
            table["title"] += " by ann@shop.example"
            table["category"] += " bob@corp.example"
            table["gift@shop.example"] = "1"
        files[name] = tmp_path / f"{name}.csv"
        table.to_csv(files[name], index=False)
    out = tmp_path / "model"

    status = main(["train", *(f"--{n}={path}" for n, path in files.items()), f"--out={out}"])

    capsys.readouterr()
    model = load_model(out)
    kept = pickle.dumps(model) + (out / "card.json").read_bytes()
    assert status == 0
    assert f"ctx_{customer_key('cy@corp.example')}" in model.feedback.mean_weights
    for domain in ("@shop.example", "@corp.example"):
        assert domain.encode() not in kept and domain.encode("utf-32-le") not in kept


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_evaluate_refuses_a_history_where_no_customer_returns(
    model_dir: Path, tmp_path: Path, capsys, as_json: bool
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,ordered_at,sku\n"
        + "".join(f"o{n},c{n},2026-11-{n + 1:02d},s{n % 3}\n" for n in range(20))
    )

    status = main(
        ["evaluate", "--model", str(model_dir), "--orders", str(orders)]
        + (["--json"] if as_json else [])
    )

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err == (
        "encore evaluate: error: orders.csv: nothing to score: no customer who ordered "
        "before the split (2026-11-16T04:48:00Z) bought a product after it that their "
        "last order before it did not hold\n"
    )


def test_evaluate_says_which_rows_it_could_not_score(model_dir: Path, tmp_path: Path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,ordered_at,sku\n"
        + "".join(f"o{n},c{n % 5},2026-11-{n + 1:02d},s{n % 3}\n" for n in range(20))
        + "o99,,2026-11-21,s1\no98,c1,someday,s2\n"
    )

    main(["evaluate", "--model", str(model_dir), "--orders", str(orders)])
    text = capsys.readouterr().out
    main(["evaluate", "--model", str(model_dir), "--orders", str(orders), "--json"])
    read = json.loads(capsys.readouterr().out)["read"]

    assert text.splitlines()[0] == (
        "read 22 rows: 20 order lines, 0 returns "
        "(skipped: no customer id: 1, unreadable ordered_at: 1)"
    )
    assert read == {
        "rows": 22,
        "order_lines": 20,
        "returns": 0,
        "kept": {},
        "skipped": {"no customer id": 1, "unreadable ordered_at": 1},
    }


def _with_a_row_dated(source: Path, target: Path, column: str, moment: str) -> Path:
    """``source`` and one more row, a copy of its first with ``column`` set to ``moment``."""
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    typo = table.iloc[[0]].assign(**{column: moment})
    if "order_id" in table:
        typo = typo.assign(order_id="TYPO")
    pd.concat([table, typo]).to_csv(target, index=False)
    return target


def test_a_year_typed_wrong_in_one_order_or_impression_does_not_move_training_s_splits(
    shop_dir: Path, trained_model: RelevanceModel, tmp_path: Path, capsys
) -> None:
    """One line dated 2062 in a 2026 history put the test split in 2061: metrics on one
    customer, every figure 0, and the model written as if all were well."""
    orders = _with_a_row_dated(
        shop_dir / "orders.csv", tmp_path / "orders.csv", "ordered_at", "2062-03-01T10:00:00Z"
    )
    impressions = _with_a_row_dated(
        shop_dir / "impressions.csv", tmp_path / "impressions.csv", "shown_at", "2099-01-05"
    )
    args = ["--orders", str(orders), "--impressions", str(impressions)]

    status = main(
        ["train", *args, "--offers", str(shop_dir / "offers.json")]
        + ["--out", str(tmp_path / "model")]
    )

    printed = capsys.readouterr().out.splitlines()
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert status == 0
    assert card["metrics"]["split_at"] == trained_model.card["metrics"]["split_at"]
    assert card["metrics"]["n_queries"] == trained_model.card["metrics"]["n_queries"]
    assert card["feedback"]["split_at"] == trained_model.card["feedback"]["split_at"]
    assert "dated after now (latest 2062-03-01): 1" in printed[0]
    (line,) = [line for line in printed if line.startswith("impressions.csv")]
    assert line.endswith("(skipped: dated after now (latest 2099-01-05): 1)")


def test_evaluate_skips_orders_dated_after_now(
    model_dir: Path, shop_dir: Path, tmp_path: Path, capsys
) -> None:
    orders = _with_a_row_dated(
        shop_dir / "orders.csv", tmp_path / "orders.csv", "ordered_at", "2062-03-01T10:00:00Z"
    )

    assert main(["evaluate", "--model", str(model_dir), "--orders", str(orders), "--json"]) == 0

    printed = json.loads(capsys.readouterr().out)
    card = json.loads((model_dir / "card.json").read_text())
    assert printed["split_at"] == card["metrics"]["split_at"]
    assert printed["read"]["skipped"] == {"dated after now (latest 2062-03-01)": 1}


def test_a_failed_training_leaves_no_empty_out_folder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "models" / "v1"

    status = main(["train", "--orders", str(tmp_path / "none.csv"), "--out", str(out)])

    assert status == 2
    assert not out.exists()


def test_evaluate_prints_json_metrics(model_dir: Path, shop_dir: Path, capsys) -> None:
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(model_dir),
                "--orders",
                str(shop_dir / "orders.csv"),
                "--json",
            ]
        )
        == 0
    )
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["k"] == 3
    assert set(metrics["history"]) == {"hit_rate_at_k", "recall_at_k", "ndcg_at_k"}


def test_recommend_prints_one_line_per_order_never_a_basket_sku(
    model_dir: Path, rank_bodies: Path, capsys
) -> None:
    assert (
        main(["recommend", "--model", str(model_dir), "--input", str(rank_bodies), "--k", "4"]) == 0
    )
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    bodies = [json.loads(line) for line in rank_bodies.read_text().splitlines()]
    assert [r["order_id"] for r in results] == [b["order"]["id"] for b in bodies]
    for result, body in zip(results, bodies, strict=True):
        basket = {item["sku"] for item in body["order"]["items"]}
        assert len(result["skus"]) == 4
        assert not basket & set(result["skus"])
        assert len(result["offers"]) <= 3
        assert all(
            set(o) == {"id", "kind", "title", "score", "probability", "reason"}
            for o in result["offers"]
        )


def test_recommend_words_reasons_in_the_body_s_locale_as_the_api_does(
    model_dir: Path, rank_bodies: Path, tmp_path: Path, capsys
) -> None:
    bodies = [json.loads(line) for line in rank_bodies.read_text().splitlines()]
    german = tmp_path / "de.jsonl"
    german.write_text("".join(json.dumps({**body, "locale": "de-AT"}) + "\n" for body in bodies))
    translate = translator("de")

    assert main(["recommend", "--model", str(model_dir), "--input", str(rank_bodies)]) == 0
    english = [json.loads(line)["offers"] for line in capsys.readouterr().out.splitlines()]
    assert main(["recommend", "--model", str(model_dir), "--input", str(german)]) == 0
    in_german = [json.loads(line)["offers"] for line in capsys.readouterr().out.splitlines()]

    german_reason = re.compile(
        "|".join(re.escape(translate(m)).replace(r"\{\}", ".+") for m in MESSAGES)
    )
    pairs = [
        (e, g)
        for offers, translated in zip(english, in_german, strict=True)
        for e, g in zip(offers, translated, strict=True)
    ]
    assert pairs
    assert all(e["id"] == g["id"] for e, g in pairs)
    assert all(german_reason.fullmatch(g["reason"]) for _, g in pairs)
    assert all(e["reason"] != g["reason"] for e, g in pairs)


def test_recommend_scores_a_large_catalog_s_cross_sells_only_among_likely_skus(
    model_dir: Path, rank_bodies: Path, monkeypatch, capsys
) -> None:
    # Past the bound, as in the service: no likely sku leaves the partner offers alone.
    monkeypatch.setattr("ranker.commands.MAX_SCORED_OFFERS", 0)
    monkeypatch.setattr(RelevanceModel, "likely_skus", lambda self, context: frozenset())

    assert main(["recommend", "--model", str(model_dir), "--input", str(rank_bodies)]) == 0
    offers = [
        o for line in capsys.readouterr().out.splitlines() for o in json.loads(line)["offers"]
    ]
    assert offers
    assert {o["kind"] for o in offers} == {"partner"}


def test_recommend_into_a_reader_that_stops_early_ends_quietly(
    model_dir: Path, rank_bodies: Path, tmp_path: Path
) -> None:
    """`encore recommend ... | head -1`: no error, no traceback, once the reader is gone."""
    many = tmp_path / "many.jsonl"
    many.write_text(rank_bodies.read_text() * 25)  # 1,000 lines: more than a pipe holds
    command = [sys.executable, "-m", "widget.cli", "recommend", "--model", str(model_dir)]
    with subprocess.Popen(
        [*command, "--input", str(many)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        first = process.stdout.readline()
        process.stdout.close()  # as `head -1` does
        errors = process.stderr.read()

    assert json.loads(first)["skus"]
    assert errors == b""
    assert process.returncode == 141


def test_recommend_reads_input_saved_with_a_byte_order_mark(
    model_dir: Path, rank_bodies: Path, tmp_path: Path, capsys
) -> None:
    with_bom = tmp_path / "bom.jsonl"
    with_bom.write_bytes(codecs.BOM_UTF8 + rank_bodies.read_bytes())
    assert main(["recommend", "--model", str(model_dir), "--input", str(rank_bodies)]) == 0
    plain = capsys.readouterr().out
    assert main(["recommend", "--model", str(model_dir), "--input", str(with_bom)]) == 0
    assert capsys.readouterr().out == plain


def test_recommend_reads_a_line_as_a_shop_template_writes_it(
    model_dir: Path, rank_bodies: Path, tmp_path: Path, capsys
) -> None:
    clean = json.loads(rank_bodies.read_text().splitlines()[0])
    clean["order"]["id"] = "5001"
    templated = json.loads(json.dumps(clean))
    templated["order"]["id"] = 5001
    for item in templated["order"]["items"]:
        item.update(price=str(item["price"]), quantity=str(item["quantity"]), title=None)
    lines = tmp_path / "lines.jsonl"
    lines.write_text(json.dumps(clean) + "\n" + json.dumps(templated) + "\n")

    assert main(["recommend", "--model", str(model_dir), "--input", str(lines)]) == 0
    from_clean, from_template = capsys.readouterr().out.splitlines()
    assert from_template == from_clean
    assert json.loads(from_template)["order_id"] == "5001"


def test_recommend_prints_an_order_numbered_by_email_as_the_digest_the_store_keeps(
    model_dir: Path, rank_bodies: Path, tmp_path: Path, capsys
) -> None:
    body = json.loads(rank_bodies.read_text().splitlines()[0])
    body["order"]["id"] = "Jane.Doe@Example.com"
    line = tmp_path / "line.jsonl"
    line.write_text(json.dumps(body) + "\n")

    assert main(["recommend", "--model", str(model_dir), "--input", str(line)]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed)["order_id"] == customer_key("jane.doe@example.com")
    assert "example" not in printed.lower()


_INPUT_FILES = {  # placeholder in the arguments: (file name, content)
    "bad_orders": ("bad.csv", b"order_id,customer_id,ordered_at\no1,c1,2025-01-01\n"),
    "bad_jsonl": (
        "bad.jsonl",
        b'{"order": {"id": "a", "items": []}}\n{"customer": {"id": "c"}}\n',
    ),
    "one_moment": (
        "one_moment.csv",
        b"order_id,customer_id,ordered_at,sku\n"
        + b"".join(b"o%d,c%d,2025-01-01T09:30:00Z,s%d\n" % (n, n % 2, n) for n in range(3)),
    ),
    "two_orders": (
        "two_orders.csv",
        b"order_id,customer_id,ordered_at,sku\no1,c1,2025-01-01,s1\no2,c1,2025-01-05,s2\n",
    ),
    "not_utf8_jsonl": ("not_utf8.jsonl", b'{"order": {"id": "\xff", "items": []}}\n'),
    "deep_jsonl": ("deep.jsonl", b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}\n"),
    "zipped_jsonl": ("orders.jsonl.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
    "undated_jsonl": (
        "undated.jsonl",
        b'{"order": {"ordered_at": "last Tuesday", "items": [{"sku": "s1"}]}}\n',
    ),
    "blank_jsonl": ("blank.jsonl", b"\n  \n"),
    "header_only": ("header_only.csv", b"order_id,customer_id,ordered_at,sku\n"),
    "no_purchase": (
        "no_purchase.csv",
        b"order_id,customer_id,ordered_at,sku,quantity\n"
        b"o1,c1,2025-01-01,s1,-1\no2,c1,2025-01-02,s2,0\no3,c2,someday,s3,1\n",
    ),
    "bad_impressions": (
        "impressions.csv",
        b"request_id,shown_at,customer_id,placement,offer_id,position,propensity,clicked,converted\n"
        b"r1,yesterday,c1,thank_you,o1,1,0.5,0,0\n",
    ),
}

_ALL_AT_ONE_MOMENT = (
    "every order was placed at 2025-01-01T09:30:00Z: training and evaluation hold out "
    "the latest orders, so they need orders placed at different times"
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["train", "--orders", "{bad_orders}", "--out", "{tmp}/m"],
            "encore train: error: bad.csv: missing required column `sku`",
            id="train-missing-column",
        ),
        pytest.param(
            ["train", "--orders", "{tmp}/none.csv", "--out", "{tmp}/m"],
            "encore train: error: none.csv: no such file",
            id="train-no-file",
        ),
        pytest.param(
            ["train", "--orders", "{two_orders}", "--out", "{bad_orders}"],
            "encore train: error: --out {bad_orders}: exists and is not a folder",
            id="train-out-is-a-file",
        ),
        pytest.param(
            ["train", "--orders", "{header_only}", "--out", "{tmp}/m"],
            "encore train: error: header_only.csv: no usable order lines",
            id="train-header-only",
        ),
        pytest.param(
            ["train", "--orders", "{two_orders}", "--impressions", "{bad_impressions}"]
            + ["--out", "{tmp}/m"],
            "encore train: error: impressions.csv: no usable rows (unreadable shown_at: 1)",
            id="train-impressions-unusable",
        ),
        pytest.param(
            ["train", "--orders", "{no_purchase}", "--out", "{tmp}/m"],
            "encore train: error: no_purchase.csv: no usable order lines "
            "(returns: 2, unreadable ordered_at: 1)",
            id="train-no-purchase-says-what-the-rows-were",
        ),
        pytest.param(
            ["evaluate", "--model", "{model}", "--orders", "{no_purchase}"],
            "encore evaluate: error: no_purchase.csv: no usable order lines "
            "(returns: 2, unreadable ordered_at: 1)",
            id="evaluate-no-purchase-says-what-the-rows-were",
        ),
        pytest.param(
            ["evaluate", "--model", "{model}", "--orders", "{header_only}"],
            "encore evaluate: error: header_only.csv: no usable order lines",
            id="evaluate-header-only",
        ),
        pytest.param(
            ["train", "--orders", "{two_orders}", "--out", "{bad_orders}/m"],
            "encore train: error: {bad_orders}/m: Not a directory",
            id="train-out-under-a-file-fails-before-training",
        ),
        pytest.param(
            ["train", "--orders", "{one_moment}", "--out", "{tmp}/m"],
            "encore train: error: " + _ALL_AT_ONE_MOMENT,
            id="train-orders-all-at-one-moment",
        ),
        pytest.param(
            ["train", "--orders", "{two_orders}", "--out", "{tmp}/m"],
            "encore train: error: no customer placed two orders before the held-out period "
            "(customers: 1, orders: 1): the model learns what customers buy in a later order; "
            "without a model, `encore serve` ranks by popularity (orders from "
            "2025-01-01T00:00:00Z to 2025-01-05T00:00:00Z, held out from 2025-01-04T04:48:00Z)",
            id="train-two-orders",
        ),
        pytest.param(
            ["evaluate", "--model", "{model}", "--orders", "{one_moment}"],
            "encore evaluate: error: " + _ALL_AT_ONE_MOMENT,
            id="evaluate-orders-all-at-one-moment",
        ),
        pytest.param(
            ["evaluate", "--model", "{tmp}", "--orders", "{bad_orders}"],
            "encore evaluate: error: {tmp}: no model here (missing card.json)",
            id="evaluate-no-model",
        ),
        pytest.param(
            ["evaluate", "--model", "{model}", "--orders", "{bad_orders}", "--k", "0"],
            "encore evaluate: error: --k must be between 1 and 1000, got 0",
            id="evaluate-bad-k",
        ),
        pytest.param(
            ["evaluate", "--model", "{model}", "--orders", "{bad_orders}", "--k", "999999999999"],
            "encore evaluate: error: --k must be between 1 and 1000, got 999999999999",
            id="evaluate-k-beyond-memory",
        ),
        pytest.param(
            ["recommend", "--model", "{model}", "--input", "{bad_jsonl}"],
            "encore recommend: error: bad.jsonl: line 2: Object missing required field `order`",
            id="recommend-bad-line",
        ),
        pytest.param(
            ["recommend", "--model", "{model}", "--input", "{not_utf8_jsonl}"],
            "encore recommend: error: not_utf8.jsonl: line 1: not UTF-8 text (byte 0xff)",
            id="recommend-not-utf8",
        ),
        pytest.param(
            ["recommend", "--model", "{model}", "--input", "{deep_jsonl}"],
            "encore recommend: error: deep.jsonl: line 1: "
            "nested too deeply (arrays or objects over ~1,000 levels)",
            id="recommend-deep",
        ),
        pytest.param(
            ["recommend", "--model", "{model}", "--input", "{zipped_jsonl}"],
            "encore recommend: error: orders.jsonl.zip: a ZIP archive (an Excel workbook is one), "
            "not JSON lines (one /v1/rank body a line)",
            id="recommend-zip",
        ),
        pytest.param(
            ["recommend", "--model", "{model}", "--input", "{undated_jsonl}"],
            "encore recommend: error: undated.jsonl: line 1: `order.ordered_at`: expected a "
            "date-time such as 2026-10-31T12:00:00Z, got 'last Tuesday'",
            id="recommend-unreadable-ordered-at",
        ),
        pytest.param(
            ["recommend", "--model", "{model}", "--input", "{blank_jsonl}"],
            "encore recommend: error: blank.jsonl: no orders to rank (the file is empty)",
            id="recommend-empty-file",
        ),
        pytest.param(
            ["recommend", "--model", "{model}", "--input", "{tmp}/none.jsonl"],
            "encore recommend: error: none.jsonl: no such file",
            id="recommend-no-file",
        ),
        pytest.param(
            ["recommend", "--model", "{model}", "--input", "{tmp}"],
            "encore recommend: error: {tmp_name}: is a folder, not a file",
            id="recommend-folder",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, model_dir: Path, tmp_path: Path, capsys
) -> None:
    values = {"tmp": tmp_path, "tmp_name": tmp_path.name, "model": model_dir}
    for name, (file_name, content) in _INPUT_FILES.items():
        values[name] = tmp_path / file_name
        values[name].write_bytes(content)
    status = main([arg.format(**values) for arg in args])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == message.format(**values) + "\n"
    shutil.rmtree(tmp_path / "m", ignore_errors=True)


def test_train_refuses_an_orders_file_given_as_a_pipe_in_one_line(piped, tmp_path, capsys):
    path = piped("order_id,customer_id,ordered_at,sku\no1,c1,2025-01-01,s1\n")
    assert main(["train", "--orders", path, "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err == (
        f"encore train: error: {path}: not a regular file (a pipe?): save it to a file "
        "and give that\n"
    )
