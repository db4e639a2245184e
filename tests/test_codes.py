"""Codes for humans: AIS ship types and status, emergency states, squawks, and evidence
values read against their limits with units."""

from picket.model.codes import human, ship_class, ship_type_name, squawk_meaning


def test_ship_types_and_classes():
    assert ship_type_name(80) == "Tanker"
    assert ship_type_name(84) == "Tanker, hazardous category D"
    assert ship_type_name(30) == "Fishing" and ship_class(30) == "fishing"
    assert ship_type_name(52) == "Tug" and ship_class(52) == "tug_special"
    assert ship_class(71) == "cargo" and ship_class(65) == "passenger"
    assert ship_class(0) == "unknown"
    assert ship_type_name(None) is None and ship_type_name(300) is None


def test_squawks():
    assert "hijack" in squawk_meaning(7500) and "radio" in squawk_meaning("7600")
    assert squawk_meaning("7700") == "general emergency" and squawk_meaning(4123) is None


def test_evidence_values_against_limits():
    ev = {"speed_kn": 3.1, "duration_s": 2100.0, "moved_m": 3637.9, "nav_status": 1,
          "thresholds": {"min_speed_kn": 1.0, "max_speed_kn": 7.0, "min_duration_s": 300.0,
                         "min_distance_m": 300.0},
          "infrastructure": {"name": "Estlink 2", "kind": "cable", "distance_m": 0.4,
                             "corridor_m": 1000.0}}  # fmt: skip
    h = human("maritime.anchor_drag", ev)
    texts = [m["text"] for m in h["measures"]]
    assert texts[0] == "3.1 kn, within 1-7 kn"
    assert "35 min, at least 5.0 min" in texts and "3.6 km, at least 300 m" in texts
    assert texts[-1] == "0 m from Estlink 2 (cable), inside its 1,000 m corridor"
    assert h["named"] == {"nav_status": "at anchor"}
    air = human("air.low_slow", {"altitude_m": 300.0, "speed_ms": 30.0,
                                 "thresholds": {"max_alt_m": 1500.0, "max_speed_ms": 60.0}})
    speed, alt = air["measures"]
    assert speed["unit"] == "kn" and alt["unit"] == "ft"
    assert alt["text"] == "984 ft, below 4,921 ft"
    gap = human("maritime.ais_gap", {"silent_s": 2700.0, "expected_max_gap_s": 600.0})
    assert gap["measures"][0]["text"] == "45 min, above 10 min"
    em = human("air.emergency", {"squawk": "7700", "emergency_state": 1})
    assert em["named"]["squawk"] == "7700: general emergency"
