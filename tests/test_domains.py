"""The domain table: the generated TypeScript is current, and the per-domain constants still
kept elsewhere (server picture, CoT, the page) agree with it until they are derived."""

from __future__ import annotations

import re
from pathlib import Path

from picket.model import domains
from picket.model.domains import BY_NAME, SPECS
from picket.model.reports import Domain
from picket.model.subjects import SHIFT, parse_subject

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


def test_server_picture_and_cot_agree_with_the_table():
    from picket.serve import picture
    from picket.share import cot

    assert dict(picture.STALE_S) == dict(domains.STALE_S)
    assert dict(picture.DROP_S) == dict(domains.DROP_S)
    assert dict(domains.DOMAIN_NAMES) == picture.DOMAIN_NAMES
    assert dict(domains.DOMAIN_CODES) == picture.DOMAIN_CODES
    for s in SPECS:
        base = picture.IDENTITIES[picture.BASE_IDENTITY.get(s.domain, picture.ID_UNKNOWN)]
        assert base == s.base_identity, s.name
        letter = picture.COT_AFFILIATION[s.base_identity]
        assert cot.cot_type(s.code) == f"a-{letter}-{s.cot_dimension}", s.name
        assert cot.CE_M.get(s.code) == s.cot_ce_m, s.name


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
