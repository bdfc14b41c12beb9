"""The one shop a service serves, set up from the settings at start-up.

With ``ENCORE_PUBLISHABLE_KEY`` and ``ENCORE_SECRET_KEY`` set, the shop
``ENCORE_SHOP_ID`` is created (or its keys and origins updated) in the store;
without them it must already be there (e.g. made by ``encore demo``).

Tracking tokens are signed with ``ENCORE_SIGNING_SECRET``; when it is unset a
random secret is generated once and kept in the shop's settings in the store,
so tokens stay valid across restarts and across workers. (``encore serve``
does this before starting its workers, so they all read the same secret.)
"""

import secrets
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update

from offers import schema
from offers.errors import InputError
from offers.store import Shop, Store, hash_secret
from widget.settings import Settings

SIGNING_SECRET = "signing_secret"


@dataclass(frozen=True)
class ServedShop:
    shop: Shop
    secret_key_hash: str
    signing_secret: str


def prepare_shop(store: Store, settings: Settings) -> ServedShop:
    """Create or update the shop from ``settings``; refuse to start without one."""
    row = _shop_row(store, settings.shop_id)
    stored = dict(row["settings"]) if row else {}
    origins = settings.allowed_origins or (tuple(row["allowed_origins"]) if row else ())
    if settings.publishable_key:
        shop = Shop(
            id=settings.shop_id,
            name=row["name"] if row else settings.shop_id,
            publishable_key=settings.publishable_key,
            allowed_origins=origins,
            settings=stored,
        )
        store.save_shop(shop, settings.secret_key)
        secret_hash = hash_secret(settings.secret_key)
    elif row is None:
        raise InputError(
            f"no shop `{settings.shop_id}` in the store: set ENCORE_PUBLISHABLE_KEY and "
            "ENCORE_SECRET_KEY (or run `encore demo`)"
        )
    else:
        shop = Shop(settings.shop_id, row["name"], row["publishable_key"], origins, stored)
        secret_hash = row["secret_key_hash"]
    signing = settings.signing_secret or stored.get(SIGNING_SECRET)
    if not signing:
        signing = secrets.token_urlsafe(32)
        stored[SIGNING_SECRET] = signing
        _save_settings(store, shop.id, stored)
        shop = replace(shop, settings=stored)
    return ServedShop(shop, secret_hash, signing)


def _shop_row(store: Store, shop_id: str) -> dict[str, Any] | None:
    with store.engine.connect() as connection:
        row = (
            connection.execute(select(schema.shops).where(schema.shops.c.id == shop_id))
            .mappings()
            .first()
        )
    return dict(row) if row else None


def _save_settings(store: Store, shop_id: str, settings: dict[str, Any]) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            update(schema.shops).where(schema.shops.c.id == shop_id).values(settings=settings)
        )
