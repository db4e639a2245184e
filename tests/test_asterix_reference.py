"""picket's ASTERIX decode against CroatiaControl's `asterix_decoder`, record by record.

The reference is GPL, so it is never a dependency: the test builds it from PyPI in a
throwaway venv (once, cached in the temp directory), runs it in a subprocess on the UDP
payloads that picket's own capture reader extracts, and compares per record: SAC/SIC,
address, position, time of day, flight level, speed and track, Mode 3/A and callsign.
Each record is cut out by picket's walk and given to the reference alone, so a wrong
record boundary shows as a mismatch; the whole payloads are also parsed in one go and
the record counts per category compared.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Reports
from picket.model.subjects import Namespace, format_subject, key
from picket.sources.asterix import OLD62, AsterixDecoder, CaptureStream, _walk62, udp_payload
from picket.sources.asterix_uap import UAPS, walk

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

FT = 0.3048
KT = 1852.0 / 3600.0

# runs inside the reference's venv: JSON list of hex blocks in, one summary per block out
_RUNNER = r'''
import json, sys
import asterix

def v(rec, item, *path):
    x = rec.get(item)
    for p in path:
        if not isinstance(x, dict):
            return None
        x = x.get(p)
    return x.get("val") if isinstance(x, dict) and "val" in x else x

out = []
for block in json.load(sys.stdin):
    recs = asterix.parse(bytes.fromhex(block))
    summary = []
    for r in recs:
        c = r.get("category")
        s = {"cat": c, "sac": v(r, "I010", "SAC"), "sic": v(r, "I010", "SIC")}
        if c == 48:
            s.update(tod=v(r, "I140", "ToD"), addr=v(r, "I220", "ACAddr"), rho=v(r, "I040", "RHO"),
                     fl=v(r, "I090", "FL"), gs_kt=v(r, "I200", "CGS"),
                     trk=v(r, "I200", "CHdg"), m3a=v(r, "I070", "Mode3A"),
                     m3a_v=v(r, "I070", "V"), cs=v(r, "I240", "TId"))
        elif c == 21:
            s.update(tod=v(r, "I073", "time_reception_position"),
                     hp=v(r, "I074", "time_reception_position_highprecision"),
                     fsi=v(r, "I074", "FSI"), tod71=v(r, "I071", "time_of_applicability"),
                     addr=v(r, "I080", "TAddr"), atp=v(r, "I040", "ATP"),
                     gbs=v(r, "I040", "GBS"), lat=v(r, "I130", "Lat"), lon=v(r, "I130", "Lon"),
                     lat_hi=v(r, "I131", "Lat"), lon_hi=v(r, "I131", "Lon"),
                     fl=v(r, "I145", "FL"), m3a=v(r, "I070", "Mode3A"),
                     cs=v(r, "I170", "TId"), ecat=v(r, "I020", "ECAT"),
                     vn=v(r, "I210", "VN"), nic=v(r, "I090", "NUCp_or_NIC"))
        elif c == 62:
            s.update(tod=v(r, "I070", "ToT"), lat=v(r, "I105", "Lat"),
                     lon=v(r, "I105", "Lon"), mfl_ft=v(r, "I136", "MFL"),
                     vx=v(r, "I185", "Vx"), vy=v(r, "I185", "Vy"),
                     m3a=v(r, "I060", "Mode3A"), tn=v(r, "I040", "TrkN"),
                     addr=v(r, "I380", "ADR", "ADR"), cs=v(r, "I380", "ID", "ACID"),
                     tid=v(r, "I245", "TId"))
        summary.append(s)
    out.append(summary)
json.dump(out, sys.stdout)
'''


@pytest.fixture(scope="session")
def reference() -> Path:
    """The reference's Python, built once into a cached throwaway venv (skip if impossible)."""
    cached = Path(tempfile.gettempdir()) / "picket-asterix-decoder-ref"
    home = Path(os.environ.get("PICKET_ASTERIX_REF", cached))
    py = home / "bin" / "python"
    if py.exists() and subprocess.run([py, "-c", "import asterix"],
                                      capture_output=True).returncode == 0:  # fmt: skip
        return py
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True,
                       capture_output=True, timeout=300)  # fmt: skip
        r = subprocess.run([py, "-m", "pip", "install", "-q", "asterix_decoder"],
                           capture_output=True, text=True, timeout=900)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as e:
        pytest.skip(f"cannot make a venv for the reference decoder: {e}")
    if r.returncode != 0:
        pytest.skip("asterix_decoder (the GPL reference, built from source) did not install; "
                    f"a C++ compiler and PyPI are needed: {r.stderr.strip()[-300:]}")  # fmt: skip
    return py


def _records(data: bytes) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """UDP payloads, and every record as (file offset, category, record bytes), by
    picket's capture reader and walk."""
    cs = CaptureStream(Rejects(), "ref", "asterix", raw_blocks=True)
    payloads, recs = [], []
    for _, link, frame, off in cs.feed(data, final=True):
        pl = udp_payload(link, frame)
        if pl is None:
            continue
        payloads.append(pl)
        poff = off + len(frame) - len(pl)
        p = 0
        while p + 3 <= len(pl):
            cat, ln = pl[p], int.from_bytes(pl[p + 1 : p + 3], "big")
            q, end = p + 3, p + ln
            while q < end:
                if cat == 62:
                    ed, _, nxt = _walk62(pl, q, end)
                    cat_of = OLD62 if ed == OLD62 else 62
                else:
                    _, nxt = walk(pl, q, end, UAPS[cat])
                    cat_of = cat
                recs.append((poff + q, cat_of, pl[q:nxt]))
                q = nxt
            p = end
    return payloads, recs


