"""The `meta` row's optional 5th element: a vessel's ship-type class, which the page colours by
(docs/api.md). Sent once the static data names a type, and again when it changes."""

from __future__ import annotations

import json

import numpy as np

from picket.serve.picture import Picture
from picket.serve.views import ViewKey, ViewState, category_of, meta_rows


def _picture(subjects: list[int], domains: list[int], t: float) -> Picture:
    n = len(subjects)
    pic = Picture.empty()
    values = (("lat", 56.0), ("lon", 13.0), ("alt", np.nan), ("speed", 5.0), ("course", 90.0),
              ("heading", 90.0), ("last_time", t), ("pos_time", t), ("first_time", t))
    cols = {k: np.full(n, v) for k, v in values}
    cols.update(subject=np.array(subjects, np.int64), domain=np.array(domains, np.uint8),
                squawk=np.zeros(n, np.int16), emergency=np.zeros(n, np.int8),
                nav_status=np.zeros(n, np.int8), n_reports=np.ones(n, np.int64),
                id=np.arange(n, dtype=np.int64))  # fmt: skip
    pic.cols, pic.time = cols, t
    return pic


def test_category_of_names_the_ship_type_class() -> None:
    assert category_of({"ship_type": 80}) == "ship:tanker"
    assert category_of({"ship_type": 84}) == "ship:tanker"
    assert category_of({"ship_type": 70}) == "ship:cargo"
    assert category_of({"ship_type": 30}) == "ship:fishing"
    for fields in ({}, {"ship_type": 0}, {"ship_type": None}, {"ship_type": "80"},
                   {"ship_type": True}, {"ship_type": float("nan")}):  # fmt: skip
        assert category_of(fields) is None


def test_meta_rows_carry_the_category_and_resend_when_it_arrives() -> None:
    subjects = [211000001, 211000002]
    pic = _picture(subjects, [2, 2], 100.0)
    assert all(r[4] is None for r in meta_rows(pic, np.arange(2)))  # [.., category, gid]
    view = ViewState(ViewKey(None, None))
    meta, _ = view.delta(pic, np.zeros(2, np.uint8), 1)
    assert [json.loads(r)[4] for r in meta] == [None, None]
    # the static data names the first one a tanker: its row is sent again, with the class
    pic2 = _picture(subjects, [2, 2], 101.0)
    pic2.categories = {0: (211000001, "ship:tanker")}  # type: ignore[attr-defined]
    meta, _ = view.delta(pic2, np.zeros(2, np.uint8), 2)
    rows = [json.loads(r) for r in meta]
    assert [r[:5] for r in rows if r[0] == 0] == [[0, rows[0][1], rows[0][2], 2, "ship:tanker"]]
    assert all(r[4] is None for r in rows if r[0] == 1)
    # a category kept for a slot that another subject now holds is not that subject's
    pic3 = _picture([211000009, 211000002], [2, 2], 102.0)
    pic3.categories = {0: (211000001, "ship:tanker")}  # type: ignore[attr-defined]
    assert meta_rows(pic3, np.arange(1))[0][4] is None
