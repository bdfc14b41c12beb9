"""widget.js ships to every thank-you page: its gzipped size has a budget, checked by a test."""

import gzip
from pathlib import Path

import widget

BUDGET_BYTES = 6 * 1024
SCRIPT = Path(widget.__file__).parent / "static" / "widget.js"


def test_widget_js_fits_the_gzipped_budget() -> None:
    size = len(gzip.compress(SCRIPT.read_bytes(), compresslevel=9))
    assert size <= BUDGET_BYTES, (
        f"widget.js is {size} bytes gzipped, over the {BUDGET_BYTES}-byte budget"
    )


def test_widget_js_is_one_strict_iife_with_prefixed_console_lines() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    assert "'use strict';" in source
    assert source.count("console.") == source.count("w.console.warn(PREFIX")
