import contextlib
import functools
import io
import json
import os
import shutil
import socket
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.config import Environ
from starlette.testclient import TestClient

import widget.app
import widget.demo_setup
from offers.errors import InputError
from ranker.features import FEATURES
from tests.conftest import free_port
from widget import cli, worker_failures
from widget.settings import Settings, load_settings

KEYS = {"ENCORE_PUBLISHABLE_KEY": "pk_a", "ENCORE_SECRET_KEY": "sk_a"}
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture
def served(monkeypatch) -> list[dict]:
    """Calls to uvicorn.run, instead of serving."""
    calls: list[dict] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append({"app": app, **options}))
    return calls


@pytest.fixture
def environment(monkeypatch, tmp_path):
    names = (
        "ENCORE_DATABASE_URL",
        "ENCORE_MODEL_DIR",
        "ENCORE_MAX_OFFERS",
        "ENCORE_HOLDOUT_SHARE",
        "ENCORE_DISMISS_DAYS",
        "ENCORE_SHOP_ID",
        "ENCORE_WORKERS",
        *KEYS,
        *THREADS,
    )
    for name in names:  # restored after the test, including what `serve` sets
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENCORE_DATABASE_URL", f"sqlite:///{tmp_path / 'encore.db'}")
    return monkeypatch


@pytest.mark.parametrize(
    ("argv", "variables", "message"),
    [
        pytest.param(
            ["serve", "--database", "mysql://x"],
            KEYS,
            "encore serve: error: database URL must start with sqlite:/// or postgresql://, "
            "got `mysql:`",
            id="database-url",
        ),
        pytest.param(
            ["serve"],
            {**KEYS, "ENCORE_MAX_OFFERS": "9"},
            "encore serve: error: ENCORE_MAX_OFFERS must be between 1 and 5, got 9",
            id="max-offers",
        ),
        pytest.param(
            ["serve"],
            {},
            "encore serve: error: no shop `default` in the store: set ENCORE_PUBLISHABLE_KEY and "
            "ENCORE_SECRET_KEY (or run `encore demo`)",
            id="no-shop",
        ),
        pytest.param(
            ["serve"],
            {**KEYS, "ENCORE_SHOP_ID": " "},
            "encore serve: error: the shop id must not be empty "
            "(ENCORE_SHOP_ID, or --shop for encore import)",
            id="empty-shop-id",
        ),
        pytest.param(
            ["serve"],
            {**KEYS, "ENCORE_SHOP_ID": "s" * 65},
            "encore serve: error: the shop id must be at most 64 characters "
            "(ENCORE_SHOP_ID, or --shop for encore import), got 65",
            id="long-shop-id",
        ),
        pytest.param(
            ["serve"],
            {**KEYS, "ENCORE_MAX_OFFERS": "three"},
            "encore serve: error: environment: Config 'ENCORE_MAX_OFFERS' has value 'three'. "
            "Not a valid int.",
            id="max-offers-not-a-number",
        ),
        pytest.param(
            ["serve"],
            {**KEYS, "ENCORE_HOLDOUT_SHARE": "1"},
            "encore serve: error: ENCORE_HOLDOUT_SHARE must be in [0, 1), got 1.0",
            id="holdout-share",
        ),
        *(
            pytest.param(
                ["serve"],
                {**KEYS, "ENCORE_DISMISS_DAYS": days},
                f"encore serve: error: ENCORE_DISMISS_DAYS must be between 0 and 36500 "
                f"(100 years), got {days}",
                id=f"dismiss-days-{days}",
            )
            for days in ("-1", "1000000")
        ),
        pytest.param(
            ["serve"],
            {**KEYS, "ENCORE_ALLOWED_ORIGINS": "https://shop.example/checkout/thanks"},
            "encore serve: error: environment: ENCORE_ALLOWED_ORIGINS: "
            "`https://shop.example/checkout/thanks` is a URL, not an origin: "
            "write `https://shop.example`",
            id="origin-with-a-path",
        ),
        pytest.param(
            ["serve"],
            {"ENCORE_PUBLISHABLE_KEY": KEYS["ENCORE_PUBLISHABLE_KEY"]},
            "encore serve: error: set both ENCORE_PUBLISHABLE_KEY and ENCORE_SECRET_KEY, "
            "or neither",
            id="one-key",
        ),
        pytest.param(
            ["serve"],
            {**KEYS, "ENCORE_SECRET_KEY": "pk_swapped"},
            "encore serve: error: ENCORE_SECRET_KEY must start with sk_",
            id="secret-key-prefix",
        ),
        pytest.param(
            ["serve", "--workers", "0"],
            KEYS,
            "encore serve: error: --workers must be at least 1, got 0",
            id="workers",
        ),
        pytest.param(
            ["serve", "--port", "70000"],
            KEYS,
            "encore serve: error: --port must be between 1 and 65535, got 70000",
            id="port",
        ),
    ],
)
def test_serve_refuses_a_misconfiguration_in_one_sentence(
    environment, served, capsys, argv, variables, message
):
    for name, value in variables.items():
        environment.setenv(name, value)

    status = cli.main(argv)

    assert status == 2
    assert capsys.readouterr().err == message + "\n"
    assert served == []


