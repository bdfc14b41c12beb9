import json
import shutil

import pytest

from offers.files import read_orders
from ranker.artifact import save_model
from ranker.train import train
from tests.widget.conftest import auth, publish_model
from widget.demo_setup import point_current


@pytest.fixture(scope="module")
def foreign_model(shop_data, tmp_path_factory):
    """A model trained on another shop: the same history under other skus."""
    lines = read_orders(shop_data.files / "orders.csv").lines
    lines["sku"] = "other-" + lines["sku"]
    model = train(lines)
    return save_model(model, tmp_path_factory.mktemp("other-shop") / model.version)


def _health(client) -> dict:
    service = client.app_state["service"]
    client.get("/healthz")  # a request looks at the model folder, and may start a reload
    client.portal.call(service.models.wait_reloaded)
    return client.get("/healthz").json()["model"]


def test_missing_model_falls_back_to_popularity(make_client, rank_body, tmp_path):
    client = make_client(model_dir=str(tmp_path / "no-such-model"))

    health = client.get("/healthz").json()
    response = client.post("/v1/rank", json=rank_body(), headers=auth())

    assert health["status"] == "ok"
    assert health["model"]["fallback"] is True
    assert health["model"]["version"] == "popularity-fallback"
    assert "no-such-model" in health["model"]["reason"]
    assert response.status_code == 200
    assert response.json()["model_version"] == "popularity-fallback"
    assert response.json()["offers"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param({"card.json": b"{not json", "model.joblib": b"junk"}, id="garbage"),
        pytest.param({"model.joblib": b"\x80\x04junk"}, id="corrupt-joblib"),
        pytest.param({"card.json": b"[]"}, id="card-not-an-object"),
        pytest.param({"card.json": {"version": None}}, id="card-edited-without-version"),
        pytest.param({"card.json": {"metrics": {}}}, id="card-edited-without-split"),
    ],
)
def test_corrupt_model_falls_back_to_popularity(
    make_client, rank_body, shop_data, tmp_path, damage
):
    model = tmp_path / "model"
    shutil.copytree((shop_data.models / "current").resolve(), model)
    for name, content in damage.items():
        if isinstance(content, dict):  # fields of the real card edited by hand
            content = json.dumps(json.loads((model / name).read_text()) | content).encode()
        (model / name).write_bytes(content)
    client = make_client(model_dir=str(model))

    health = client.get("/healthz").json()["model"]

    assert (health["fallback"], health["version"]) == (True, "popularity-fallback")
    assert health["reason"]
    assert client.post("/v1/rank", json=rank_body(), headers=auth()).status_code == 200


def test_a_newly_trained_model_is_picked_up_without_restart(
    make_client, rank_body, shop_data, tmp_path
):
    models = tmp_path / "models"
    shutil.copytree(shop_data.models, models, symlinks=True)
    client = make_client(model_dir=str(models / "current"))
    before = _health(client)["version"]

    newer = publish_model(shop_data, models, "v-newer")
    after = _health(client)

    assert after == {"version": newer.name, "fallback": False, "reason": None, "rejected": None}
    assert before != newer.name
    ranked = client.post("/v1/rank", json=rank_body(), headers=auth()).json()
    assert ranked["model_version"] == newer.name


def test_a_current_file_naming_the_version_serves_that_model(make_client, shop_data, tmp_path):
    # for file systems without symlinks: `current` holds the version folder's name
    version = (shop_data.models / "current").resolve()
    models = tmp_path / "models"
    shutil.copytree(version, models / version.name)
    (models / "current").write_text(version.name + "\n", encoding="utf-8")

    client = make_client(model_dir=str(models / "current"))

    card = json.loads((version / "card.json").read_text())
    assert _health(client) == {
        "version": card["version"],
        "fallback": False,
        "reason": None,
        "rejected": None,
    }


