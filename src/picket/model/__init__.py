"""Reports, subjects, rejects and alerts: the shapes every stage shares."""

from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import COLUMNS, SCHEMA, SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, format_subject, key, parse_subject

__all__ = [
    "COLUMNS",
    "SCHEMA",
    "SOURCES",
    "Decoded",
    "Domain",
    "Kind",
    "Namespace",
    "Rejects",
    "Reports",
    "Static",
    "format_subject",
    "key",
    "parse_subject",
]
