"""Adapters: turn what telephony systems export into records in the POST /api/v1/calls shape.

An adapter never touches the database; :mod:`app.ingest.importer` feeds its records through
:func:`app.ingest.records.parse_record` and :func:`app.ingest.service.apply_batch`.
"""

from app.ingest.adapters.asterisk import read_master_csv

FORMATS = ("asterisk",)
#: Formats the issue names that have no adapter yet.
PLANNED_FORMATS = ("asterisk-custom", "freeswitch", "csv", "xlsx")

__all__ = ["FORMATS", "PLANNED_FORMATS", "read_master_csv"]
