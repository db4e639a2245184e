"""`/metrics` in Prometheus' text format, from the same numbers as `/api/metrics`.

Why: readsb/tar1090 and TAK operators watch their feeds with Prometheus and
Grafana; picket's ingest, rejects by reason, drops, lag, tracks by domain,
alerts by kind, encode times and output health belong on the same dashboards.
One source of truth: this module only renames what `/api/metrics` already
reports (plus tracks per domain and open alerts per kind), so the two never
disagree. Counters end in `_total`; everything is prefixed `picket_`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTPUT_DROPS = ("dropped_queue_full", "dropped_send_failed", "dropped_at_close")


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


class _Snapshot(Collector):
    """Metric families from one `/api/metrics` body (collected once per scrape)."""

    def __init__(self, body: dict[str, Any], tracks_by_domain: dict[str, int],
                 alerts_by_kind: dict[str, int]):  # fmt: skip
        self.body, self.tracks, self.alerts = body, tracks_by_domain, alerts_by_kind

    def collect(self) -> Iterator[Metric]:
        b = self.body

        def counter(name: str, doc: str, key: str) -> Iterator[Metric]:
            v = _num(b.get(key))
            if v is not None:
                yield CounterMetricFamily(f"picket_{name}", doc, value=v)

        def gauge(name: str, doc: str, key: str, scale: float = 1.0) -> Iterator[Metric]:
            v = _num(b.get(key))
            if v is not None:
                yield GaugeMetricFamily(f"picket_{name}", doc, value=v * scale)

        yield from counter("reports", "reports through the pipeline", "reports")
        yield from gauge("reports_per_second", "pipeline throughput", "reports_per_s")
        yield from counter("input_accepted", "input items accepted by the decoders", "accepted")
        rej = CounterMetricFamily("picket_input_rejected", "input rejected, by reason",
                                  labels=["reason"])  # fmt: skip
        for reason, n in sorted((b.get("rejects") or {}).items()):
            rej.add_metric([reason], float(n))
        yield rej
        unused = CounterMetricFamily("picket_input_unused", "input read but not used, by what",
                                     labels=["what"])  # fmt: skip
        for what, n in sorted((b.get("unused") or {}).items()):
            unused.add_metric([what], float(n))
        yield unused
        yield from gauge("event_lag_seconds", "wall clock minus the picture's event time",
                         "lag_s")  # fmt: skip
        tr = GaugeMetricFamily("picket_tracks", "live tracks, by domain", labels=["domain"])
        for dom, n in sorted(self.tracks.items()):
            tr.add_metric([dom], float(n))
        yield tr
        al = GaugeMetricFamily("picket_alerts_open", "open alerts, by kind", labels=["kind"])
        for kind, n in sorted(self.alerts.items()):
            al.add_metric([kind], float(n))
        yield al
        sent = CounterMetricFamily("picket_output_sent", "messages an output delivered",
                                   labels=["output", "kind"])  # fmt: skip
        drop = CounterMetricFamily("picket_output_dropped", "messages an output could not deliver",
                                   labels=["output", "kind", "why"])  # fmt: skip
        for name, st in sorted((b.get("outputs") or {}).items()):
            kind = str(st.get("kind", ""))
            if _num(st.get("sent")) is not None:
                sent.add_metric([name, kind], float(st["sent"]))
            for why in OUTPUT_DROPS:
                if _num(st.get(why)) is not None:
                    drop.add_metric([name, kind, why.removeprefix("dropped_")], float(st[why]))
        yield sent
        yield drop
        yield from gauge("ws_clients", "WebSocket clients", "ws_clients")
        yield from gauge("sse_clients", "alert stream clients", "sse_clients")
        yield from counter("ws_dropped_slow", "WebSocket clients dropped as too slow",
                           "ws_dropped_slow")  # fmt: skip
        yield from counter("sse_dropped_slow", "alert stream clients dropped as too slow",
                           "sse_dropped_slow")  # fmt: skip
        ref = CounterMetricFamily("picket_refused", "connections and requests refused, by what",
                                  labels=["what"])  # fmt: skip
        for what, n in sorted((b.get("refused") or {}).items()):
            if _num(n) is not None:
                ref.add_metric([what], float(n))
        yield ref
        yield from counter("dead_letter_dropped", "rejected input not kept (dead-letter cap)",
                           "dead_letter_dropped")  # fmt: skip
        sources = ((b.get("live") or {}).get("sources") or {}) if isinstance(b.get("live"),
                                                                          dict) else {}  # fmt: skip
        names = sorted({k for st in sources.values() for k, v in st.items() if _num(v) is not None})
        for key in names:
            fam = CounterMetricFamily(f"picket_live_{key}", f"live path: {key.replace('_', ' ')}",
                                      labels=["source"])  # fmt: skip
            for src, st in sorted(sources.items()):
                if _num(st.get(key)) is not None:
                    fam.add_metric([src], float(st[key]))
            yield fam
        yield from gauge("frame_encode_seconds", "wall time to encode a track frame",
                         "encode_ms", 1e-3)  # fmt: skip
        yield from gauge("frame_encode_cpu_seconds", "CPU time to encode a track frame",
                         "encode_cpu_ms", 1e-3)  # fmt: skip
        yield from gauge("frame_bytes", "size of the last track frame", "frame_bytes")


def render(body: dict[str, Any], tracks_by_domain: dict[str, int],
           alerts_by_kind: dict[str, int]) -> bytes:  # fmt: skip
    """The text exposition of one metrics body (a fresh registry: no global state)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(_Snapshot(body, tracks_by_domain, alerts_by_kind))
    return generate_latest(reg)