def test_a_port_already_in_use_is_one_line_before_anything_starts(environment, served, capsys):
    for name, value in KEYS.items():
        environment.setenv(name, value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        status = cli.main(["serve", "--port", str(port)])

    assert status == 2
    assert capsys.readouterr().err == (
        f"encore serve: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert served == []


def test_a_settings_mistake_is_named_first_even_when_the_port_is_taken(environment, served, capsys):
    for name, value in {**KEYS, "ENCORE_DATABASE_URL": "mysql://shop"}.items():
        environment.setenv(name, value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()

        status = cli.main(["serve", "--port", str(taken.getsockname()[1])])

    assert status == 2
    assert "database URL must start with" in capsys.readouterr().err
    assert served == []


def test_a_folder_that_cannot_be_created_is_one_line_and_exit_2(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("")

    status = cli.main(["generate", "--out", str(a_file / "shop"), "--orders", "10"])

    assert status == 2
    assert (
        capsys.readouterr().err == f"encore generate: error: {a_file / 'shop'}: Not a directory\n"
    )


def test_serve_flags_override_the_environment(environment, served, tmp_path):
    for name, value in KEYS.items():
        environment.setenv(name, value)
    database = f"sqlite:///{tmp_path / 'other.db'}"

    status = cli.main(
        ["serve", "--database", database, "--model", "m/v1", "--workers", "2", "--port", "8123"]
    )

    assert status == 0
    [call] = served
    assert (call["app"], call["factory"], call["workers"], call["port"]) == (
        "widget.app:app_from_environment",
        True,
        2,
        8123,
    )
    assert (tmp_path / "other.db").is_file()
    assert (os.environ["ENCORE_DATABASE_URL"], os.environ["ENCORE_MODEL_DIR"]) == (database, "m/v1")
    assert {os.environ[name] for name in THREADS} == {"1"}
    assert load_settings().workers == 2  # what each worker reads: its share of total caps


def test_serve_keeps_a_worker_count_set_for_several_hosts(environment, served):
    for name, value in {**KEYS, "ENCORE_WORKERS": "4"}.items():
        environment.setenv(name, value)

    assert cli.main(["serve", "--workers", "2", "--port", str(free_port())]) == 0

    assert [call["workers"] for call in served] == [2]
    assert load_settings().workers == 4


def test_serve_refuses_a_worker_count_below_its_own_workers(environment, served, capsys):
    for name, value in {**KEYS, "ENCORE_WORKERS": "1"}.items():
        environment.setenv(name, value)

    assert cli.main(["serve", "--workers", "4", "--port", str(free_port())]) == 2

    assert capsys.readouterr().err == (
        "encore serve: error: ENCORE_WORKERS (1) counts the workers of every host sharing "
        "the store: it cannot be fewer than this host's --workers 4\n"
    )
    assert served == []


def test_an_empty_worker_count_is_taken_as_unset(environment, served):
    for name, value in {**KEYS, "ENCORE_WORKERS": " "}.items():
        environment.setenv(name, value)

    assert cli.main(["serve", "--workers", "3", "--port", str(free_port())]) == 0

    assert load_settings().workers == 3


def test_a_worker_started_by_uvicorn_directly_refuses_a_worker_count_below_one():
    with pytest.raises(InputError, match="^ENCORE_WORKERS must be at least 1, got 0$"):
        load_settings(Environ({"ENCORE_WORKERS": "0"}))


@pytest.fixture(scope="module")
def first_demo(tmp_path_factory) -> tuple[Path, str, list[dict]]:
    """`encore demo` run once on an empty folder (a small shop: training takes seconds)."""
    data = tmp_path_factory.mktemp("demo") / "demo"
    calls: list[dict] = []
    small = functools.partial(widget.demo_setup.prepare_demo, n_orders=400)

    def serve(app: Starlette, **options: object) -> None:  # starts the app as uvicorn would
        before_start = out.getvalue()
        with TestClient(app) as client:
            page = client.get("/demo")
        calls.append({"app": app, "before_start": before_start, "page": page.status_code})
        calls[-1].update(options)

    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as out:
        patch.setattr("uvicorn.run", serve)
        patch.setattr(widget.demo_setup, "prepare_demo", small)
        assert cli.main(["demo", "--data", str(data), "--port", "8124"]) == 0
    return data, out.getvalue(), calls


def test_demo_sets_up_a_shop_and_serves_its_page(first_demo):
    data, printed, [call] = first_demo
    keys = json.loads((data / "keys.json").read_text())

    assert "generating a demo shop (400 orders)" in printed
    assert "training a model" in printed
    assert "Encore demo: open http://127.0.0.1:8124/demo" in printed
    assert f"publishable key: {keys['publishable_key']}" in printed
    assert f"secret key:      {keys['secret_key']}" in printed
    assert (data / "models" / "current" / "card.json").is_file()
    assert isinstance(call["app"], Starlette)
    assert (call["host"], call["port"]) == ("127.0.0.1", 8124)
    assert call["page"] == 200


def test_demo_prints_its_address_only_once_the_service_has_started(first_demo):
    _, printed, [call] = first_demo

    # Loading and compiling the model takes ~10 s on a first start: an address printed
    # before that would refuse the connection.
    assert "starting the service" in call["before_start"]
    assert "Encore demo: open" not in call["before_start"]
    assert "Encore demo: open" in printed


def test_demo_reuses_what_it_made(first_demo, served, capsys):
    data, _, _ = first_demo
    made = {p: p.stat().st_mtime_ns for p in data.rglob("*") if p.is_file() and ".db" not in p.name}

    assert cli.main(["demo", "--data", str(data), "--port", "8124"]) == 0

    printed = capsys.readouterr().out
    assert "generating" not in printed and "importing" not in printed and "training" not in printed
    assert {p: p.stat().st_mtime_ns for p in made} == made
    assert len(served) == 1


def test_demo_retrains_a_model_this_encore_cannot_serve(first_demo, tmp_path, capsys):
    data = tmp_path / "demo"
    shutil.copytree(first_demo[0], data, symlinks=True)
    card_path = data / "models" / "current" / "card.json"
    card = json.loads(card_path.read_text())
    card_path.unlink()  # the copy's own card, not the original's through a link
    card_path.write_text(json.dumps(card | {"features": ["a_feature_of_an_older_encore"]}))

    widget.demo_setup.prepare_demo(data, port=8126)

    assert "training a new model: " in capsys.readouterr().out
    assert json.loads(card_path.read_text())["features"] == list(FEATURES)


@pytest.mark.parametrize("damage", ["", '{"publishable_key": "pk_demo_', "{}", "[]"])
def test_demo_makes_new_keys_when_its_keys_file_is_damaged(first_demo, tmp_path, damage):
    data = tmp_path / "demo"
    shutil.copytree(first_demo[0], data, symlinks=True)
    (data / "keys.json").write_text(damage)  # a run killed while writing it, or an edit

    settings = widget.demo_setup.prepare_demo(data, port=8127)

    keys = json.loads((data / "keys.json").read_text())
    assert (settings.publishable_key, settings.secret_key) == (
        keys["publishable_key"],
        keys["secret_key"],
    )
    assert settings.publishable_key.startswith("pk_demo_") and settings.secret_key.startswith(
        "sk_demo_"
    )
    assert not list(data.glob(".keys.json*"))


def test_the_demo_settings_serve_the_demo_shop(first_demo):
    data, _, _ = first_demo

    settings = widget.demo_setup.prepare_demo(data, port=8125)

    assert isinstance(settings, Settings)
    assert (settings.shop_id, settings.extra) == ("demo", {"demo": True})
    assert settings.model_dir == str(data / "models" / "current")
    assert settings.allowed_origins == ("http://127.0.0.1:8125", "http://localhost:8125")
    assert settings.publishable_key.startswith("pk_") and settings.secret_key.startswith("sk_")


def test_the_demo_takes_the_shop_s_choices_from_the_environment(first_demo, monkeypatch):
    data, _, _ = first_demo
    monkeypatch.setenv("ENCORE_MAX_OFFERS", "2")
    monkeypatch.setenv("ENCORE_HOLDOUT_SHARE", "0.2")
    monkeypatch.setenv("ENCORE_WORKERS", "4")
    monkeypatch.setenv("ENCORE_DATABASE_URL", "postgresql://elsewhere/shop")

    settings = widget.demo_setup.prepare_demo(data, port=8128)

    assert (settings.max_offers, settings.holdout_share) == (2, 0.2)
    assert settings.workers == 1  # the demo is one process, with every cap to itself
    assert settings.database_url == f"sqlite:///{(data / 'encore.db').resolve()}"


def test_the_demo_names_a_bad_setting_before_generating_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("ENCORE_MAX_OFFERS", "9")

    with pytest.raises(InputError, match="ENCORE_MAX_OFFERS must be between 1 and 5, got 9"):
        widget.demo_setup.prepare_demo(tmp_path / "demo", port=8129)
    assert not (tmp_path / "demo").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENCORE_SECRET_KEY", "sk_live_1"),  # set for `encore serve`, its pair not
        ("ENCORE_WORKERS", "two"),
        ("ENCORE_SHOP_ID", ""),
        ("ENCORE_ALLOWED_ORIGINS", "shop.example"),
    ],
)
def test_the_demo_runs_whatever_the_variables_it_sets_itself_hold(
    first_demo, monkeypatch, name, value
):
    data, _, _ = first_demo
    monkeypatch.setenv(name, value)

    settings = widget.demo_setup.prepare_demo(data, port=8130)

    assert (settings.shop_id, settings.workers) == ("demo", 1)
    assert settings.secret_key.startswith("sk_demo_")


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_stops_with_one_line_and_exit_2_when_a_worker_cannot_start(
    environment, monkeypatch, capsys, workers
):
    for name, value in KEYS.items():
        environment.setenv(name, value)

    async def unreachable(settings: Settings) -> None:
        raise OSError("connection refused by the database")

    def run_workers(app: str, **options: object) -> None:  # each worker starts as uvicorn's
        monkeypatch.setattr(widget.app.Service, "start", unreachable)
        with pytest.raises(OSError), TestClient(widget.app.app_from_environment()):
            pass
        if options["workers"] == 1:
            raise SystemExit(3)  # uvicorn's exit when its one worker could not start
        # with several, uvicorn stops the others and returns: exit 0 unless told

    monkeypatch.setattr("uvicorn.run", run_workers)

    status = cli.main(["serve", "--workers", str(workers), "--port", str(free_port())])

    assert status == 2
    assert capsys.readouterr().err == (
        "encore serve: error: a worker could not start, so the service stopped: "
        "connection refused by the database\n"
    )
    assert worker_failures.VARIABLE not in os.environ
