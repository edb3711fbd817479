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
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    money = "#,##0" + ("." + "0" * minor_digits if minor_digits else "")
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    for table in tables:
        # Sheet titles: at most 31 characters, none of []:*?/\
        title = "".join(ch for ch in table.title if ch not in "[]:*?/\\")[:31] or "Sheet"
        ws = wb.create_sheet(title)
        ws.append([c.header for c in table.columns])
        for cell in ws[1]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for i, row in enumerate(table.rows):
            r = i + 2
            for j, col in enumerate(table.columns, start=1):
                value = row.get(col.key)
                cell = ws.cell(row=r, column=j)
                if value is None:
                    continue
                if col.kind == "text":
                    cell.value = str(value)
                    cell.data_type = "s"  # never a formula, whatever it starts with
                elif col.kind == "seconds":
                    cell.value = timedelta(seconds=round(value))
                    cell.number_format = _FORMATS["seconds"]
                elif col.kind == "duration":
                    # Whole minutes, so a spreadsheet shows the hh:mm the CSV and the page do.
                    cell.value = timedelta(minutes=(round(value) + 30) // 60)
                    cell.number_format = _FORMATS["duration"]
                elif col.kind == "money":
                    cell.value = round(value / 10**minor_digits, minor_digits)
                    cell.number_format = money
                elif col.kind == "int":
                    cell.value = int(value)
                    cell.number_format = _FORMATS["int"]
                else:
                    cell.value = float(value)
                    cell.number_format = _FORMATS[col.kind]
                if i in table.totals:
                    cell.font = bold
        keys = [c.key for c in table.columns]
        frozen = 1 + sum(1 for k in ("code", "name", "team") if k in keys)
        ws.freeze_panes = ws.cell(row=2, column=frozen if frozen > 1 else 1)
        for j, col in enumerate(table.columns, start=1):
            letter = get_column_letter(j)
            longest = max(
                [len(col.header)]
                + [len(str(r.get(col.key) or "")) for r in table.rows if col.kind == "text"]
            )
            ws.column_dimensions[letter].width = min(max(10, longest + 2), 60)
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
