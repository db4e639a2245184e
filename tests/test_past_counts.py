"""Counts that agree: one real AIS capture replayed with the server attached.

The summary `picket replay` prints, `/api/metrics` and the dead-letter file must say the same
thing: accepted, rejected, and rejected by reason. The cable file given as infrastructure is
geography, counted apart, never as accepted input.
"""

import json
import re
from collections import Counter
from pathlib import Path

import httpx

from picket.cli.main import main
from picket.config import Config
from picket.model.rejects import Rejects
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import replay_files
from picket.serve.server import serve_assembly
from picket.sources.registry import get_format

CAPTURE = "ais/aislib_stream_example_20100611.nmea"  # 28 s global stream, some unsupported types
CABLES = "geo/baltic_cables_shadowfleet.kml"  # 10 cables


def parse_summary(line: str) -> tuple[int, int, dict[str, int]]:
    m = re.search(r"(\d+) accepted, (\d+) rejected(?:: ([^;]*))?", line)
    assert m, line
    reasons = dict((r, int(k)) for r, k in re.findall(r"([\w.]+) \((\d+)\)", m.group(3) or ""))
    return int(m.group(1)), int(m.group(2)), reasons


def dead_letters(path: Path) -> Counter:
    c: Counter = Counter()
    for line in path.read_text().splitlines():
        d = json.loads(line)
        c[d["reason"]] += d.get("count", 1)
    return c


class Counting:
    """A sink with a drop counter, as output sinks (CoT, webhooks) have."""

    name = "counting"

    def __init__(self) -> None:
        self.events = 0

    def emit(self, events) -> None:
        self.events += len(events)

    def tracks(self, ctx) -> None:
        return None

    def close(self) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return {"events": self.events, "dropped": 0}


def test_replay_summary_metrics_and_dead_letter_agree(shared_data, tmp_path, capsys):
    capture, cables = shared_data / CAPTURE, shared_data / CABLES
    # what the decoder alone accepts from the capture: the truth the others must agree on
    alone = Rejects()
    dec = get_format("ais-nmea").decoder(alone, str(capture))
    dec.feed(capture.read_bytes())
    dec.flush()
    assert alone.rejected > 0

    # 1. the command line, with the cables as infrastructure
    store = tmp_path / "cli" / "picket.sqlite"
    assert main(["replay", str(capture), "--infrastructure", str(cables), "--store", str(store),
                 "--quiet", "--no-progress"]) == 0  # fmt: skip
    line = next(x for x in capsys.readouterr().out.splitlines() if " accepted, " in x)
    cli = parse_summary(line)

    # 2. the same replay with the server attached
    cfg = Config(store_path=str(tmp_path / "srv" / "picket.sqlite"), base=tmp_path)
    counting = Counting()
    asm = assemble(cfg, console=False, line_files=[cables], extra_sinks=[counting])
    srv = serve_assembly(asm, port=0)
    try:
        replay_files(asm.pipeline, [(capture, "ais-nmea")], asm.rejects)
        asm.rejects.flush()
        m = httpx.get(srv.url + "/api/metrics", timeout=10).json()
    finally:
        srv.stop()
        asm.close()

    assert (m["accepted"], m["rejected"], m["rejects"]) == cli == parse_summary(
        asm.rejects.summary())
    assert m["accepted"] == alone.accepted  # ten cables are not ten accepted messages
    assert m["rejects"] == dict(alone.counts)
    assert m["geography"]["loaded"] == 10 and m["geography"]["infrastructure"] == 10
    assert dead_letters(tmp_path / "srv" / "dead-letter.jsonl") == Counter(m["rejects"])
    assert dead_letters(tmp_path / "cli" / "dead-letter.jsonl") == Counter(cli[2])
    assert m["outputs"]["counting"] == {"events": counting.events, "dropped": 0}
    assert counting.events > 0
