"""One TOML file names sources, zones, infrastructure, detector thresholds and sinks.

Every threshold has a default in its detector's `Thresholds` dataclass, with
its meaning and source; `picket config defaults` prints them all, and a
config file overrides any of them under `[detectors.<kind>]`:

    [store]
    path = "var/picket.sqlite"          # alerts, triage and track history

    [[sources]]
    name = "ais-coast"                  # shown as the report source
    format = "ais-nmea"                 # see `picket formats`
    tcp = "127.0.0.1:10110"             # or udp = "0.0.0.0:10110", or file = "x.nmea"

    [zones]
    files = ["zones.geojson"]
    [infrastructure]
    files = ["cables.geojson"]
    default_corridor_m = 1000

    [detectors."maritime.anchor_drag"]
    min_duration_s = 600

    [sinks]
    alerts_jsonl = "alerts.jsonl"

    [serve]
    min_interval_s = 0.5                # the live picture's snapshots at most this often
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


def __getattr__(name: str) -> Any:
    """`DETECTORS` (kind -> (class, thresholds class or None), in pipeline order), read
    from the detector registry on first use so importing config loads no detector."""
    if name == "DETECTORS":
        from picket.detect.registry import pipeline_specs

        return {k: (s.cls, s.thresholds) for k, s in pipeline_specs().items()}
    raise AttributeError(name)


def _detectors() -> dict[str, tuple[type, type | None]]:
    return __getattr__("DETECTORS")


class ConfigError(ValueError):
    pass


# the keys of the sections read here (the others are checked where they are read)
SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "store": ("path", "checkpoint_s", "url", "dead_letter_max_mb", "dead_letter_files"),
    "zones": ("files",),
    "infrastructure": ("files", "default_corridor_m"),
    "sinks": ("alerts_jsonl", "console"),
    "pipeline": ("batch_s", "history", "track_history_s", "forget_after_s"),
    "space": ("cdm", "cdm_poll_s", "alert_km"),
    "serve": ("min_interval_s",),
}

# the settings besides detector thresholds that `picket config` prints:
# (section, key, Config attribute, meaning)
SETTINGS: tuple[tuple[str, str, str, str], ...] = (
    ("pipeline", "forget_after_s", "forget_after_s",
     "event-time s a subject may be silent before its track is forgotten and its slot given "
     "to a new subject (never while it has an open alert): one number for every domain or "
     "a table by domain (docs/scaling.md); inf: never"),
    ("serve", "min_interval_s", "serve_min_interval_s",
     "wall s between the live picture's snapshots on the bus (0: every batch); batches "
     "in between are coalesced, alert events never held back (docs/api.md)"),
)


def _check_keys(sec: Any, name: str, keys: tuple[str, ...], where: str) -> None:
    """A section is a table of known keys: a misspelt key is an error, never ignored."""
    if not isinstance(sec, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    bad = sorted(set(sec) - set(keys))
    if bad:
        raise ConfigError(f"{where}: [{name}] unknown keys {bad}; known: {list(keys)}")


@dataclass
class SourceConfig:
    name: str
    format: str = "auto"
    file: str | None = None
    tcp: str | None = None  # host:port to connect to (a feeder's output port)
    listen_tcp: str | None = None  # host:port to accept feeders on
    udp: str | None = None  # host:port to bind
    follow: bool = False  # tail the file for new data
    # where a report's time comes from (docs/time.md): "auto" = the message's own
    # time where the format carries one, else the time the bytes arrived; "message" = the
    # message's own time only; "receive" = always the arrival time
    clock: str = "auto"
    # reports timed before this (unix s; 1980-01-01) or further ahead of the receive clock
    # than `max_ahead_s` are rejected (counted, dead-lettered)
    min_time: float = 315532800.0
    max_ahead_s: float = 600.0
    # pull sources (docs/sources.md): pull = "opensky" | "readsb_http" | "aisstream", polled
    # or subscribed at `url` for `bbox` = [west, south, east, north] (or a list of them);
    # credentials come from the environment, never from this file
    pull: str | None = None
    url: str | None = None
    bbox: list[Any] | None = None
    interval_s: float | None = None  # poll interval (OpenSky: from the credit budget)
    credits_per_day: float = 4000.0  # OpenSky API credits this source may spend a day
    token_url: str | None = None  # OpenSky's OAuth2 token endpoint (default: theirs)
    # TLS on listen_tcp (CoT as TAK Server's 8089): server certificate and key (PEM), and
    # a CA whose clients alone are accepted (client certificates required when given)
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    # CoT in: drawn shapes whose uid starts with this become watched zones (docs/sources.md)
    zone_prefix: str | None = None


@dataclass
class Config:
    store_path: str | None = "var/picket.sqlite"
    # [store] checkpoint_s: `picket run` saves its state this often (wall s), docs/restart.md
    checkpoint_s: float = 10.0
    # [store] url = "postgresql://...": the shared PostgreSQL/PostGIS store instead of the
    # SQLite file (docs/scaling.md); the file path then only places the dead letter
    store_url: str | None = None
    sources: list[SourceConfig] = field(default_factory=list)
    zone_files: list[str] = field(default_factory=list)
    infrastructure_files: list[str] = field(default_factory=list)
    default_corridor_m: float = 1000.0
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    alerts_jsonl: str | None = None
    console: bool = True
    batch_s: float = 10.0  # micro-batch length in event time
    history: int = 64  # positions kept per track in memory
    # [pipeline] forget_after_s by domain name (model/domains.py's forget_s where unset)
    forget_after_s: dict[str, float] = field(default_factory=lambda: _default_forget())
    track_history_s: float = 30.0  # stored track history: one point per subject per this
    # plot tracker settings (picket.track.config.TrackerConfig fields). `scan_quantum` is the
    # sensors' revisit time in s: per sensor, plots within one period, or one antenna
    # revolution where `[tracker.sensors.<name>] site = [lat, lon]` is given, form one scan,
    # and each plot is judged at its own time (docs/tracking.md); 4 s is a short
    # ATC/air-defence rotation. 3-D because radar plots carry height (a drone is told from
    # an airliner by it).
    tracker: dict[str, Any] = field(default_factory=lambda: {"scan_quantum": 4.0, "dims": 3})
    # [[outputs]] tables as written (kind = "cot" | "webhook" | "alerts_jsonl" ...), checked
    # and built by picket.share.outputs_config
    outputs: list[dict[str, Any]] = field(default_factory=list)
    base: Path = field(default_factory=Path.cwd)  # relative paths resolve from here
    # [airports]: the world airports layer (airportsdata) that keeps aerodrome traffic out of
    # the air detectors; radius_m is "at the airport" (4,630 m = 2.5 NM, the UK aerodrome
    # traffic zone of a runway over 1,850 m, CAA CAP 393), docs/air_detectors.md
    airports_enabled: bool = True
    airports_radius_m: float = 4630.0
    # [watchlist] files: CSV lists of subjects and identities to be told about
    # (picket.detect.watchlist: appeared, entered a zone, went dark)
    watchlist_files: list[str] = field(default_factory=list)
    # [incidents]: how alerts join into cross-domain incidents (docs/incidents.md)
    incidents: dict[str, Any] = field(default_factory=dict)
    # [asterix] sites = [{sac, sic, lat, lon, height_m}, ...]: where each radar stands, so
    # its CAT048 plots can be placed (docs/asterix.md); (sac, sic) -> (lat, lon, height m)
    asterix_sites: dict[tuple[int, int], tuple[float, float, float]] = field(
        default_factory=dict)
    # [store] dead_letter_max_mb, dead_letter_files: the dead letter's size cap and the
    # rotated files kept (0: none, records past the cap dropped); docs/bad_input.md
    dead_letter_max_mb: float = 64.0
    dead_letter_files: int = 4
    # [space] cdm: CCSDS CDM files and folders (an operator's or a Space-Track download's
    # drop folder), read by `picket space screen --config` and followed by `picket run`
    # every `cdm_poll_s` wall s; `alert_km` as `picket space screen --alert-km` (docs/space.md)
    space_cdm: list[str] = field(default_factory=list)
    space_cdm_poll_s: float = 5.0
    space_alert_km: float = 1.0
    # [serve] min_interval_s: the live server's picture snapshots go to the bus at most this
    # often, wall s (serve/live_sink.LiveSink; 0: every batch)
    serve_min_interval_s: float = 0.0

    def decoder_args(self) -> dict[str, dict[str, Any]]:
        """Keyword arguments for decoders by format name, from their config sections."""
        return {"asterix": {"sites": dict(self.asterix_sites)}} if self.asterix_sites else {}

    def store_target(self) -> str | Path | None:
        """The store to open: the URL, else the file (a URL given as the path counts)."""
        from picket.store.postgres import is_url

        if self.store_url:
            return self.store_url
        if self.store_path and is_url(self.store_path):
            return self.store_path
        return self.path(self.store_path) if self.store_path else None

    def store_dir(self) -> Path:
        """Where files kept beside the store go (dead letter, zone edits), for a URL too."""
        from picket.store.postgres import is_url

        p = self.store_path if self.store_path and not is_url(self.store_path) else None
        return self.path(p or "var/picket.sqlite").parent

    def path(self, p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else self.base / q


def load(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: {e}") from None
    return from_dict(data, base=p.parent.resolve(), where=str(p))


def from_dict(data: dict[str, Any], base: Path | None = None, where: str = "config") -> Config:
    cfg = Config(base=base or Path.cwd())
    known = {"store", "sources", "zones", "infrastructure", "detectors", "sinks", "pipeline",
             "tracker", "outputs", "airports", "watchlist", "incidents", "asterix",
             "space", "serve"}  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{where}: unknown sections {sorted(unknown)}; known: {sorted(known)}")
    for name, keys in SECTION_KEYS.items():
        _check_keys(data.get(name, {}), name, keys, where)
    store = data.get("store", {})
    cfg.store_path = store.get("path", cfg.store_path)
    cfg.checkpoint_s = float(store.get("checkpoint_s", cfg.checkpoint_s))
    cfg.store_url = store.get("url", cfg.store_url)
    cfg.dead_letter_max_mb = float(store.get("dead_letter_max_mb", cfg.dead_letter_max_mb))
    cfg.dead_letter_files = int(store.get("dead_letter_files", cfg.dead_letter_files))
    for i, s in enumerate(data.get("sources", [])):
        try:
            src = SourceConfig(**s)
        except TypeError as e:
            raise ConfigError(f"{where}: sources[{i}]: {e}") from None
        if src.clock not in ("auto", "message", "receive"):
            raise ConfigError(f"{where}: sources[{i}]: clock = {src.clock!r}; "
                              "one of 'auto', 'message', 'receive'")  # fmt: skip
        cfg.sources.append(src)
    cfg.zone_files = list(data.get("zones", {}).get("files", []))
    infra = data.get("infrastructure", {})
    cfg.infrastructure_files = list(infra.get("files", []))
    cfg.default_corridor_m = float(infra.get("default_corridor_m", cfg.default_corridor_m))
    dets = dict(data.get("detectors", {}))
    cfg.disabled = list(dets.pop("disabled", []))
    from picket.detect.registry import specs

    off = [k for k in cfg.disabled if k not in specs()]
    if off:
        raise ConfigError(f"{where}: [detectors] disabled names {off[0]!r}, not a detector; "
                          f"known: {', '.join(specs())}")  # fmt: skip
    known_dets = _detectors()
    for kind, over in dets.items():
        if kind not in known_dets:
            raise ConfigError(f"{where}: [detectors.{kind!r}] is not a detector; "
                              f"known: {', '.join(known_dets)}")  # fmt: skip
        _, th_cls = known_dets[kind]
        names = {f.name for f in fields(th_cls)} if th_cls else set()
        bad = set(over) - names
        if bad:
            raise ConfigError(f"{where}: [detectors.{kind!r}] unknown thresholds {sorted(bad)}; "
                              f"known: {sorted(names)}")  # fmt: skip
        cfg.detectors[kind] = dict(over)
    outs = data.get("outputs", [])
    if not isinstance(outs, list) or not all(isinstance(o, dict) for o in outs):
        raise ConfigError(f"{where}: outputs must be [[outputs]] tables")
    cfg.outputs = [dict(o) for o in outs]
    sinks = data.get("sinks", {})
    cfg.alerts_jsonl = sinks.get("alerts_jsonl")
    cfg.console = bool(sinks.get("console", True))
    cfg.tracker.update(data.get("tracker", {}))
    ap = dict(data.get("airports", {}))
    bad_ap = set(ap) - {"enabled", "radius_m"}
    if bad_ap:
        raise ConfigError(f"{where}: [airports] unknown keys {sorted(bad_ap)}; "
                          "known: ['enabled', 'radius_m']")  # fmt: skip
    cfg.airports_enabled = bool(ap.get("enabled", cfg.airports_enabled))
    cfg.airports_radius_m = float(ap.get("radius_m", cfg.airports_radius_m))
    wl = dict(data.get("watchlist", {}))
    if set(wl) - {"files"}:
        raise ConfigError(f"{where}: [watchlist] unknown keys {sorted(set(wl) - {'files'})}; "
                          "known: ['files']")  # fmt: skip
    cfg.watchlist_files = list(wl.get("files", []))
    if "incidents" in data:
        from picket.detect.incidents import IncidentRules, IncidentRulesError

        try:
            IncidentRules.from_dict(data["incidents"], f"{where}: [incidents]")
        except (IncidentRulesError, TypeError) as e:
            raise ConfigError(str(e)) from None
        cfg.incidents = dict(data["incidents"])
    cfg.asterix_sites = _asterix_sites(data.get("asterix", {}), where)
    _space(cfg, data.get("space", {}), where)
    _serve(cfg, data.get("serve", {}), where)
    pipe = data.get("pipeline", {})
    cfg.batch_s = float(pipe.get("batch_s", cfg.batch_s))
    cfg.history = int(pipe.get("history", cfg.history))
    cfg.track_history_s = float(pipe.get("track_history_s", cfg.track_history_s))
    if "forget_after_s" in pipe:
        cfg.forget_after_s = {**cfg.forget_after_s,
                              **_forget_after(pipe["forget_after_s"], where)}  # fmt: skip
    return cfg


def _default_forget() -> dict[str, float]:
    from picket.model.domains import FORGET_S

    return dict(FORGET_S)


def _forget_after(v: Any, where: str) -> dict[str, float]:
    """`forget_after_s = 86400` (every domain) or `{maritime = 604800, air = 3600}`."""
    from picket.model.domains import DOMAIN_CODES

    what = f"{where}: [pipeline] forget_after_s"
    table = v if isinstance(v, dict) else dict.fromkeys(DOMAIN_CODES, v)
    out = {}
    for name, s in table.items():
        if name not in DOMAIN_CODES:
            raise ConfigError(f"{what}: unknown domain {name!r}; known: {sorted(DOMAIN_CODES)}")
        if isinstance(s, bool) or not isinstance(s, int | float) or not s > 0:
            raise ConfigError(f"{what} must be event-time seconds > 0 (inf: never), got {s!r}")
        out[name] = float(s)
    return out


def _asterix_sites(sec: Any, where: str) -> dict[tuple[int, int], tuple[float, float, float]]:
    from picket.sources.asterix import site_table

    if not isinstance(sec, dict) or set(sec) - {"sites"}:
        raise ConfigError(f"{where}: [asterix] takes only sites = [{{sac, sic, lat, lon, "
                          "height_m}, ...]")  # fmt: skip
    sites = sec.get("sites", [])
    if not isinstance(sites, list):
        raise ConfigError(f"{where}: [asterix] sites must be a list of tables")
    try:
        return site_table(sites)
    except ValueError as e:
        raise ConfigError(f"{where}: [asterix] {e}") from None


def _space(cfg: Config, sec: dict[str, Any], where: str) -> None:
    cdm = sec.get("cdm", [])
    if isinstance(cdm, str):
        cdm = [cdm]
    if not isinstance(cdm, list) or not all(isinstance(p, str) for p in cdm):
        raise ConfigError(f"{where}: [space] cdm is a list of CDM files and folders")
    cfg.space_cdm = list(cdm)
    try:
        cfg.space_cdm_poll_s = float(sec.get("cdm_poll_s", cfg.space_cdm_poll_s))
        cfg.space_alert_km = float(sec.get("alert_km", cfg.space_alert_km))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: [space] cdm_poll_s and alert_km are numbers") from None
    if not (cfg.space_cdm_poll_s > 0 and cfg.space_alert_km > 0):
        raise ConfigError(f"{where}: [space] cdm_poll_s and alert_km must be > 0")


def _serve(cfg: Config, sec: dict[str, Any], where: str) -> None:
    v = sec.get("min_interval_s", cfg.serve_min_interval_s)
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < float("inf"):
        raise ConfigError(f"{where}: [serve] min_interval_s must be a number >= 0 (wall s)")
    cfg.serve_min_interval_s = float(v)


def describe_settings() -> list[dict[str, Any]]:
    """The settings besides detector thresholds, with defaults (for `picket config`)."""
    d = Config()
    return [{"section": s, "name": k, "default": getattr(d, attr), "doc": doc}
            for s, k, attr, doc in SETTINGS]


def build_detectors(cfg: Config, rejects: Any = None) -> list[Any]:
    """The pipeline's detectors for `cfg`; `rejects` counts what detectors that read files
    themselves refuse (the CDM follower of `[space] cdm`)."""
    out = []
    for kind, (cls, th_cls) in _detectors().items():
        if kind in cfg.disabled:
            continue
        if th_cls is None:
            out.append(cls())
            continue
        th = th_cls()
        over = cfg.detectors.get(kind, {})
        if over:
            th = replace(th, **{k: tuple(v) if isinstance(v, list) else v for k, v in over.items()})
        make = getattr(cls, "from_config", None)  # detectors that read files named in config
        out.append(make(cfg, th) if make else cls(th))
    if cfg.space_cdm:
        from picket.detect.space_conjunction import CdmFollower, ConjunctionThresholds

        out.append(CdmFollower([cfg.path(p) for p in cfg.space_cdm],
                               ConjunctionThresholds(alert_km=cfg.space_alert_km),
                               cfg.space_cdm_poll_s, rejects))  # fmt: skip
    return out


def describe_defaults() -> list[dict[str, Any]]:
    """Every detector's thresholds with defaults and sources (for docs and the CLI)."""
    rows = []
    for kind, (_, th_cls) in _detectors().items():
        if th_cls is None:
            continue
        for d in th_cls.describe():
            rows.append({"detector": kind, **d})
    return rows
