"""`[[outputs]]` tables: checked here, built into pipeline sinks (docs/outputs.md).

Why check everything up front: an output is configured once and then runs
unattended, so a typo, a missing certificate or a wrong p12 password must stop
`picket run` at start with the table and key named, not surface an hour later
as a silent absence on the partner's map. Kinds:

    [[outputs]]
    kind = "cot"                     # Cursor on Target to TAK (docs/outputs.md)
    url = "tls://tak.example:8089"   # tcp://, tls:// or udp:// (multicast too)
    protocol = "xml"                 # or "tak": TAK protocol v1 (negotiated on TCP/TLS, mesh/UDP)
    p12 = "picket.p12"               # or cert + key (PEM); ca = the server's CA (PEM or p12)

    [[outputs]]
    kind = "webhook"
    url = "https://hooks.example/picket"
    headers = { Authorization = "Bearer ..." }

    [[outputs]]
    kind = "alerts_jsonl"
    path = "alerts.jsonl"

    [[outputs]]
    kind = "readsb_json"             # aircraft.json, receiver.json, history_N.json for tar1090
    path = "/run/picket/tar1090"

    [[outputs]]
    kind = "sbs"                     # SBS-1 BaseStation lines (or "ais_nmea": NMEA 0183)
    url = "listen://127.0.0.1:30003" # picket serves; tcp:// or udp:// to send
"""

from __future__ import annotations

import ipaddress
import logging
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from picket.config import ConfigError
from picket.model.alerts import KINDS, SEVERITY_RANK
from picket.serve.picture import DOMAIN_CODES
from picket.serve.views import parse_bbox
from picket.sinks.jsonl import JsonlSink

log = logging.getLogger(__name__)

PROTOCOLS = ("xml", "tak")
EVENTS = ("open", "update", "close")
TLS_KEYS = ("cert", "key", "key_password", "p12", "p12_password", "p12_password_env", "ca",
            "ca_password", "verify_hostname")  # fmt: skip


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


