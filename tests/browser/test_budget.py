"""widget.js ships to every thank-you page: its gzipped size has a budget, checked by a test."""

from pathlib import Path

import widget
from widget.service import Asset

BUDGET_BYTES = 6 * 1024
SCRIPT = Path(widget.__file__).parent / "static" / "widget.js"


def test_widget_js_as_served_fits_the_gzipped_budget() -> None:
    size = len(Asset.read(SCRIPT).gzipped)
    assert size <= BUDGET_BYTES, (
        f"widget.js is {size} bytes gzipped, over the {BUDGET_BYTES}-byte budget"
    )


def test_widget_js_is_served_minified_with_its_banner() -> None:
    source = SCRIPT.read_bytes()
    served = Asset.read(SCRIPT).content

    assert len(served) < 0.8 * len(source)
    assert served.startswith(b"/*! Encore widget")
    assert b"Why a Shadow DOM root" in source
    assert b"Why a Shadow DOM root" not in served


def test_widget_js_is_one_strict_iife_with_prefixed_console_lines() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    assert "'use strict';" in source
    assert source.count("console.") == source.count("w.console.warn(PREFIX")
