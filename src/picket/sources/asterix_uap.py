"""ASTERIX record layouts (UAPs) per category, and the walk that finds each item.

ASTERIX records are variable-length: a record's FSPEC says which items follow, and an
item's length depends on its format (fixed, extended while the FX bit is set, repeated,
explicit, or compound with its own presence bits). To skip an item we must know its
format, so one unknown item loses the rest of the data block: the tables below list
every item of each supported edition, not just the ones picket uses.

Rules: ``int`` fixed length; ``"fx"`` one-octet parts extended while bit 1 is set;
``"fx3"`` three-octet parts likewise (I062/510); ``("rep", n)`` a one-octet count then
n octets each; ``"sp"`` an explicit length octet counting itself (RE, SP); ``("c", [..])``
a compound item whose primary subfield (FX-extended, seven presence bits per octet)
selects sub-items in order, each with its own rule (None = spare); ``None`` in a UAP is
a spare FRN: a record setting it cannot be walked.
"""

from __future__ import annotations

from typing import Any

Rule = Any
_FX = "fx"
_SP = "sp"


def _rep(n: int) -> tuple[str, int]:
    return ("rep", n)


def _c(*subs: Rule) -> tuple[str, tuple[Rule, ...]]:
    return ("c", subs)


# CAT048 monoradar target reports, edition 1.2x (FRN order)
UAP48: list[Rule] = [
    2, 3, _FX, 4, 2, 2, _c(1, 1, 1, 1, 1, 1, 1),  # 010 140 020 040 070 090 130
    3, 6, _rep(8), 2, 4, 4, _FX,  # 220 240 250 161 042 200 170
    4, _FX, 2, 4, 2, _c(2, _rep(6)), 2,  # 210 030 080 100 110 120 230
    7, 1, 2, 1, 2, _SP, _SP,  # 260 055 050 065 060 SP RE
]  # fmt: skip

# CAT034 monoradar service messages, edition 1.2x
UAP34: list[Rule] = [
    2, 1, 3, 1, 2,  # 010 000 030 020 041
    _c(1, None, None, 1, 1, 2, None),  # 050 system configuration and status
    _c(1, None, None, 1, 1, 1, None),  # 060 system processing mode
    _rep(2), 8, 1, 8, 2, _SP, _SP,  # 070 100 110 120 090 RE SP
]  # fmt: skip

# CAT021 ADS-B target reports, edition 2.1 to 2.6
UAP21: list[Rule] = [
    2, _FX, 2, 1, 3, 6, 8,  # 010 040 161 015 071 130 131
    3, 2, 2, 3, 3, 4, 3,  # 072 150 151 080 073 074 075
    4, 2, _FX, 1, 2, 2, 2,  # 076 140 090 210 070 230 145
    2, 1, 2, 2, 4, 2, 3,  # 152 200 155 157 160 165 077
    6, 1, _c(2, 2, 2, 1), 2, 2, _c(_FX, _rep(15)), 1,  # 170 020 220 146 148 110 016
    1, _FX, 1, _rep(8), 7, 1, _c(*([1] * 23)),  # 008 271 132 250 260 400 295
    None, None, None, None, None, _SP, _SP,  # spare x5, RE, SP
]  # fmt: skip

# CAT062 SDPS system track data, edition 1.1x (1.10 to 1.19)
UAP62: list[Rule] = [
    2, None, 1, 3, 8, 6, 4,  # 010 spare 015 070 105 100 185
    2, 2, 7,  # 210 060 245
    _c(3, 6, 2, 2, 2, 2, 2,  # 380 aircraft derived data: ADR ID MHG IAS TAS SAL FSS
       1, _rep(15), 2, 2, 7, 2, 2,  # TIS TID COM SAB ACS BVR GVR
       2, 2, 2, 2, 1, 8, 1,  # RAN TAR TAN GSP VUN MET EMC
       6, 2, 1, _rep(8), 2, 2, 2),  # POS GAL PUN MB IAR MAC BPS
    2, _FX, _c(1, 1, 1, 1, 2, 1, 1, 1, 1, 1),  # 040 080 290 update ages
    1, _c(*([1] * 31)), 2, 2, 2, 2,  # 200 295 136 130 135 220
    _c(2, 7, 4, 1, 4, 1, 4, 4, 3, 2, 2, _rep(4), 6, 1, 7, 7, 2, 7),  # 390 flight plan
    _FX, 1, _c(1, 4, 6, 2, 2, 1, 1), 2, "fx3",  # 270 300 110 120 510
    _c(4, 2, 4, 1, 1, 2, 2, 1),  # 500 estimated accuracies
    _c(2, 4, 2, 2, 2, 1),  # 340 measured information
    None, None, None, None, None, _SP, _SP,  # spare x5, RE, SP
]  # fmt: skip

