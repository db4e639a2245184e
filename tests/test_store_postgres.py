"""The PostgreSQL store on a real server: partitions, indexes, COPY, exactly-once across
workers, and a server restarted mid-run with nothing lost.

`LocalPostgres` (picket.bus.local, also behind `picket cluster up`) starts a throwaway
PostgreSQL (initdb in a temp dir, loopback only, its own socket dir); the tests skip,
saying why, where the binaries, PostGIS or psycopg are missing.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile

import numpy as np
import pytest

from picket.bus.local import LocalPostgres, free_port, why_no_postgres
from picket.model.alerts import AlertBook, Signal
from picket.store import newest_points, open_store

T0 = 1_736_935_200.0  # 2025-01-15T10:00:00Z


@pytest.fixture(scope="module")
def pg():
    why = why_no_postgres()
    if why:
        pytest.skip(why)
    server = LocalPostgres()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg) -> str:
    return pg.new_database()


# ----------------------------------------------------------------------------------------
def points(n: int, t0: float, subjects: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    """n track points over `subjects` subjects, one per subject every 30 s from t0."""
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    alt = rng.uniform(0, 10_000, n)
    alt[::7] = np.nan  # ships carry no altitude: stored as NULL
    speed, course = rng.uniform(0, 250, n), rng.uniform(0, 360, n)
    speed[::5], course[::3] = np.nan, np.inf  # every mix of missing fields occurs
    return {"subject": (k % subjects).astype(np.int64) + 1000, "time": t0 + 30.0 * (k // subjects),
            "domain": np.full(n, 2, np.int64), "lat": rng.uniform(54, 60, n),
            "lon": rng.uniform(10, 25, n), "alt": alt, "speed": speed, "course": course}


def test_track_history_in_day_partitions_with_gist_and_brin(pg_url, tmp_path):
    st = open_store(pg_url, tmp_path)
    # 3 days of points, across two midnights; sent twice (a rerun): stored once
    cols = points(3 * 2880 * 10, T0 - 12 * 3600, subjects=10)
    st.add_track_points(cols)
    st.add_track_points(cols)
    assert st.partitions() == ["track_points_20250114", "track_points_20250115",
                               "track_points_20250116", "track_points_20250117"]  # fmt: skip
    rows = list(st.track_points(limit=-1))
    assert len(rows) == len(cols["subject"])
    order = np.lexsort((cols["subject"], cols["time"]))
    for i, k in ((0, "subject"), (1, "time"), (2, "domain"), (3, "lat"), (4, "lon")):
        np.testing.assert_array_equal([r[i] for r in rows], cols[k][order])
    for i, k in ((5, "alt"), (6, "speed"), (7, "course")):  # NaN or inf: NULL, and back
        want = np.where(np.isfinite(cols[k]), cols[k], np.nan)[order]
        np.testing.assert_array_equal([np.nan if r[i] is None else r[i] for r in rows], want)
        assert sum(r[i] is None for r in rows) == int((~np.isfinite(cols[k])).sum()) > 0
    # the first write went straight in; the second met its own points and took the
    # staging table's ON CONFLICT DO NOTHING instead of failing
    assert st.stats["point_conflicts"] == 1
    c = st.db
    idx = dict(c.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ?",
                         ("track_points",)).fetchall())  # fmt: skip
    assert "USING gist (geog)" in idx["track_points_geog"]
    assert "USING brin (\"time\")" in idx["track_points_time"]
    # every partition carries the indexes, and the rows sit in the day they belong to
    n_day = c.execute("SELECT count(*) FROM track_points_20250115").fetchone()[0]
    in_day = ((cols["time"] >= 1736899200) & (cols["time"] < 1736985600)).sum()
    assert n_day == in_day
    parts = c.execute("SELECT count(*) FROM pg_indexes WHERE tablename = ? AND indexdef "
                      "LIKE '%gist%'", ("track_points_20250116",)).fetchone()[0]  # fmt: skip
    assert parts == 1
    # the geography point is the stored position: a radius query finds what NumPy finds
    lat0, lon0 = 57.0, 17.0
    near = c.execute("SELECT count(*) FROM track_points WHERE ST_DWithin(geog, "
                     "ST_SetSRID(ST_MakePoint(?, ?), 4326)::geography, 50000)",
                     (lon0, lat0)).fetchone()[0]  # fmt: skip
    from pyproj import Geod  # WGS84 geodesics, independent of PostGIS

    _, _, d = Geod(ellps="WGS84").inv(np.full(len(cols["lat"]), lon0),
                                      np.full(len(cols["lat"]), lat0), cols["lon"], cols["lat"])
    assert near == int((d <= 50_000).sum()) > 100
    # a time window touches only its day (partition pruning)
    plan = "\n".join(r[0] for r in c.execute(
        "EXPLAIN SELECT * FROM track_points WHERE time >= ? AND time < ?",
        (1736985600.0 + 10, 1736985600.0 + 20)).fetchall())  # fmt: skip
    assert "track_points_20250116" in plan and "track_points_20250115" not in plan
    st.close()


def test_two_workers_one_store_alerts_exactly_once(pg_url, tmp_path):
    """Two workers fed the same signals (a failover pair, or a rerun) write one alert with
    one set of events, whatever their interleaving."""
    def work(seed: int) -> None:
        st = open_store(pg_url, tmp_path)
        book = AlertBook(min_update_s=0)
        rng = np.random.default_rng(seed)
        for k in range(40):
            s = Signal("air.emergency", f"icao:{k % 5:06x}", T0 + 10 * k, 55.0, 21.0,
                       "critical", "7700", {"k": k}, "air")  # fmt: skip
            st.record(book.apply([s]))
            if rng.random() < 0.3:
                time.sleep(0.001)
        st.record(book.close_all(T0 + 1000))
        st.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    st = open_store(pg_url, tmp_path)
    ref = open_store(tmp_path / "ref.sqlite")
    work_ref = AlertBook(min_update_s=0)
    for k in range(40):
        ref.record(work_ref.apply([Signal("air.emergency", f"icao:{k % 5:06x}", T0 + 10 * k,
                                          55.0, 21.0, "critical", "7700", {"k": k}, "air")]))
    ref.record(work_ref.close_all(T0 + 1000))
    assert st.count_alerts() == 5
    assert st.alerts() == ref.alerts()
    for a in ref.alerts():
        assert st.alert_events(a["id"]) == ref.alert_events(a["id"])


def test_restarted_server_loses_nothing(pg, pg_url, tmp_path):
    """The server is restarted while a writer streams alerts and track points: writes made
    while it is down are queued and applied after it returns, and the store ends equal to
    a SQLite store fed the same batches."""
    st = open_store(pg_url, tmp_path)
    st.retry_s = 60.0
    ref = open_store(tmp_path / "ref.sqlite")
    book = AlertBook(min_update_s=0)
    cols = points(200 * 40, T0, subjects=40)
    stop_at = 60
    for k in range(200):
        batch = {c: v[k * 40 : (k + 1) * 40] for c, v in cols.items()}
        ev = book.apply([Signal("maritime.drift", f"mmsi:{211000000 + k % 7}", T0 + 30 * k,
                                55.0, 14.0, "warning", "drifting", {"k": k}, "maritime")])
        for s in (st, ref):
            s.record(ev)
            s.add_track_points(batch)
        if k == stop_at:
            pg.stop()  # the server goes away mid-run
        if k == stop_at + 40:
            assert st.pending > 0  # writes made while it was down wait in order
            pg.start()
    assert st.flush()
    assert st.stats["retried_writes"] >= 1 and st.stats["reconnects"] >= 1
    assert st.stats["dropped_points"] == 0
    n = len(list(ref.track_points(limit=-1)))
    assert n == 200 * 40
    assert list(st.track_points(limit=-1)) == list(ref.track_points(limit=-1))
    assert st.alerts() == ref.alerts()
    for a in ref.alerts():
        assert st.alert_events(a["id"]) == ref.alert_events(a["id"])
    st.close()


def test_reads_wait_for_a_restarted_server(pg, pg_url, tmp_path):
    st = open_store(pg_url, tmp_path)
    ev = AlertBook(min_update_s=0).apply([Signal(
        "air.emergency", "icao:4b1801", T0, 55.0, 21.0, "critical", "7700", {}, "air")])
    st.upsert_alerts([a for _, a in ev])
    pg.stop()
    threading.Timer(1.5, pg.start).start()  # back while the read is waiting
    t = time.monotonic()
    assert st.count_alerts() == 1
    assert 1.0 < time.monotonic() - t < 30
    st.close()


def test_newest_points_agree(pg_url, tmp_path):
    cols = points(4000, T0, subjects=37, seed=3)
    a, b = open_store(pg_url, tmp_path), open_store(tmp_path / "s.sqlite")
    for s in (a, b):
        s.add_track_points(cols)
    for inclusive in (True, False):
        got = newest_points(a, T0 + 300, T0 + 1500, inclusive)
        assert got == newest_points(b, T0 + 300, T0 + 1500, inclusive)
        assert len(got) == 37


def test_unreachable_server_is_a_clear_error(tmp_path):
    why = why_no_postgres()
    if why:
        pytest.skip(why)
    from picket.store.postgres import PostgresStore, StoreUnavailable

    with pytest.raises(StoreUnavailable) as e:
        PostgresStore(f"postgresql://picket:secret@127.0.0.1:{free_port()}/x", tmp_path,
                      retry_s=0.5)  # fmt: skip
    assert "secret" not in str(e.value) and "***" in str(e.value)


def test_config_store_url_runs_the_pipeline_into_postgres(pg_url, tmp_path):
    """`[store] url` in picket.toml: the assembled pipeline writes alerts and track history
    to PostgreSQL; the dead letter stays on this machine beside `[store] path`."""
    from picket.config import from_dict
    from picket.pipeline.assemble import assemble
    from picket.store.postgres import PostgresStore
    from tests.test_past import SCRIPT, Script

    cfg = from_dict({"store": {"url": pg_url, "path": "run/picket.sqlite"}}, base=tmp_path)
    assert cfg.store_target() == pg_url and cfg.store_dir() == tmp_path / "run"
    asm = assemble(cfg, console=False)
    assert isinstance(asm.store, PostgresStore)
    assert asm.rejects.path == tmp_path / "run" / "dead-letter.jsonl"
    from picket.model.alerts import AlertBook
    from picket.model.decoded import Decoded
    from picket.model.reports import Domain, Kind, Reports
    from tests.test_past import SHIP

    pipe = asm.pipeline
    pipe.detectors = [Script(SCRIPT)]
    pipe.book = AlertBook(min_update_s=0)
    for k in range(41):
        pipe.process(Decoded(Reports.build(time=[T0 + 10 * k], domain=Domain.MARITIME,
                                           kind=Kind.POSITION, subject=[SHIP],
                                           lat=[55.0 + 0.001 * k], lon=[14.0], speed=[3.0],
                                           course=[90.0]), []))  # fmt: skip
    pipe.finish()
    asm.close()
    st = open_store(pg_url, tmp_path)
    assert {a["kind"] for a in st.alerts()} == {"maritime.drift", "gnss.interference"}
    assert len(list(st.track_points())) == 14
    st.close()
    # --store on the command line wins over the config's url
    cfg.store_path, cfg.store_url = str(tmp_path / "x.sqlite"), None
    assert cfg.store_target() == tmp_path / "x.sqlite"


def test_checkpoint_in_postgres_resumes_as_the_run_went_on(pg_url, tmp_path, shared_data):
    """`picket run` with `[store] url`: the pipeline's checkpoint goes to PostgreSQL behind
    the alert events it follows, and a second process restored from it goes on exactly as
    the first did (tests/test_restart.py's check, on the shared store)."""
    from picket.config import Config
    from picket.pipeline.assemble import assemble
    from tests.test_restart import BORNHOLM, CABLES, _decoded, _events

    batches = _decoded(shared_data / BORNHOLM)
    cut = len(batches) // 3
    cfg = Config(store_path=str(tmp_path / "local" / "x.sqlite"), store_url=pg_url,
                 infrastructure_files=[str(shared_data / CABLES)])  # fmt: skip
    a = assemble(cfg, console=False, resume=True)
    _events(a, batches[:cut])
    a.pipeline.checkpoint()
    before = _events(a, batches[cut:])
    assert any(w == "close" for w, *_ in before)
    a.close()
    # a restart on the same shared store resumes from it (picket run's path); the tail fed
    # again adds no alert and no event
    st = open_store(pg_url, tmp_path)
    stored = {a["id"]: (a, st.alert_events(a["id"])) for a in st.alerts()}
    st.close()
    again = assemble(cfg, console=False, resume=True)
    _events(again, batches[cut:])
    again.close()
    st = open_store(pg_url, tmp_path)
    assert {a["id"]: (a, st.alert_events(a["id"])) for a in st.alerts()} == stored
    st.close()
    st = open_store(pg_url, tmp_path)
    blob, t, _ = st.load_checkpoint()
    assert max(e["time"] for a in st.alerts() for e in st.alert_events(a["id"])) >= t
    # the server compresses the state (lz4), so the pipeline sent it uncompressed
    assert st.checkpoint_compressed
    assert st.db.execute("SELECT pg_column_compression(state) FROM checkpoints").fetchone()[0] \
        == "lz4"
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    st.close()
    b = assemble(Config(store_path=None, infrastructure_files=[str(shared_data / CABLES)]),
                 console=False, store=False)  # fmt: skip
    assert b.pipeline.restore(blob) == []
    assert _events(b, batches[cut:]) == before
