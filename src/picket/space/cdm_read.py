"""CCSDS Conjunction Data Messages (508.0-B-1) as input: KVN and XML, from an operator,
Space-Track or picket's own writer (space/cdm.py).

A CDM is one conjunction between OBJECT1 and OBJECT2: the header says who made it and when
(ORIGINATOR, MESSAGE_ID, CREATION_DATE), the relative metadata when and how close (TCA,
MISS_DISTANCE, RELATIVE_SPEED, COLLISION_PROBABILITY), each object segment who it is
(OBJECT_DESIGNATOR, OBJECT_NAME, ...) and its state at TCA (X..Z_DOT, km and km/s, in
REF_FRAME). Keywords are the same in both encodings, so both are read into one flat form.
A file that is not a CDM, or lacks what an alert needs, is counted and dead-lettered
(`space.cdm_*`), never fatal.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np

from picket.model.rejects import Rejects

log = logging.getLogger(__name__)

MAX_BYTES = 1 << 20  # a CDM is a few kB; larger is not one
_DOY = re.compile(r"^(\d{4})-(\d{3})T(\d{2}):(\d{2}):(\d{2}(?:\.\d*)?)Z?$")
_NUM = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?:\[[^\]]*\])?\s*$")


@dataclass
class CdmObject:
    designator: str  # the catalogue number as given (a NORAD number for SATCAT)
    name: str = ""
    international_designator: str = ""
    catalog_name: str = ""
    ref_frame: str = ""
    maneuverable: str = ""
    r_km: np.ndarray | None = None  # position at TCA in REF_FRAME
    v_kms: np.ndarray | None = None

    @property
    def norad(self) -> int | None:
        d = self.designator.strip()
        return int(d) if d.isdigit() else None


@dataclass
class Cdm:
    originator: str
    message_id: str
    creation_date: float
    tca: float
    miss_distance_m: float
    relative_speed_ms: float | None
    probability: float | None
    probability_method: str
    objects: list[CdmObject] = field(default_factory=list)
    file: str = ""
    version: str = ""


def ccsds_time(text: str) -> float:
    """CCSDS ASCII time (`YYYY-MM-DDThh:mm:ss[.d]` or day-of-year `YYYY-DDDThh:mm:ss`), UTC."""
    s = text.strip()
    m = _DOY.match(s)
    if m:
        y, doy, hh, mm, ss = m.groups()
        t = datetime(int(y), 1, 1, tzinfo=UTC) + timedelta(
            days=int(doy) - 1, hours=int(hh), minutes=int(mm), seconds=float(ss))  # fmt: skip
        return t.timestamp()
    dt = datetime.fromisoformat(s.removesuffix("Z"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _num(v: str | None) -> float | None:
    """A KVN value with an optional `[unit]` (units are the standard's: m, m/s, km, km/s)."""
    if v is None:
        return None
    m = _NUM.match(v)
    if not m:
        return None
    x = float(m.group(1))
    return x if np.isfinite(x) else None


def _kvn_pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("COMMENT") or "=" not in s:
            continue
        k, _, v = s.partition("=")
        out.append((k.strip().upper(), v.strip()))
    return out


def _xml_pairs(data: bytes) -> list[tuple[str, str]]:
    """The leaf elements of an XML CDM in document order, as KVN pairs (an `OBJECT` leaf
    starts each segment, as in KVN)."""
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.I):  # no entity expansion of outside input
        raise ValueError("XML with a DOCTYPE or entities is refused")
    root = ET.fromstring(data)
    out = []
    for el in root.iter():
        if len(el) or el.text is None:
            continue
        tag = el.tag.rsplit("}", 1)[-1].upper()
        if tag != "COMMENT":
            out.append((tag, el.text.strip()))
    if root.attrib.get("version") and not any(k == "CCSDS_CDM_VERS" for k, _ in out):
        out.insert(0, ("CCSDS_CDM_VERS", root.attrib["version"]))
    return out