# CAT062 edition 0.17 (2008 and before; the asterix_mixed sample): other FRN order, 6-octet
# WGS84 position, polar velocity (I062/180), flight plan callsign in ASCII. Items whose
# layout we do not hold (050, 500) are None: a record using them is not walked.
UAP62_017: list[Rule] = [
    2, 1, 3, 2, 6, 4, 2,  # 010 015 070 040 105 100 060
    2, 2, 2, 4, 1, 2, 1,  # 130 135 136 180 200 220 240
    2, _FX, _c(1, 1, 1, 1, 1, 2, 1, 1, 1),  # 210 080 290 update ages
    _c(2, 4, 2, 2, 2, 1),  # 340 measured information
    _c(9, 3, 6, 2, 7),  # 380 Mode S data: MB ADR ID COM ACS
    None,  # 050
    _c(2, 7, 4, 1, 4, 1, 4, 4, 3, 2, 2, _rep(4), 6, 1),  # 390 flight plan
    1, 2, "fx3", None, None, _SP, _SP,  # 110 120 510 spare spare RE SP
]  # fmt: skip

# CAT065 SDPS service status messages, edition 1.x
UAP65: list[Rule] = [2, 1, 1, 3, 1, 1, 1, None, None, None, None, None, _SP, _SP]

UAPS: dict[int, list[Rule]] = {21: UAP21, 34: UAP34, 48: UAP48, 62: UAP62, 65: UAP65}


class Truncated(Exception):
    """A record that runs past its block, or sets an item no table knows."""


def _fx_len(buf: bytes, p: int, unit: int) -> int:
    n = unit
    while p + n - 1 < len(buf) and buf[p + n - 1] & 1:
        n += unit
    return n


def item_len(buf: bytes, p: int, rule: Rule, subs: dict[int, int] | None = None) -> int:
    """Length of one data item starting at p (raises Truncated past the end).

    For a compound item, `subs` (when given) receives sub-item index (1-based) -> offset.
    """
    if isinstance(rule, int):
        n = rule
    elif rule == _FX:
        n = _fx_len(buf, p, 1)
    elif rule == "fx3":
        n = _fx_len(buf, p, 3)
    elif rule == _SP:
        if p >= len(buf) or buf[p] < 1:
            raise Truncated
        n = buf[p]
    elif isinstance(rule, tuple) and rule[0] == "rep":
        if p >= len(buf):
            raise Truncated
        n = 1 + buf[p] * rule[1]
    elif isinstance(rule, tuple) and rule[0] == "c":
        table = rule[1]
        n = _fx_len(buf, p, 1)
        if p + n > len(buf):
            raise Truncated
        for oi in range(n):
            b = buf[p + oi]
            for bit in range(7):
                if not b & (0x80 >> bit):
                    continue
                i = oi * 7 + bit
                if i >= len(table):
                    raise Truncated  # a sub-item this edition does not have: cannot skip
                if table[i] is None:
                    continue  # a spare bit set: nothing follows for it
                if subs is not None:
                    subs[i + 1] = p + n
                n += item_len(buf, p + n, table[i])
    else:  # pragma: no cover - table error
        raise ValueError(rule)
    if p + n > len(buf):
        raise Truncated
    return n


SUB = 100  # key of a compound's sub-item in a walk: FRN * SUB + sub-item index


Layout = list[tuple[int, Rule, bool]]
_LAYOUTS: dict[tuple[int, bytes, tuple[int, ...]], Layout] = {}


def _layout(fspec: bytes, uap: list[Rule], compound: tuple[int, ...]) -> Layout:
    """(FRN, rule, wanted sub-items) of each item an FSPEC announces, in order; a feed uses
    few distinct FSPECs, so this is worked out once per FSPEC, not once per record."""
    k = (id(uap), fspec, compound)
    out = _LAYOUTS.get(k)
    if out is None:
        out = []
        for oi, b in enumerate(fspec):
            for bit in range(7):
                if b & (0x80 >> bit):
                    frn = oi * 7 + bit + 1
                    if frn > len(uap) or uap[frn - 1] is None:
                        raise Truncated  # an item this UAP does not know: cannot skip it
                    out.append((frn, uap[frn - 1], frn in compound))
        if len(_LAYOUTS) > 4096:  # bounded: damaged input makes up FSPECs
            _LAYOUTS.clear()
        _LAYOUTS[k] = out
    return out


def walk(buf: bytes, p: int, end: int, uap: list[Rule],
         compound: tuple[int, ...] = ()) -> tuple[dict[int, int], int]:  # fmt: skip
    """Item offsets (FRN -> offset) of the record at p, and where the next one starts.

    Sub-items of the compound FRNs named in `compound` are included as FRN*SUB + index.
    """
    fspec_end = p
    while True:
        if fspec_end >= end:
            raise Truncated
        if not buf[fspec_end] & 1:
            break
        fspec_end += 1
    q = fspec_end + 1
    items: dict[int, int] = {}
    view = buf[:end]
    for frn, rule, wanted in _layout(buf[p:q], uap, compound):
        items[frn] = q
        if isinstance(rule, int):
            q += rule
            continue
        subs: dict[int, int] | None = {} if wanted else None
        q += item_len(view, q, rule, subs)
        if subs:
            items.update({frn * SUB + k: v for k, v in subs.items()})
    if q > end:
        raise Truncated
    return items, q
