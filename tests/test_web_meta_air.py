"""The meta row's category for aircraft: the ADS-B emitter category (the APP-6 symbol's
function icon on the page), never for a vessel and never for a malformed category."""

from __future__ import annotations

from picket.serve.views import category_of


def test_category_of_an_aircraft_is_its_emitter_category() -> None:
    assert category_of({"callsign": "SAS123", "category": "A3"}) == "air:A3"
    assert category_of({"category": "A7"}) == "air:A7"
    assert category_of({"category": "B6"}) == "air:B6"
    for bad in ("", "A8", "E1", "a3", "A33", " A3", 3, None):
        assert category_of({"category": bad}) is None, bad
    # a vessel keeps its ship-type class whatever else its fields carry
    assert category_of({"ship_type": 80, "category": "A3"}) == "ship:tanker"