def parse_cdm(data: bytes, file: str = "") -> Cdm:
    """One CDM from KVN or XML bytes (ValueError with the reason when it is not one)."""
    head = data.lstrip()[:1]
    pairs = _xml_pairs(data) if head == b"<" else _kvn_pairs(data.decode("utf-8", "replace"))
    top: dict[str, str] = {}
    objs: list[dict[str, str]] = []
    for k, v in pairs:
        if k == "OBJECT":
            objs.append({"OBJECT": v})
        elif objs:
            objs[-1].setdefault(k, v)
        else:
            top.setdefault(k, v)
    if "CCSDS_CDM_VERS" not in top:
        raise ValueError("no CCSDS_CDM_VERS: not a CDM")
    for k in ("CREATION_DATE", "ORIGINATOR", "MESSAGE_ID", "TCA", "MISS_DISTANCE"):
        if not top.get(k):
            raise ValueError(f"no {k}")
    if len(objs) != 2 or any(not o.get("OBJECT_DESIGNATOR") for o in objs):
        raise ValueError("needs OBJECT1 and OBJECT2 with OBJECT_DESIGNATOR")
    miss = _num(top["MISS_DISTANCE"])
    if miss is None or miss < 0:
        raise ValueError(f"MISS_DISTANCE {top['MISS_DISTANCE'][:30]!r}")
    objects = []
    for o in sorted(objs, key=lambda o: o["OBJECT"].upper()):
        rv = [_num(o.get(k)) for k in ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")]
        ok = all(x is not None for x in rv)
        objects.append(CdmObject(
            designator=o["OBJECT_DESIGNATOR"], name=o.get("OBJECT_NAME", ""),
            international_designator=o.get("INTERNATIONAL_DESIGNATOR", ""),
            catalog_name=o.get("CATALOG_NAME", ""), ref_frame=o.get("REF_FRAME", "").upper(),
            maneuverable=o.get("MANEUVERABLE", ""),
            r_km=np.array(rv[:3], float) if ok else None,
            v_kms=np.array(rv[3:], float) if ok else None))  # fmt: skip
    try:
        created, tca = ccsds_time(top["CREATION_DATE"]), ccsds_time(top["TCA"])
    except ValueError:
        raise ValueError("CREATION_DATE or TCA is not a CCSDS time") from None
    return Cdm(originator=top["ORIGINATOR"], message_id=top["MESSAGE_ID"],
               creation_date=created, tca=tca, miss_distance_m=miss,
               relative_speed_ms=_num(top.get("RELATIVE_SPEED")),
               probability=_num(top.get("COLLISION_PROBABILITY")),
               probability_method=top.get("COLLISION_PROBABILITY_METHOD", ""),
               objects=objects, file=file, version=top["CCSDS_CDM_VERS"])  # fmt: skip


CDM_SUFFIXES = (".cdm", ".kvn", ".xml", ".txt")


def cdm_files(paths: list[str | Path]) -> list[Path]:
    """The files named, and in each directory named its `*.cdm`, `*.kvn`, `*.xml`, `*.txt`
    (sorted by name; a missing path yields nothing: a followed folder may appear later)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir()
                            if f.suffix.lower() in CDM_SUFFIXES and f.is_file())  # fmt: skip
        elif p.exists():
            files.append(p)
    return files


def read_bytes(f: Path) -> bytes:
    """A file's bytes, refused past MAX_BYTES (ValueError) without reading more."""
    with open(f, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    return data


def refuse(f: Path | str, e: Exception, data: bytes, rejects: Rejects | None) -> None:
    """One file that is not a usable CDM: logged, counted and dead-lettered."""
    log.warning("CDM %s refused: %s", f, e)
    if rejects is not None:
        rejects.reject("space.cdm_invalid", f"{f}: {e}", data[:200] or None)


def read_cdms(paths: list[str | Path], rejects: Rejects | None = None) -> list[Cdm]:
    """Every CDM in the files and directories given (`cdm_files`); the ones that are not,
    counted as `space.cdm_invalid`."""
    out = []
    for f in cdm_files(paths):
        data = b""
        try:
            data = read_bytes(f)
            out.append(parse_cdm(data, str(f)))
        except (OSError, ValueError, ET.ParseError) as e:
            refuse(f, e, data, rejects)
    return out


def provenance(c: Cdm) -> dict[str, Any]:
    """What the evidence keeps of where a CDM came from."""
    from picket.model.alerts import iso

    return {"originator": c.originator, "message_id": c.message_id,
            "creation_date": iso(c.creation_date), "file": Path(c.file).name,
            "cdm_version": c.version}  # fmt: skip