def _run_reference(py: Path, blocks: list[bytes]) -> list[list[dict]]:
    r = subprocess.run([py, "-c", _RUNNER], input=json.dumps([b.hex() for b in blocks]),
                       capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    return json.loads(r.stdout)


def _picket(data: bytes, sites: dict, start: float) -> tuple[Reports, dict[int, set[str]]]:
    dec = AsterixDecoder(Rejects(), "ref", start_time=start, sites=sites)
    out = [dec.feed(data), dec.flush()]
    cs: dict[int, set[str]] = defaultdict(set)
    for o in out:
        for s in o.statics:
            if "callsign" in s.fields:
                cs[s.subject].add(s.fields["callsign"])
    return Reports.concat([o.reports for o in out]), cs


def _octal(text: str | None) -> int | None:
    return int(text) if text is not None else None


@pytest.mark.parametrize("name,start", [
    ("asterix_cat034_048.pcap", None), ("asterix_cat062_065.pcap", None),
    ("asterix_cat021.ast", 1_700_000_000.0),
])  # fmt: skip
def test_same_fields_as_the_reference(shared_data, reference, name, start):
    data = (shared_data / "air" / name).read_bytes()
    payloads, recs = _records(data)
    # record boundaries: the reference parsing whole payloads finds as many per category
    whole = _run_reference(reference, payloads)
    ref_counts: dict[int, int] = defaultdict(int)
    for summ in whole:
        for s in summ:
            ref_counts[s["cat"]] += 1
    ours: dict[int, int] = defaultdict(int)
    for _, cat, _ in recs:
        ours[cat] += 1
    assert dict(ours) == dict(ref_counts)
    # each record alone (cut by picket's walk) through the reference
    single = _run_reference(reference, [bytes([c]) + (3 + len(r)).to_bytes(2, "big") + r
                                        for _, c, r in recs])  # fmt: skip
    assert all(len(s) == 1 for s in single)
    radars = {(s[0]["sac"], s[0]["sic"]) for s in single if s[0]["cat"] == 48}
    sites = {k: (44.0, 16.0, 100.0) for k in radars}  # CAT048 lat/lon are not compared here
    rep, callsigns = _picket(data, sites, start)
    by_off = {int(r): i for i, r in enumerate(rep.raw.tolist())}
    ref_cs: dict[int, set[str]] = defaultdict(set)
    compared = 0
    for (off, cat, _), (ref,) in zip(recs, single, strict=True):
        if cat not in (21, 48, 62) or (cat == 48 and ref["rho"] is None):
            assert off not in by_off  # service messages, and plots without a position
            continue
        i = by_off[off]  # every target record decoded (all radars sited, all dated)
        assert SOURCES.name(int(rep.source[i])) == f"asterix:{ref['sac']}/{ref['sic']}"
        tod = float(rep.time[i]) % 86400
        subject = int(rep.subject[i])
        if cat == 21 and ref["hp"] is not None and ref["fsi"] == 0:
            assert tod == pytest.approx(math.floor(ref["tod"]) + ref["hp"] * 1e-9, abs=1e-6)
        elif ref["tod"] is not None:
            assert tod == pytest.approx(ref["tod"], abs=1e-6)
        if ref.get("addr"):
            icao = ref.get("atp") in (None, 0, 1)
            want = key(Namespace.ICAO, int(ref["addr"], 16)) if icao else -1
            assert subject == want
        elif cat == 62:
            assert format_subject(subject) == f"sdps:{ref['sac']}/{ref['sic']}/{ref['tn']}"
        if ref.get("lat") is not None or ref.get("lat_hi") is not None:
            lat = ref.get("lat_hi") if ref.get("lat_hi") is not None else ref["lat"]
            lon = ref.get("lon_hi") if ref.get("lon_hi") is not None else ref["lon"]
            assert rep.lat[i] == pytest.approx(lat, abs=1e-9)
            assert rep.lon[i] == pytest.approx(lon, abs=1e-9)
        fl_ft = ref["fl"] * 100 if ref.get("fl") is not None else ref.get("mfl_ft")
        if fl_ft is not None:
            assert rep.alt[i] / FT == pytest.approx(fl_ft, abs=0.01)
        else:
            assert np.isnan(rep.alt[i])
        if ref.get("gs_kt") is not None:
            assert rep.speed[i] == pytest.approx(ref["gs_kt"] * KT, rel=1e-5)
            assert rep.course[i] == pytest.approx(ref["trk"], abs=1e-4)
        if ref.get("vx") is not None:
            assert rep.speed[i] == pytest.approx(math.hypot(ref["vx"], ref["vy"]), rel=1e-5)
            want = math.degrees(math.atan2(ref["vx"], ref["vy"])) % 360
            assert rep.course[i] == pytest.approx(want, abs=1e-3)
        if ref.get("m3a") is not None and not ref.get("m3a_v"):
            assert int(rep.squawk[i]) == _octal(ref["m3a"])
        if cat == 21:
            assert int(rep.on_ground[i]) == (ref["gbs"] if ref["gbs"] is not None else -1)
            if ref["vn"] is not None:
                assert int(rep.version[i]) == ref["vn"]
            if ref["nic"] is not None:
                assert int(rep.nic[i]) == ref["nic"]
        text = ref.get("tid") or ref.get("cs")
        if text and text.strip() and subject >= 0:
            ref_cs[subject].add(text.strip())
        compared += 1
    assert compared >= 2
    # callsigns: each subject's facts are the ones the reference read for it
    assert {s: c for s, c in callsigns.items() if s in ref_cs} == dict(ref_cs)
