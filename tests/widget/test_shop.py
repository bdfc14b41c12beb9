import pytest

from offers.errors import InputError
from offers.store import hash_secret
from widget.settings import Settings
from widget.shop import SIGNING_SECRET, prepare_shop

KEYS = {"publishable_key": "pk_a", "secret_key": "sk_a"}


def test_the_shop_is_created_from_the_settings(store):
    settings = Settings(shop_id="s1", allowed_origins=("https://a.example",), **KEYS)

    served = prepare_shop(store, settings)

    shop = store.shop_by_secret_key("sk_a")
    assert (shop.id, shop.publishable_key, shop.allowed_origins) == (
        "s1",
        "pk_a",
        ("https://a.example",),
    )
    assert served.secret_key_hash == hash_secret("sk_a")


def test_a_signing_secret_is_generated_once_and_kept(store):
    settings = Settings(shop_id="s1", **KEYS)

    first = prepare_shop(store, settings).signing_secret
    second = prepare_shop(store, settings).signing_secret

    assert len(first) >= 32
    assert first == second == store.shop_by_secret_key("sk_a").settings[SIGNING_SECRET]


def test_the_configured_signing_secret_wins_and_is_not_stored(store):
    served = prepare_shop(store, Settings(shop_id="s1", signing_secret="configured", **KEYS))

    assert served.signing_secret == "configured"
    assert SIGNING_SECRET not in store.shop_by_secret_key("sk_a").settings


def test_without_keys_the_shop_must_be_in_the_store(store):
    with pytest.raises(InputError, match="no shop `s1` in the store: set ENCORE_PUBLISHABLE_KEY"):
        prepare_shop(store, Settings(shop_id="s1"))


def test_without_keys_the_stored_shop_is_served(store):
    prepare_shop(store, Settings(shop_id="s1", **KEYS))

    served = prepare_shop(store, Settings(shop_id="s1"))

    assert (served.shop.publishable_key, served.secret_key_hash) == ("pk_a", hash_secret("sk_a"))


def test_new_keys_replace_the_old_ones(store):
    prepare_shop(store, Settings(shop_id="s1", **KEYS))

    prepare_shop(store, Settings(shop_id="s1", publishable_key="pk_b", secret_key="sk_b"))

    assert store.shop_by_secret_key("sk_a") is None
    assert store.shop_by_secret_key("sk_b").publishable_key == "pk_b"