# key -> (check, meaning): each check returns the normalised value or raises ValueError
def _str(v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise ValueError("must be a non-empty string")
    return v


def _pos(v: Any) -> float:
    if not _is_num(v) or not v > 0:
        raise ValueError("must be a number above 0")
    return float(v)


def _nonneg(v: Any) -> float:
    if not _is_num(v) or not v >= 0:
        raise ValueError("must be a number, 0 or more")
    return float(v)


def _count(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError("must be a whole number, 0 or more")
    return v


def _size(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise ValueError("must be a whole number, 1 or more")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("must be true or false")
    return v


def _strs(v: Any) -> list[str]:
    items = [x.strip() for x in v.split(",")] if isinstance(v, str) else v
    if not isinstance(items, list) or not items or not all(isinstance(x, str) and x for x in items):
        raise ValueError("must be a list of names (or one comma-separated string)")
    return items


def _one_of(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(f"must be one of {', '.join(map(repr, options))}")
        return v

    return check


def _bbox(v: Any) -> tuple[float, float, float, float]:
    if not isinstance(v, str | list) or (isinstance(v, list) and not all(map(_is_num, v))):
        raise ValueError("must be 'west,south,east,north' or a list of four numbers")
    b = parse_bbox(v)
    if b is None:
        raise ValueError("must not be empty")
    return b


def _domains(v: Any) -> tuple[int, ...]:
    names = _strs(v)
    bad = [d for d in names if d not in DOMAIN_CODES]
    if bad:
        raise ValueError(f"unknown domain {bad[0]!r}; domains are {', '.join(DOMAIN_CODES)}")
    return tuple(sorted(DOMAIN_CODES[d] for d in names))


def _alert_kinds(v: Any) -> list[str]:
    kinds = _strs(v)
    prefixes = {k.split(".")[0] for k in KINDS}
    for k in kinds:
        if k not in KINDS and k.removesuffix(".*") not in prefixes:
            raise ValueError(f"{k!r} is neither an alert kind nor a domain "
                             f"({', '.join(sorted(prefixes))}, or 'maritime.*')")  # fmt: skip
    return kinds


def _events(v: Any) -> tuple[str, ...]:
    ev = _strs(v)
    bad = [e for e in ev if e not in EVENTS]
    if bad:
        raise ValueError(f"unknown event {bad[0]!r}; events are {', '.join(EVENTS)}")
    return tuple(ev)


def _headers(v: Any) -> dict[str, str]:
    if not isinstance(v, dict) or not all(
        isinstance(k, str) and isinstance(x, str) for k, x in v.items()
    ):
        raise ValueError("must be a table of header names to string values")
    for k, x in v.items():
        if not k or any(c in k for c in " :\r\n") or any(c in x for c in "\r\n"):
            raise ValueError(f"header {k!r}: no spaces or colons in a name, no line breaks")
    return dict(v)


COT_KEYS: dict[str, Callable[[Any], Any]] = {
    "url": _str, "protocol": _one_of(PROTOCOLS), "negotiate": _bool, "bbox": _bbox,
    "domains": _domains,
    "min_interval_s": _nonneg, "max_rate": _pos, "stale_s": _pos, "queue_events": _size,
    "cert": _str, "key": _str, "key_password": _str, "p12": _str, "p12_password": str,
    "p12_password_env": _str, "ca": _str, "ca_password": str, "verify_hostname": _bool,
}  # fmt: skip
WEBHOOK_KEYS: dict[str, Callable[[Any], Any]] = {
    "url": _str, "kinds": _alert_kinds, "min_severity": _one_of(tuple(SEVERITY_RANK)),
    "events": _events, "headers": _headers, "headers_env": _headers, "timeout_s": _pos,
    "retries": _count,
    "backoff_s": _pos, "queue_events": _size,
}  # fmt: skip
JSONL_KEYS: dict[str, Callable[[Any], Any]] = {"path": _str, "every_s": _pos}


def _latlon(v: Any) -> tuple[float, float]:
    if (not isinstance(v, list) or len(v) != 2 or not all(map(_is_num, v))
            or not (abs(v[0]) <= 90 and abs(v[1]) <= 180)):  # fmt: skip
        raise ValueError("must be [lat, lon] in degrees")
    return float(v[0]), float(v[1])


READSB_KEYS: dict[str, Callable[[Any], Any]] = {
    "path": _str, "interval_s": _pos, "history_every_s": _pos, "history": _size,
    "receiver": _latlon,
}  # fmt: skip


def _stream_urls(v: Any) -> list[str]:
    urls = [v] if isinstance(v, str) else v
    if not isinstance(urls, list) or not urls:
        raise ValueError("must be a url or a list of urls")
    for u in urls:
        p = urlsplit(u) if isinstance(u, str) else None
        try:
            port = p.port if p else None
        except ValueError:
            port = None
        if p is None or p.scheme not in ("listen", "tcp", "udp") or port is None:
            raise ValueError(f"{u!r}: expected listen://host:port (picket serves), "
                             "tcp://host:port or udp://host:port (picket sends)")  # fmt: skip
    return urls


LINE_KEYS: dict[str, Callable[[Any], Any]] = {
    "url": _stream_urls, "min_interval_s": _nonneg, "queue_lines": _size,
}  # fmt: skip
NMEA_KEYS = {**LINE_KEYS, "statics_every_s": _pos, "station": _str}
KEYS = {"cot": COT_KEYS, "webhook": WEBHOOK_KEYS, "alerts_jsonl": JSONL_KEYS,
        "readsb_json": READSB_KEYS, "sbs": LINE_KEYS, "ais_nmea": NMEA_KEYS}  # fmt: skip
REQUIRED = {"cot": ("url",), "webhook": ("url",), "alerts_jsonl": ("path",),
            "readsb_json": ("path",), "sbs": ("url",), "ais_nmea": ("url",)}  # fmt: skip


@dataclass
class OutputSpec:
    """One checked output: its kind, where it came from (for messages), its options;
    `name` (optional) labels it in stats, else its url or path does."""

    kind: str
    label: str
    opts: dict[str, Any]
    name: str = ""
    tls: ssl.SSLContext | None = None


def check_output(table: dict[str, Any], label: str, base: Path | None = None) -> OutputSpec:
    """Check one table (`label` names it in errors, e.g. `outputs[0]`); relative file
    paths resolve from `base` (the config file's folder)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: must be a table")
    kind = table.get("kind")
    if kind not in KEYS:
        raise ConfigError(f"{label}: kind = {kind!r}; one of {', '.join(map(repr, KEYS))}")
    keys = KEYS[kind]
    opts: dict[str, Any] = {}
    for k, v in table.items():
        if k in ("kind", "name"):
            continue
        if k not in keys:
            raise ConfigError(f"{label}: unknown key {k!r} for kind {kind!r}; "
                              f"known: {', '.join(['name', *keys])}")  # fmt: skip
        try:
            opts[k] = keys[k](v)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"{label}.{k}: {e}") from None
    for k in REQUIRED[kind]:
        if k not in opts:
            raise ConfigError(f"{label}: {k!r} is required for kind {kind!r}")
    name = table.get("name")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{label}.name: must be a string")
    spec = OutputSpec(kind, label, opts, name or "")
    base = base or Path.cwd()
    if kind == "cot":
        _check_cot(spec, label, base)
    elif kind == "webhook":
        _check_webhook(spec, label)
    elif kind in ("sbs", "ais_nmea"):
        pass
    else:
        p = Path(opts["path"]).expanduser()
        opts["path"] = p if p.is_absolute() else base / p
    return spec


def _check_cot(spec: OutputSpec, label: str, base: Path) -> None:
    o = spec.opts
    u = urlsplit(o["url"])
    try:
        port = u.port
    except ValueError:
        port = None
    if u.scheme not in ("tcp", "udp", "tls") or not u.hostname or not port:
        raise ConfigError(f"{label}.url: {o['url']!r}; expected tcp://host:port, "
                          "tls://host:port or udp://host:port")  # fmt: skip
    if "negotiate" in o and (o.get("protocol") != "tak" or u.scheme == "udp"):
        raise ConfigError(f"{label}.negotiate: only for protocol = 'tak' over tcp:// or tls://")
    tls_given = [k for k in TLS_KEYS if k in o]
    if u.scheme != "tls":
        if tls_given:
            raise ConfigError(f"{label}.{tls_given[0]}: TLS settings need a tls:// url")
        return
    if "key" in o and "cert" not in o:
        raise ConfigError(f"{label}.key: a key needs its cert")
    if "p12" in o and "cert" in o:
        raise ConfigError(f"{label}.p12: give either p12 or cert + key, not both")
    if "p12_password" in o and "p12_password_env" in o:
        raise ConfigError(f"{label}.p12_password_env: give p12_password or p12_password_env")
    for k in ("cert", "key", "p12", "ca"):
        if k in o:
            p = Path(o[k]).expanduser()
            o[k] = p if p.is_absolute() else base / p
            if not o[k].is_file():
                raise ConfigError(f"{label}.{k}: {o[k]}: no such file")
    pw = o.get("p12_password")
    if "p12_password_env" in o:
        pw = os.environ.get(o["p12_password_env"])
        if pw is None:
            raise ConfigError(f"{label}.p12_password_env: ${o['p12_password_env']} is not set")
    from picket.share.tls import client_context

    try:
        spec.tls = client_context(cert=o.get("cert"), key=o.get("key"),
                                  key_password=o.get("key_password"), p12=o.get("p12"),
                                  p12_password=pw, ca=o.get("ca"),
                                  ca_password=o.get("ca_password"),
                                  verify_hostname=o.get("verify_hostname", True))  # fmt: skip
    except (ValueError, OSError) as e:  # ssl.SSLError is an OSError
        raise ConfigError(f"{label}: TLS: {e}") from None
    if not {"cert", "p12"} & set(o):
        log.info("%s: TLS without a client certificate (TAK Server's 8089 will refuse it)", label)


def _loopback(host: str | None) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_webhook(spec: OutputSpec, label: str) -> None:
    u = urlsplit(spec.opts["url"])
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ConfigError(f"{label}.url: {spec.opts['url']!r}; expected http(s)://host/path")
    for header, var in spec.opts.pop("headers_env", {}).items():  # secrets kept out of files
        value = os.environ.get(var)
        if value is None:
            raise ConfigError(f"{label}.headers_env: ${var} (for {header}) is not set")
        try:
            spec.opts.setdefault("headers", {}).update(_headers({header: value}))
        except ValueError as e:
            raise ConfigError(f"{label}.headers_env: ${var}: {e}") from None
    if u.scheme == "http" and spec.opts.get("headers") and not _loopback(u.hostname):
        log.warning("%s: headers go in clear text over http:// to %s; use https://",
                    label, u.hostname)  # fmt: skip


def check_outputs(tables: list[dict[str, Any]], base: Path | None = None) -> list[OutputSpec]:
    """Every `[[outputs]]` table checked; the first problem raises `ConfigError`."""
    return [check_output(t, f"outputs[{i}]", base) for i, t in enumerate(tables)]


class AlertsJsonlOutput(JsonlSink):
    """`alerts_jsonl`: the alert file, with counters; a full disk is counted, not fatal."""

    def __init__(self, path: str | Path, every_s: float = 2.0, name: str = ""):
        super().__init__(path, every_s)
        self.name = name or str(path)
        self.writes = self.write_failures = 0
        self.last_error = ""

    def write(self) -> None:
        try:
            super().write()
            self.writes += 1
        except OSError as e:
            self.write_failures += 1
            self._last = time.monotonic()  # retry at the next period
            if str(e) != self.last_error:
                log.warning("alerts_jsonl %s: %s", self.path, e)
            self.last_error = str(e)

    def stats(self) -> dict[str, Any]:
        return {"kind": "alerts_jsonl", "name": self.name, "alerts": len(self.alerts),
                "writes": self.writes, "write_failures": self.write_failures,
                "last_error": self.last_error}  # fmt: skip

    def picture(self, view: Any) -> None:
        return None  # alerts only


def build_output(spec: OutputSpec) -> Any:
    """The sink for one checked output (its sender thread starts here)."""
    o = spec.opts
    if spec.kind == "alerts_jsonl":
        return AlertsJsonlOutput(o["path"], o.get("every_s", 2.0), spec.name)
    if spec.kind in ("sbs", "ais_nmea"):
        from picket.share.line_sinks import AisNmeaSink, SbsSink

        cls = SbsSink if spec.kind == "sbs" else AisNmeaSink
        kw = {k: o[k] for k in ("min_interval_s", "queue_lines", "statics_every_s", "station")
              if k in o}  # fmt: skip
        try:
            return cls(o["url"], name=spec.name, **kw)
        except OSError as e:  # a busy port: one line naming the output, not a traceback
            raise ConfigError(f"{spec.label}.url: {e.strerror or e}") from None
    if spec.kind == "readsb_json":
        from picket.share.readsb_out import ReadsbJsonSink

        kw = {k: o[k] for k in ("interval_s", "history_every_s", "history", "receiver") if k in o}
        return ReadsbJsonSink(o["path"], **kw)
    if spec.kind == "webhook":
        from picket.share.webhook import WebhookSink

        kw = {k: o[k] for k in ("kinds", "min_severity", "events", "headers", "retries") if k in o}
        for k, arg in (("timeout_s", "timeout_s"), ("backoff_s", "backoff_s"),
                       ("queue_events", "max_queue")):  # fmt: skip
            if k in o:
                kw[arg] = o[k]
        return WebhookSink(o["url"], name=spec.name, **kw)
    from picket.share.outputs import CotFilter, CotOutput, CotSink

    u = urlsplit(o["url"])
    proto = o.get("protocol", "xml")
    fmt = "xml" if proto == "xml" else ("tak-mesh" if u.scheme == "udp" else "tak-stream")
    flt = CotFilter(bbox=o.get("bbox"), domains=o.get("domains"))
    for k in ("min_interval_s", "max_rate"):
        if k in o:
            setattr(flt, k, o[k])
    out = CotOutput(o["url"], fmt, flt, queue_events=o.get("queue_events", 20_000),
                    tls=spec.tls, stale_s=o.get("stale_s"), name=spec.name,
                    negotiate=fmt == "tak-stream" and o.get("negotiate", True))  # fmt: skip
    return CotSink([out])


def build_outputs(specs: list[OutputSpec]) -> list[Any]:
    return [build_output(s) for s in specs]


def summary(sink: Any) -> str:
    """One line of an output's counters, for the end of a run."""
    st = sink.stats()
    if st["kind"] == "readsb_json":
        return f"readsb_json {st['name']}: {st['written']} files written, {st['failed']} failed"
    if st["kind"] == "alerts_jsonl":
        return (f"alerts_jsonl {st['name']}: {st['alerts']} alerts, "
                f"{st['write_failures']} failed writes")  # fmt: skip
    drops = st["dropped_queue_full"] + st["dropped_send_failed"] + st["dropped_at_close"]
    line = (f"{st['kind']} {st['name']}: {st['sent']} sent, {drops} dropped (queue full "
            f"{st['dropped_queue_full']}, send failed {st['dropped_send_failed']}, "
            f"at close {st['dropped_at_close']})")  # fmt: skip
    if st["kind"] == "cot":
        line += f", {st['reconnects']} reconnects"
    if st.get("last_error"):
        line += f"; last error: {st['last_error']}"
    return line
