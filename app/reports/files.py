"""Write report tables as files Excel opens right: CSV in UTF-8 with a BOM (Excel on Chinese
Windows otherwise reads it as GBK), and .xlsx with typed cells.

A cell that starts like a formula (= + - @) is never written as one: in the CSV it gets a
leading apostrophe, in the xlsx it is stored as text, so a rep's name or a lead's note cannot
run anything in the reader's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from app.reports.tables import Table, report_tables

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def hms(seconds: int | float) -> str:
    """Whole seconds as h:mm:ss (hours run past 24: a month's talk time is 312:05:09)."""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def hhmm(seconds: int | float) -> str:
    """Whole seconds as hh:mm, to the nearest minute (hours run past 24: a month's 176:30)."""
    minutes = (int(round(seconds)) + 30) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def format_value(kind: str, value: Any, minor_digits: int, *, page: bool = False) -> str:
    """How a typed value reads in the CSV ("" for none), or with ``page`` on the report page
    (thousands separated, "—" for none, text as is since the page escapes it)."""
    if value is None or value == "":
        return "—" if page and kind != "text" else ""
    if kind == "text":
        return str(value) if page else _safe_text(str(value))
    if kind == "seconds":
        return hms(value)
    if kind == "duration":
        return hhmm(value)
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "money":
        grouping = "," if page else ""
        return f"{value / 10**minor_digits:{grouping}.{minor_digits}f}"
    if kind == "number":
        return f"{value:.1f}"
    return f"{int(value):,}" if page else str(int(value))


def to_csv(table: Table, *, minor_digits: int = 2) -> bytes:
    """The table as CSV: UTF-8 with BOM, CRLF line ends, a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow([format_value(c.kind, row.get(c.key), minor_digits) for c in table.columns])
    return out.getvalue().encode("utf-8-sig")


_FORMATS = {
    "int": "0",
    "seconds": "[h]:mm:ss",
    "duration": "[hh]:mm",
    "rate": "0.0%",
    "number": "0.0",
}


def _sheet_title(title: str) -> str:
    """A sheet title Excel takes: at most 31 characters, none of []:*?/\\."""
    return "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Sheet"


def _xlsx_value(kind: str, value: Any, minor_digits: int) -> tuple[Any, str | None]:
    """A typed value as an xlsx cell holds it, with its number format (None: text)."""
    if kind == "text":
        return str(value), None
    if kind == "seconds":
        return timedelta(seconds=round(value)), _FORMATS["seconds"]
    if kind == "duration":
        # Whole minutes, so a spreadsheet shows the hh:mm the CSV and the page do.
        return timedelta(minutes=(round(value) + 30) // 60), _FORMATS["duration"]
    if kind == "money":
        money = "#,##0" + ("." + "0" * minor_digits if minor_digits else "")
        return round(value / 10**minor_digits, minor_digits), money
    if kind == "int":
        return int(value), _FORMATS["int"]
    return float(value), _FORMATS[kind]


def _write_table(ws: Any, table: Table, minor_digits: int) -> None:
    """The table's bold header row and its typed rows (total rows bold) into sheet ``ws``."""
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    ws.append([c.header for c in table.columns])
    for cell in ws[1]:
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, row in enumerate(table.rows):
        for j, col in enumerate(table.columns, start=1):
            # The cell exists even when empty, as the sheet's dimensions have always counted it.
            cell = ws.cell(row=i + 2, column=j)
            value = row.get(col.key)
            if value is None:
                continue
            cell.value, number_format = _xlsx_value(col.kind, value, minor_digits)
            if number_format is None:
                cell.data_type = "s"  # never a formula, whatever it starts with
            else:
                cell.number_format = number_format
            if i in table.totals:
                cell.font = bold


def _frozen_column(table: Table) -> int:
    """The first column right of the rep's code, name and team (1 without them)."""
    keys = [c.key for c in table.columns]
    return 1 + sum(1 for k in ("code", "name", "team") if k in keys)


def _column_width(table: Table, key: str, header: str, kind: str) -> int:
    """Wide enough for the header and, in a text column, the longest text (10 to 60)."""
    texts = [len(str(r.get(key) or "")) for r in table.rows] if kind == "text" else []
    return min(max(10, max([len(header), *texts]) + 2), 60)


def _format_columns(ws: Any, table: Table, amber: float, green: float) -> None:
    """Column widths, and a red-amber-green scale on attainment columns."""
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.utils import get_column_letter

    for j, col in enumerate(table.columns, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = _column_width(table, col.key, col.header, col.kind)
        if col.scale and table.rows:
            ws.conditional_formatting.add(
                f"{letter}2:{letter}{len(table.rows) + 1}",
                ColorScaleRule(
                    start_type="num",
                    start_value=amber,
                    start_color="F8696B",
                    mid_type="num",
                    mid_value=(amber + green) / 2,
                    mid_color="FFEB84",
                    end_type="num",
                    end_value=green,
                    end_color="63BE7B",
                ),
            )


def to_xlsx(
    tables: Sequence[Table],
    *,
    minor_digits: int = 2,
    amber: float = 0.8,
    green: float = 1.0,
) -> bytes:
    """The tables as one workbook, a sheet each: typed cells (numbers, h:mm:ss and hh:mm
    durations, percentages, money in major units), a bold header row, panes frozen under it and
    beside the rep's code, name and team; attainment columns coloured red below ``amber``, green
    from ``green`` (the board's thresholds)."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for table in tables:
        ws = wb.create_sheet(_sheet_title(table.title))
        _write_table(ws, table, minor_digits)
        ws.freeze_panes = ws.cell(row=2, column=_frozen_column(table))
        _format_columns(ws, table, amber, green)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def filename(report: dict[str, Any], ext: str) -> str:
    """``paceboard-daily-2026-11-27-一组.csv``: kind, period, team (path and quote characters
    of a team's name left out)."""
    when = report.get("day") or report["label"]
    team = report.get("team") or ""
    team = "".join(ch for ch in team if ch.isprintable() and ch not in '"\\/:*?<>|')
    return f"paceboard-{report['kind']}-{when}{'-' + team if team else ''}.{ext}"


def report_file(
    report: dict[str, Any],
    fmt: str,
    *,
    lang: str,
    minor_digits: int,
    amber: float = 0.8,
    green: float = 1.0,
) -> bytes:
    """The report as ``csv`` (its main table) or ``xlsx`` (every table, a sheet each)."""
    tables = report_tables(report, lang)
    if fmt == "csv":
        return to_csv(tables[0], minor_digits=minor_digits)
    if fmt == "xlsx":
        return to_xlsx(tables, minor_digits=minor_digits, amber=amber, green=green)
    raise ValueError(f"unknown report file format '{fmt}'")
