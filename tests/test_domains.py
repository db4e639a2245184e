"""The domain table: the generated TypeScript is current, the server picture and CoT read
their per-domain constants from it, and the page's hand-kept constants agree with it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from picket.model import domains
from picket.model.domains import BY_NAME, SPECS
from picket.model.reports import Domain
from picket.model.subjects import SHIFT, Namespace, key, parse_subject

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web" / "src"


def test_generated_typescript_is_current():
    committed = (ROOT / domains.TS_PATH).read_text(encoding="utf-8")
    assert committed == domains.typescript(), (
        "web/src/generated/domains.ts is stale: run "
        "`python -m picket.model.domains --ts > web/src/generated/domains.ts`")


def test_every_domain_has_one_spec():
    assert sorted(s.code for s in SPECS) == sorted(int(d) for d in Domain if d != Domain.NONE)
    assert domains.label(0) == "none" and domains.label(99) == "none"
    assert domains.label(int(Domain.MARITIME)) == "maritime"


def test_namespaces_name_their_domain():
    for text, name in (("mmsi:235000001", "maritime"), ("icao:4ca7b5", "air"),
                       ("norad:25544", "space"), ("rid:ABC123", "air"),
                       ("sdps:25/12/1234", "air")):  # fmt: skip
        spec = domains.of_namespace(parse_subject(text) >> SHIFT)
        assert spec is not None and spec.name == name, text
    assert domains.of_namespace(parse_subject("track:7") >> SHIFT) is None  # any domain
    assert BY_NAME["air"].namespaces and domains.prefix(BY_NAME["air"].namespaces[2]) == "sdps"


def test_sidc_letter_codes():
    assert BY_NAME["air"].sidc("F") == "SFAP-----------"
    assert BY_NAME["space"].sidc("S") == "SSPPS----------"
    assert all(len(s.sidc()) == 15 for s in SPECS)


def test_server_picture_and_cot_read_the_table():
    from picket.serve import picture
    from picket.share import cot

    # the same objects, not copies that agree today
    assert picture.STALE_S is domains.STALE_S and picture.DROP_S is domains.DROP_S
    assert picture.DOMAIN_NAMES is domains.DOMAIN_NAMES
    assert picture.DOMAIN_CODES is domains.DOMAIN_CODES
    assert cot.DIMENSION is domains.COT_DIMENSION and cot.CE_M is domains.COT_CE_M


def _one_track_per_domain():
    """A picture with one track of every domain in the table, each `age_s` old."""
    from picket.serve.picture import Picture

    pic = Picture.empty()
    n, now = len(SPECS), 10_000.0
    ages = np.array([s.stale_s + 1.0 if i % 2 else s.stale_s - 1.0
                     for i, s in enumerate(SPECS)])  # fmt: skip
    cols = {k: np.full(n, v, dtype=pic.cols[k].dtype) for k, v in
            (("lat", 55.0), ("lon", 12.0), ("alt", 1500.0), ("speed", 5.0),
             ("course", 90.0), ("heading", np.nan), ("first_time", 0.0), ("squawk", 0),
             ("emergency", 0), ("nav_status", 0), ("n_reports", 1))}  # fmt: skip
    cols["subject"] = np.array([key(Namespace.TRACK, i + 1) for i in range(n)], np.int64)
    cols["domain"] = np.array([s.code for s in SPECS], np.uint8)
    cols["pos_time"] = cols["last_time"] = now - ages
    cols["id"] = np.arange(n, dtype=np.int64)
    return Picture(now, cols), ages


def test_every_domain_in_the_table_is_drawn_and_sent_as_its_row_says():
    """Fails when a domain is added to the table that the picture or CoT do not handle
    (a base identity the picture has no code for, a dimension or stale time not used)."""
    from picket.serve import picture
    from picket.share import cot

    pic, ages = _one_track_per_domain()
    stale = (pic.flags(np.zeros(0, np.int64)) & picture.FLAG_STALE) > 0
    ident = pic.identity()
    events = cot.events_for(pic, np.arange(len(SPECS)))
    for i, s in enumerate(SPECS):
        assert picture.IDENTITIES[ident[i]] == s.base_identity, s.name
        assert stale[i] == (ages[i] > s.stale_s), s.name
        assert pic.alive()[i], s.name
        e = events[i]
        letter = picture.COT_AFFILIATION[s.base_identity]
        assert e.type == cot.cot_type(s.code) == f"a-{letter}-{s.cot_dimension}", s.name
        assert e.stale - e.time == s.drop_s, s.name
        assert e.ce == (s.cot_ce_m if s.cot_ce_m is not None else cot.CE_DEFAULT_M), s.name
        if s.has_altitude:
            assert e.hae == 1500.0 and e.le == 30.0, s.name
        else:
            assert e.hae in (0.0, cot.UNKNOWN) and e.le == cot.UNKNOWN, s.name


def test_suspect_kinds_come_from_the_registry():
    from picket.detect import registry
    from picket.serve import picture

    assert registry.suspect_kinds() == picture.SUSPECT_KINDS
    assert "air.loitering" in picture.SUSPECT_KINDS
    assert "air.emergency" not in picture.SUSPECT_KINDS  # distress is not behaviour
    assert set(picture.SUSPECT_KINDS) == registry.suspect_kinds()


def test_the_picture_imports_no_detector():
    """SUSPECT_KINDS is read from the registry at use, so the server's import stays light."""
    code = ("import sys, picket.serve.picture, picket.share.cot; "
            "print(sorted(m for m in sys.modules if m.startswith('picket.detect.')))")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, check=True)  # fmt: skip
    assert r.stdout.strip() == "[]"


def test_page_constants_agree_with_the_table():
    frames = (WEB / "frames.ts").read_text(encoding="utf-8")
    m = re.search(r"export const DOMAINS = (\[[^\]]*\])", frames)
    assert m and m.group(1).replace(" ", "") == re.search(
        r"export const DOMAINS = (\[[^\]]*\])", domains.typescript()).group(1).replace(" ", "")
    mil = (WEB / "milSymbols.ts").read_text(encoding="utf-8")
    code = dict(re.findall(r'^\s+(\w+): \["(\w)", "[-\w]+"\],', mil, re.M))
    fn = dict(re.findall(r'^\s+(\w+): \["\w", "([-\w]+)"\],', mil, re.M))
    store = (WEB / "trackStore.ts").read_text(encoding="utf-8")
    cls_of = {"air": ("aircraft", "CLS_AIR"), "maritime": ("vessels", "CLS_SEA"),
              "space": ("satellites", "CLS_SPACE"), "em": ("em", "CLS_EM")}  # fmt: skip
    for s in SPECS:
        page_cls, const = cls_of[s.name]
        assert code[page_cls] == s.sidc_dimension and fn[page_cls] == s.sidc_function, s.name
        rgb = re.search(rf"\[{const}\]: \[(\d+), (\d+), (\d+)\]", store)
        assert rgb and tuple(int(x) for x in rgb.groups()) == s.colour, s.name


def test_a_cot_type_picket_sends_reads_back_as_its_domain():
    from picket.share import cot
    from picket.sources import cot_in

    for s in SPECS:
        for ident in range(4):
            back = cot_in.domain_of(cot.cot_type(s.code, ident))
            # "G" (ground) is only the stand-in where CoT has no better letter
            assert back == (int(Domain.NONE) if s.cot_dimension == "G" else s.code), s.name
    assert cot_in.domain_of("a-h-U-S") == int(Domain.MARITIME)  # subsurface: a vessel
