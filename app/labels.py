"""The label catalog (zh-CN, en) shared by the pages, their scripts and the report exports.

One source: the JSON object between the marker lines of ``app/static/i18n.js``, which the
browser uses as is and the server reads here, so a CSV header and the lead console call a
metric by the same name (the glossary in FLOOR_RULES.md).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

I18N_JS = Path(__file__).resolve().parent / "static" / "i18n.js"
LANGS = ("zh", "en")


@lru_cache
def catalog() -> dict[str, dict[str, str]]:
    """lang -> key -> label, from ``static/i18n.js`` (strict JSON between its marker lines)."""
    text = I18N_JS.read_text(encoding="utf-8")
    body = text.split("// catalog:begin", 1)[1].split("// catalog:end", 1)[0]
    body = body.strip().removeprefix("const CATALOG =").strip().removesuffix(";")
    return json.loads(body, object_pairs_hook=_unique)


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are each there once: a label written twice would show one
    text in the browser and maybe another in an export."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"i18n.js: the label '{key}' is written twice")
        out[key] = value
    return out


def pick_lang(value: str | None) -> str:
    """``en`` (or ``en-US``…) for English, anything else the default, Chinese."""
    return "en" if value and value.strip().lower().startswith("en") else "zh"


def label(lang: str, key: str, **values: object) -> str:
    """The catalog's text for ``key`` in ``lang`` with ``{name}`` placeholders filled."""
    text = catalog()[lang][key]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text
