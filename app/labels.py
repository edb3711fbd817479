"""The label catalog (zh-CN, en) shared by the pages, their scripts and the report exports.

One source: ``app/static/catalog.json``, which the browser imports as is (``i18n.js``,
``metrics.js``) and the server reads here, so a CSV header and the lead console call a metric by
the same name (the glossary in FLOOR_RULES.md). It also lists the metrics (key, kind, whether a
call counts it, whether it takes a target) in display order; ``tests/floor/test_catalog.py``
holds ``app/floor`` to the same list.

A floor may rename labels (``PACEBOARD_LABELS``, e.g. ``avg_order_value=件单价/value per
sale``): :func:`catalog` and :func:`label` answer with the overrides in force for the code
running (:func:`use_labels`: the app sets them around each request, the CLI for its process),
and the pages hand the same overrides to their scripts (``base.html``, ``makeI18n``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

CATALOG_JSON = Path(__file__).resolve().parent / "static" / "catalog.json"
LANGS = ("zh", "en")
#: A floor's renamed labels: (key, zh, en) triples, hashable so a merged catalog is cached.
Overrides = tuple[tuple[str, str, str], ...]
MAX_LABEL = 60

_OVERRIDES: ContextVar[Overrides] = ContextVar("paceboard_label_overrides", default=())


@lru_cache
def shipped() -> dict[str, Any]:
    """``static/catalog.json`` as is: ``labels`` (lang -> key -> label), ``metrics`` and
    ``ratios`` (each a list of ``{"key", "kind", …}`` in display order)."""
    return cast(
        dict[str, Any],
        json.loads(CATALOG_JSON.read_text(encoding="utf-8"), object_pairs_hook=_unique),
    )


def base_catalog() -> dict[str, dict[str, str]]:
    """lang -> key -> label, as shipped (no floor's overrides)."""
    return cast(dict[str, dict[str, str]], shipped()["labels"])


def catalog() -> dict[str, dict[str, str]]:
    """lang -> key -> label: the shipped catalog with the floor's overrides in force."""
    overrides = _OVERRIDES.get()
    return _merged(overrides) if overrides else base_catalog()


@lru_cache(maxsize=16)
def _merged(overrides: Overrides) -> dict[str, dict[str, str]]:
    out = {lang: dict(labels) for lang, labels in base_catalog().items()}
    for key, zh, en in overrides:
        out["zh"][key], out["en"][key] = zh, en
    return out


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are each there once: a label written twice would show one
    text in the browser and maybe another in an export."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"catalog.json: '{key}' is written twice")
        out[key] = value
    return out


def parse_labels(text: str) -> Overrides:
    """``"key=中文/English,…"`` (one text for both languages without a ``/``) as overrides;
    ValueError naming the entry that is not one or the key the catalog does not have."""
    known = base_catalog()["zh"]
    out: dict[str, tuple[str, str, str]] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        key, sep, texts = (part.strip() for part in entry.partition("="))
        zh, _, en = (part.strip() for part in texts.partition("/"))
        en = en or zh
        if not (sep and key and zh) or max(len(zh), len(en)) > MAX_LABEL:
            raise ValueError(
                f"'{entry}' is not key=中文/English (each 1 to {MAX_LABEL} characters)"
            )
        if key not in known:
            raise ValueError(f"'{key}' is not a label (e.g. avg_order_value)")
        out[key] = (key, zh, en)
    return tuple(out.values())


@contextmanager
def use_labels(overrides: Overrides) -> Iterator[None]:
    """Answer :func:`catalog` and :func:`label` with ``overrides`` inside the block."""
    token = _OVERRIDES.set(tuple(overrides))
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


def set_labels(overrides: Overrides) -> None:
    """Use ``overrides`` from here on in this context (a CLI run: one floor per process)."""
    _OVERRIDES.set(tuple(overrides))


def overrides_by_lang() -> dict[str, dict[str, str]]:
    """The overrides in force as lang -> key -> label (what the pages give their scripts);
    empty when the floor renames nothing."""
    overrides = _OVERRIDES.get()
    if not overrides:
        return {}
    return {
        "zh": {key: zh for key, zh, _ in overrides},
        "en": {key: en for key, _, en in overrides},
    }


def pick_lang(value: str | None) -> str:
    """``en`` (or ``en-US``…) for English, anything else the default, Chinese."""
    return "en" if value and value.strip().lower().startswith("en") else "zh"


def label(lang: str, key: str, **values: object) -> str:
    """The catalog's text for ``key`` in ``lang`` with ``{name}`` placeholders filled."""
    text = catalog()[lang][key]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text
