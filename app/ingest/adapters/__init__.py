"""Adapters: turn what telephony systems export into records in the POST /api/v1/calls shape.

An adapter never touches the database; :mod:`app.ingest.importer` feeds its records through
:func:`app.ingest.records.parse_record` and :func:`app.ingest.batch.apply_batch`. Each module
exposes its :class:`~app.ingest.adapters.base.Adapter` values; this registry names them for
``paceboard import --format`` and ``POST /api/v1/imports``.
"""

from app.ingest.adapters.asterisk import ASTERISK, ASTERISK_CUSTOM, read_master_csv
from app.ingest.adapters.base import Adapter, Input, OptionError, Options, Row, RowError
from app.ingest.adapters.freeswitch import FREESWITCH
from app.ingest.adapters.table import CSV, XLSX

ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        ASTERISK,
        ASTERISK_CUSTOM,
        FREESWITCH,
        CSV,
        XLSX,
    )
}
FORMATS = tuple(ADAPTERS)

__all__ = [
    "ADAPTERS",
    "FORMATS",
    "Adapter",
    "Input",
    "OptionError",
    "Options",
    "Row",
    "RowError",
    "read_master_csv",
]