def test_the_service_warms_its_model_up_before_the_first_request(make_client, shop_data):
    client = make_client(model_dir=str(shop_data.models / "current"))

    model = client.app_state["service"].models.model

    assert {"_scoring_tables", "_sku_title", "_sku_value"} <= set(vars(model))


def test_a_model_trained_after_start_replaces_the_fallback(make_client, shop_data, tmp_path):
    models = tmp_path / "models"
    client = make_client(model_dir=str(models / "current"))
    assert _health(client)["fallback"] is True

    models.mkdir()
    newer = publish_model(shop_data, models, "v-first")

    assert _health(client) == {
        "version": newer.name,
        "fallback": False,
        "reason": None,
        "rejected": None,
    }


def test_a_broken_new_model_keeps_the_current_one(make_client, shop_data, tmp_path, caplog):
    models = tmp_path / "models"
    shutil.copytree(shop_data.models, models, symlinks=True)
    client = make_client(model_dir=str(models / "current"))
    before = _health(client)
    broken = models / "broken"
    broken.mkdir()
    (broken / "card.json").write_text("{}")
    (models / "current").unlink()
    (models / "current").symlink_to("broken")

    after = _health(client)

    assert {**after, "rejected": None} == before
    assert "broken" in after["rejected"]
    assert "keeping model" in caplog.text
    assert "popularity fallback" not in caplog.text  # the kept model ranks, not the fallback
    assert client.app_state["service"].models._fallback is None  # nor is one built for nothing


def test_a_model_published_before_its_copy_ended_is_loaded_once_it_ends(
    make_client, shop_data, tmp_path
):
    models = tmp_path / "models"
    shutil.copytree(shop_data.models, models, symlinks=True)
    client = make_client(model_dir=str(models / "current"))
    before = _health(client)
    half = publish_model(shop_data, models, "v-half")
    whole = (half / "model.joblib").read_bytes()
    (half / "model.joblib").write_bytes(whole[: len(whole) // 2])  # still being copied
    refused = _health(client)

    (half / "model.joblib").write_bytes(whole)  # the copy ends

    assert refused["version"] == before["version"] and refused["rejected"]
    assert _health(client) == {
        "version": "v-half",
        "fallback": False,
        "reason": None,
        "rejected": None,
    }


@pytest.mark.parametrize(
    "content",
    [pytest.param(b"\0" * 64, id="zero-filled"), pytest.param(b"\x80" * 5000, id="binary")],
)
def test_a_model_path_that_is_a_file_of_another_kind_falls_back(make_client, tmp_path, content):
    not_a_model = tmp_path / "current"
    not_a_model.write_bytes(content)

    client = make_client(model_dir=str(not_a_model))
    health = _health(client)

    assert health["fallback"] is True
    assert health["reason"] == f"{not_a_model}: is a file, not a model folder nor one naming it"


def test_the_model_folder_is_looked_at_no_more_than_every_few_seconds(
    make_client, shop_data, tmp_path
):
    models = tmp_path / "models"
    shutil.copytree(shop_data.models, models, symlinks=True)
    client = make_client(model_dir=str(models / "current"), extra={"model_check_seconds": 3600})
    before = _health(client)

    publish_model(shop_data, models, "v-unseen")

    assert _health(client) == before


def test_a_model_trained_on_another_shop_is_refused(make_client, shop_data, foreign_model):
    client = make_client(model_dir=str(foreign_model))

    health = _health(client)

    assert (health["fallback"], health["version"]) == (True, "popularity-fallback")
    assert "knows none of this shop's products" in health["reason"]


def test_another_shop_s_model_published_leaves_this_shop_s_serving(
    make_client, shop_data, foreign_model, tmp_path
):
    models = tmp_path / "models"
    shutil.copytree(shop_data.models, models, symlinks=True)
    client = make_client(model_dir=str(models / "current"))
    before = _health(client)
    shutil.copytree(foreign_model, models / "other")
    point_current(models, "other")

    after = _health(client)

    assert after["version"] == before["version"]
    assert "knows none of this shop's products" in after["rejected"]
