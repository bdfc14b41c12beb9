"""Settings from the environment (twelve-factor); command flags override them."""

from dataclasses import dataclass, field, replace
from typing import Any

from starlette.config import Config, Environ, environ
from starlette.datastructures import CommaSeparatedStrings

from offers import schema
from offers.errors import InputError
from widget.origins import allowed_origin

MAX_OFFERS_LIMIT = 5
MAX_DISMISS_DAYS = 36_500


@dataclass(frozen=True)
class Settings:
    """Everything a deployment sets. Read with :func:`load_settings`."""

    database_url: str = "sqlite:///encore.db"
    model_dir: str = "models/current"
    shop_id: str = "default"
    publishable_key: str = ""
    secret_key: str = ""
    signing_secret: str = ""
    allowed_origins: tuple[str, ...] = ()
    max_offers: int = 3
    holdout_share: float = 0.05
    dismiss_days: int = 30
    token_max_age_days: int = 30
    workers: int = 1  # worker processes serving the shop, each with its share of total caps
    extra: dict[str, Any] = field(default_factory=dict)

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy with the given (non-None) values, e.g. from command flags, checked."""
        updated = replace(self, **{k: v for k, v in overrides.items() if v is not None})
        check_settings(updated)
        return updated


def load_settings(env: Environ | None = None) -> Settings:
    """Read `ENCORE_*` variables; a value of the wrong type is one clear error."""
    config = Config(environ=env if env is not None else environ)
    defaults = Settings()
    try:
        settings = Settings(
            database_url=config("ENCORE_DATABASE_URL", default=defaults.database_url),
            model_dir=config("ENCORE_MODEL_DIR", default=defaults.model_dir),
            shop_id=config("ENCORE_SHOP_ID", default=defaults.shop_id),
            publishable_key=config("ENCORE_PUBLISHABLE_KEY", default=""),
            secret_key=config("ENCORE_SECRET_KEY", default=""),
            signing_secret=config("ENCORE_SIGNING_SECRET", default=""),
            allowed_origins=_origins(config("ENCORE_ALLOWED_ORIGINS", default="")),
            max_offers=config("ENCORE_MAX_OFFERS", cast=int, default=defaults.max_offers),
            holdout_share=config(
                "ENCORE_HOLDOUT_SHARE", cast=float, default=defaults.holdout_share
            ),
            dismiss_days=config("ENCORE_DISMISS_DAYS", cast=int, default=defaults.dismiss_days),
            workers=_count(
                config("ENCORE_WORKERS", default=""), "ENCORE_WORKERS", defaults.workers
            ),
        )
    except ValueError as err:
        raise InputError(f"environment: {err}") from None
    check_settings(settings)
    return settings


def _count(text: str, name: str, default: int) -> int:
    """A whole number; empty (as compose files interpolate an unset variable) is the default."""
    if not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"Config '{name}' has value '{text}'. Not a valid int.") from None


def _origins(text: str) -> tuple[str, ...]:
    try:
        return tuple(allowed_origin(e) for e in CommaSeparatedStrings(text) if e.strip())
    except ValueError as err:
        raise ValueError(f"ENCORE_ALLOWED_ORIGINS: {err}") from None


_SHOP_ID_FROM = "(ENCORE_SHOP_ID, or --shop for encore import)"


def check_settings(settings: Settings) -> None:
    """Refuse a deployment that cannot work, with one sentence saying why."""
    if not settings.shop_id.strip():
        raise InputError(f"the shop id must not be empty {_SHOP_ID_FROM}")
    if len(settings.shop_id) > (limit := schema.shops.c.id.type.length):
        raise InputError(
            f"the shop id must be at most {limit} characters {_SHOP_ID_FROM}, "
            f"got {len(settings.shop_id)}"
        )
    if not 1 <= settings.max_offers <= MAX_OFFERS_LIMIT:
        raise InputError(
            f"ENCORE_MAX_OFFERS must be between 1 and {MAX_OFFERS_LIMIT}, got {settings.max_offers}"
        )
    if not 0 <= settings.holdout_share < 1:
        raise InputError(f"ENCORE_HOLDOUT_SHARE must be in [0, 1), got {settings.holdout_share}")
    if not 0 <= settings.dismiss_days <= MAX_DISMISS_DAYS:  # beyond, the window's start overflows
        raise InputError(
            f"ENCORE_DISMISS_DAYS must be between 0 and {MAX_DISMISS_DAYS} (100 years), "
            f"got {settings.dismiss_days}"
        )
    if settings.workers < 1:
        raise InputError(f"ENCORE_WORKERS must be at least 1, got {settings.workers}")
    if bool(settings.publishable_key) != bool(settings.secret_key):
        raise InputError("set both ENCORE_PUBLISHABLE_KEY and ENCORE_SECRET_KEY, or neither")
    if settings.publishable_key and not settings.publishable_key.startswith("pk_"):
        raise InputError("ENCORE_PUBLISHABLE_KEY must start with pk_")
    if settings.secret_key and not settings.secret_key.startswith("sk_"):
        raise InputError("ENCORE_SECRET_KEY must start with sk_")
