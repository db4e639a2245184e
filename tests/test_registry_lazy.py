"""A format looked up by name loads its own reader only; the name map stays true."""

from __future__ import annotations

import subprocess
import sys

MAP_CHECK = """
import importlib
from picket.sources import registry as r
seen, made = set(), {}
for mod in r.BUILT_IN:
    importlib.import_module(mod)
    now = set(dict.keys(r.FORMATS))
    made.update({name: mod for name in now - seen})
    seen = now
print(made == r.MODULE_OF, sorted(set(made.items()) ^ set(r.MODULE_OF.items())))
"""


def test_the_name_map_is_what_the_readers_register() -> None:
    out = subprocess.run([sys.executable, "-c", MAP_CHECK], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.startswith("True"), out


ONE = """
import sys
from picket.sources.registry import FORMATS, get_format
fmt = get_format(sys.argv[1])
known, unknown = sys.argv[1] in FORMATS, FORMATS.get("no-such") is None
readers = sorted(m for m in sys.modules if m.startswith("picket.sources.")
                 and m not in ("picket.sources.registry", "picket.sources.lines"))
print(fmt.name, known, unknown, *readers)
print("gzip" in sys.modules, len(FORMATS))
"""


def test_a_name_loads_its_reader_alone_and_the_table_still_loads_whole() -> None:
    for name, mod in (("opensky", "picket.sources.air_json"),
                      ("plots-csv", "picket.sources.plots_csv"),
                      ("sbs", "picket.sources.modes_text")):  # fmt: skip
        out = subprocess.run([sys.executable, "-c", ONE, name], capture_output=True, text=True,
                             check=True).stdout.splitlines()  # fmt: skip
        first = out[0].split()
        # an unknown name loads the whole table (it may be any reader's): every reader
        assert first[:3] == [name, "True", "True"], out
        assert mod in first[3:] and len(first[3:]) >= 12, out
        assert out[1].split()[0] == "False" and int(out[1].split()[1]) >= 15


def test_a_known_name_imports_one_reader() -> None:
    code = (
        "import sys; from picket.sources.registry import get_format; get_format(sys.argv[1]);"
        "print(*sorted(m for m in sys.modules if m.startswith('picket.sources.')))"
    )
    for name, mod in (("opensky", "picket.sources.air_json"), ("cot", "picket.sources.cot_in")):
        out = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip
        readers = [m for m in out if m not in ("picket.sources.registry", "picket.sources.lines")]
        assert mod in readers
        others = {"picket.sources.ais_nmea", "picket.sources.beast", "picket.sources.asterix",
                  "picket.sources.plots_csv", "picket.sources.space_elements"} - {mod}
        assert not others & set(readers), readers
