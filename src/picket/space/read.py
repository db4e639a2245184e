"""Read element-set files of any supported format, one or several providers at once."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np

from picket.model.rejects import Rejects
from picket.space import omm, tle
from picket.space.elements import ElementSets

log = logging.getLogger(__name__)

FORMATS = ("tle", "omm-csv", "omm-json", "omm-xml", "omm-kvn")


def sniff(head: bytes, name: str = "") -> str | None:
    """Which element-set format `head` (the first bytes of a file) is, or None."""
    s = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if s.startswith((b"[", b"{")):
        return "omm-json" if b"MEAN_MOTION" in s.upper() or name.endswith(".json") else None
    if s.startswith(b"<"):
        return "omm-xml" if b"<omm" in s.lower() or b"meanelements" in s.lower() else None
    if s.startswith(b"CCSDS_OMM_VERS"):
        return "omm-kvn"
    first = s.split(b"\n", 1)[0].upper()
    if b"NORAD_CAT_ID" in first and b"MEAN_MOTION" in first:
        return "omm-csv"
    lines = [x.rstrip() for x in s.splitlines()[:6]]
    for a, b in itertools.pairwise(lines):
        if a.startswith(b"1 ") and b.startswith(b"2 ") and len(a) >= 60 and len(b) >= 60:
            return "tle"
    return None


def parse(data: bytes, fmt: str, rejects: Rejects, source: str) -> ElementSets:
    """Whole-document parse; never raises for any input bytes."""
    try:
        if fmt == "tle":
            return tle.parse_tle(data, rejects, source)
        if fmt == "omm-csv":
            return omm.parse_csv(data, rejects, source)
        if fmt == "omm-json":
            return omm.parse_json(data, rejects, source)
        if fmt == "omm-xml":
            return omm.parse_xml(data, rejects, source)
        if fmt == "omm-kvn":
            return omm.parse_kvn(data, rejects, source)
    except Exception as e:  # a reader bug must cost one document, not the run
        rejects.reject(f"{fmt}.internal", f"{source}:0", f"{type(e).__name__}: {e}")
        log.error("%s: %s reader bug, the document is counted as %s.internal", source, fmt,
                  fmt, exc_info=True)  # fmt: skip
        return ElementSets.empty()
    raise ValueError(f"unknown element-set format {fmt!r}; known: {', '.join(FORMATS)}")


def read_elements(
    path: str | Path, rejects: Rejects, fmt: str = "auto", provider: str | None = None
) -> ElementSets:
    """One file; `provider` names its origin in the provenance (default: the file name)."""
    from picket.sources.registry import open_binary

    p = Path(path)
    with open_binary(p) as fh:
        data = fh.read()
    name = p.name.lower().removesuffix(".gz")
    f = sniff(data[:4096], name) if fmt == "auto" else fmt
    if f is None:
        rejects.reject("space.unknown_format", f"{p.name}:0", data[:200])
        return ElementSets.empty()
    es = parse(data, f, rejects, p.name)
    if provider:
        es.provider = np.full(len(es), provider)
    return es


def read_catalogues(paths: list[str | Path], rejects: Rejects) -> ElementSets:
    """Several files (providers, epochs) as one stack of element sets, provenance kept.

    A path may be written PROVIDER=FILE to name its provider.
    """
    parts = []
    for p in paths:
        prov, _, f = str(p).rpartition("=") if "=" in str(p) else ("", "", str(p))
        parts.append(read_elements(f, rejects, provider=prov or None))
    return ElementSets.concat(parts)
