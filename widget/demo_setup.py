"""What ``encore demo`` sets up in its data folder, reusing whatever is already there.

DIR/shop/            products.csv, orders.csv, offers.json, impressions.csv (generated, fixed seed)
DIR/encore.db        the SQLite store, with the shop imported
DIR/models/<version> a trained model, and DIR/models/current pointing at it
DIR/keys.json        the demo shop's publishable and secret keys
"""

import json
import os
import secrets
from pathlib import Path

from starlette.config import Environ

from offers import schema
from offers.catalog import read_offers
from offers.files import read_impressions, read_orders, read_products
from offers.importer import import_files
from offers.staging import staged
from offers.store import Store
from offers.synthetic import generate_shop
from widget.settings import Settings, load_settings

SHOP_ID = "demo"
N_ORDERS = 20_000
SEED = 0
_SHOP_FILES = ("products.csv", "orders.csv", "offers.json", "impressions.csv")
# The variables of what a shop decides; the others (keys, store, origins, workers) the demo
# sets itself, so a value of theirs, even one `encore serve` would refuse, is not its business.
_SHOP_CHOICES = (
    "ENCORE_MAX_OFFERS",
    "ENCORE_HOLDOUT_SHARE",
    "ENCORE_DISMISS_DAYS",
    "ENCORE_SIGNING_SECRET",
)


def prepare_demo(data: Path, *, port: int, n_orders: int = N_ORDERS, seed: int = SEED) -> Settings:
    """Generate, import, train and make keys as needed; the settings to serve the demo with.

    What a shop decides (offers per widget, holdout share, dismissal days) comes from the
    environment, as for `encore serve`; the store, model, keys and origins are the demo's own.
    """
    chosen = {name: os.environ[name] for name in _SHOP_CHOICES if name in os.environ}
    shop_settings = load_settings(Environ(chosen))  # a mistake named before minutes of training
    data.mkdir(parents=True, exist_ok=True)
    shop_dir = data / "shop"
    if not all((shop_dir / name).is_file() for name in _SHOP_FILES):
        print(f"generating a demo shop ({n_orders} orders) in {shop_dir}", flush=True)
        generate_shop(shop_dir, n_orders=n_orders, seed=seed, progress=True)
    database_url = f"sqlite:///{(data / 'encore.db').resolve()}"
    _import(database_url, shop_dir)
    model_dir = data / "models" / "current"
    if not (model_dir / "card.json").is_file():
        print("training a model", flush=True)
        train_into(shop_dir, data / "models")
    elif problem := _unusable(model_dir):
        print(f"training a new model: {problem}", flush=True)
        train_into(shop_dir, data / "models")
    publishable_key, secret_key = _keys(data / "keys.json")
    origins = (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
    return shop_settings.with_overrides(
        database_url=database_url,
        model_dir=str(model_dir),
        shop_id=SHOP_ID,
        publishable_key=publishable_key,
        secret_key=secret_key,
        allowed_origins=origins,
        workers=1,
        extra={"demo": True},
    )


def _unusable(model_dir: Path) -> str:
    """Why the demo's model cannot be served (e.g. made by another Encore), or ""."""
    from ranker.artifact import ModelError, read_card

    try:
        read_card(model_dir)
    except ModelError as err:
        return str(err)
    return ""


def train_into(shop_dir: Path, models_dir: Path) -> Path:
    """Train on the shop's files into ``models_dir/<version>`` and point ``current`` at it."""
    from ranker.artifact import save_model
    from ranker.train import train

    model = train(
        read_orders(shop_dir / "orders.csv").lines,
        products=read_products(shop_dir / "products.csv"),
        impressions=read_impressions(shop_dir / "impressions.csv"),
        offers=read_offers(shop_dir / "offers.json"),
        show_progress=True,
    )
    version_dir = save_model(model, models_dir / model.version)
    point_current(models_dir, model.version)
    return version_dir


def point_current(models_dir: Path, version: str) -> None:
    """Swap ``current`` to ``version`` atomically (a running service picks it up)."""
    link, staged = models_dir / "current", models_dir / f".current-{secrets.token_hex(4)}"
    os.symlink(version, staged)
    os.replace(staged, link)


def _import(database_url: str, shop_dir: Path) -> None:
    store = Store.open(database_url)
    try:
        if store.count(schema.orders, SHOP_ID) == 0:
            print(f"importing {shop_dir} into {database_url}", flush=True)
            for report in import_files(
                store,
                SHOP_ID,
                products=shop_dir / "products.csv",
                offers=shop_dir / "offers.json",
                orders=shop_dir / "orders.csv",
                progress=True,
            ):
                print(f"  {report.summary()}", flush=True)
    finally:
        store.close()


def _keys(path: Path) -> tuple[str, str]:
    """The demo's keys, kept in ``path``; new ones if it holds none (a file damaged by a
    run killed while writing it, or edited: the demo shop takes whatever keys it is given)."""
    if (kept := _kept_keys(path)) is not None:
        return kept
    keys = {
        "publishable_key": f"pk_demo_{secrets.token_hex(12)}",
        "secret_key": f"sk_demo_{secrets.token_hex(24)}",
    }
    with staged(path) as (temporary,):
        temporary.write_text(json.dumps(keys, indent=2) + "\n", encoding="utf-8")
        temporary.chmod(0o600)
    return keys["publishable_key"], keys["secret_key"]


def _kept_keys(path: Path) -> tuple[str, str] | None:
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(keys, dict):
        return None
    publishable, secret = keys.get("publishable_key"), keys.get("secret_key")
    if not (isinstance(publishable, str) and publishable.startswith("pk_")):
        return None
    if not (isinstance(secret, str) and secret.startswith("sk_")):
        return None
    return publishable, secret
