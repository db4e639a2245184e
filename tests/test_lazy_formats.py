"""Readers are imported when the format table is first used, not with `picket.sources`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = """
import sys
import picket.sources.plots_csv
heavy = [m for m in ("picket.sources.ais_nmea", "picket.sources.beast",
                     "picket.sources.asterix", "picket.codec.modes_decode") if m in sys.modules]
assert not heavy, heavy
from picket.sources.registry import FORMATS, detect, get_format
assert "ais-nmea" in FORMATS and "picket.sources.ais_nmea" in sys.modules
from pathlib import Path
print(len(FORMATS), get_format("beast").name, *(detect(Path(a)).name for a in sys.argv[1:]))
"""


def test_one_reader_imports_no_other_and_the_table_loads_all(tmp_path: Path) -> None:
    f = tmp_path / "x.nmea"
    f.write_bytes(b"!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\n")
    # an OpenSky CSV is also a valid plot CSV: the order of the table decides, not which
    # reader happened to be imported first
    o = tmp_path / "states.csv"
    o.write_bytes(b"time,icao24,lat,lon,velocity\n1626098400,3c4591,51.4,-0.4,254.6\n")
    out = subprocess.run([sys.executable, "-c", CHECK, str(f), str(o)], capture_output=True,
                         text=True, check=True).stdout.split()  # fmt: skip
    assert int(out[0]) >= 15 and out[1:] == ["beast", "ais-nmea", "opensky"]


def test_every_lookup_loads_the_table() -> None:
    code = (
        "import sys; from picket.sources.registry import FORMATS as F; "
        "print(len(F), sorted(F)[:1], len(list(F.values())), 'avr' in F)"
    )
    a = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, *_ = a.stdout.split()
    assert int(n) >= 15 and a.stdout.strip().endswith("True")


def test_threads_never_see_a_half_loaded_table() -> None:
    code = (
        "import threading\n"
        "from picket.sources.registry import get_format\n"
        "names = ['cot', 'ais-nmea', 'beast', 'space-elements', 'opensky', 'remoteid'] * 4\n"
        "out = []\n"
        "f = lambda n: out.append(get_format(n).name)\n"
        "ts = [threading.Thread(target=f, args=(n,)) for n in names]\n"
        "[t.start() for t in ts]\n[t.join() for t in ts]\n"
        "print(len(out), sorted(out) == sorted(names))\n"
    )
    a = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert a.stdout.split() == ["24", "True"], a.stderr[-2000:]
