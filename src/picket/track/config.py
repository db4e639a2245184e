"""Tracker parameters: one dataclass so the CLI, the pipeline and the benchmark agree."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SensorModel:
    """What the tracker assumes about one sensor's plots."""

    sigma: float = 50.0  # m, 1-sigma per horizontal axis when a plot carries no accuracy
    vertical_sigma: float = 100.0  # m, 1-sigma in height (3-D tracking only)
    detection_probability: float = 0.9
    # (lat, lon) of a rotating sensor: its scans are then antenna revolutions, cut where the
    # azimuth of its plots wraps past north (see PlotTracker)
    site: tuple[float, float] | None = None


@dataclass(slots=True)
class TrackerConfig:
    """Constant-velocity GNN tracker settings.

    `process_noise` is the white-noise acceleration spectral density q (m²/s³), the same
    parameter as Stone Soup's ``ConstantVelocity(q)``. `gate_sigma` is a Mahalanobis distance
    (not squared) and is also the cost of leaving a track unassigned, as in a GNN whose missed
    hypothesis sits at the gate. `confirm` is M-of-N: a tentative track is confirmed once it has
    M updates (its first plot counts) within its first N scans and dropped when it can no longer
    get there. Confirmed tracks are deleted after `delete_after` consecutive missed scans.

    A scan is one sensor's antenna revolution where its site is known (`SensorModel.site`:
    a new revolution starts when the plots' azimuth wraps past north), else its plots
    within one `scan_quantum` period of the clock (set it to the sensor's revisit time),
    else (0) one time stamp. Plots carry their own times within a scan and each is judged
    at its own (docs/tracking.md). `CartesianTracker` called directly counts scans per call,
    or on the `scan_quantum` clock, or as the caller numbers them.

    In TOML, ``[tracker.sensors.<name>]`` tables (sigma, vertical_sigma,
    detection_probability, site = [lat, lon]) become `sensors`, keyed by the sensor's name
    as its plots carry it; listing sensors makes the tracker ignore (and count) others.

    `model` "imm" runs an interacting multiple model filter: constant velocity plus turns at
    ±`turn_rate_deg_s`, a turn starting on average after `cv_sojourn_s` of straight flight
    and lasting `turn_sojourn_s`.
    """

    process_noise: float = 1.0
    measurement_sigma: float = 50.0
    vertical_sigma: float = 100.0
    detection_probability: float = 0.9
    clutter_rate: float = 0.0  # mean clutter plots per scan (likelihood cost model)
    gate_sigma: float = 3.0
    # m; > 0: a plot farther than this from a track's predicted position is never paired
    # with it, however wide the track's gate has grown while coasting (Stone Soup's k-d
    # tree GNN `max_distance`); keeps a coasting track from sweeping up clutter
    max_distance: float = 0.0
    confirm: tuple[int, int] = (3, 3)
    delete_after: int = 5
    initial_velocity_sigma: float = 50.0  # m/s per axis for a track born from one plot
    dims: int = 2  # 2: east/north; 3: east/north/up (plots without height get a huge sigma)
    cost: str = "distance"  # "distance" (Stone Soup's GNN) or "likelihood"
    max_neighbours: int = 8  # plots examined per track by the spatial index
    out_of_order_window: float = 0.0  # s plots are held back so late ones still fit
    scan_quantum: float = 0.0  # s, the sensors' revisit time: one sensor's plots in one scan
    recentre_km: float = 300.0  # move the tangent plane when the scene drifts this far
    sensors: dict[int, SensorModel] = field(default_factory=dict)  # empty: accept any sensor
    model: str = "cv"  # "cv" or "imm"
    turn_rate_deg_s: float = 3.0  # IMM turn modes (3 deg/s: a standard-rate turn)
    cv_sojourn_s: float = 60.0  # IMM: mean time flying straight before a turn
    turn_sojourn_s: float = 20.0  # IMM: mean length of a turn

    def __post_init__(self) -> None:
        m, n = self.confirm
        if not 1 <= m <= n:
            raise ValueError(f"confirm M/N needs 1 <= M <= N, got {m}/{n}")
        if self.dims not in (2, 3):
            raise ValueError("dims must be 2 or 3")
        if self.cost not in ("distance", "likelihood"):
            raise ValueError("cost must be 'distance' or 'likelihood'")
        if self.model not in ("cv", "imm"):
            raise ValueError("model must be 'cv' or 'imm'")
        if self.model == "imm" and not (
            self.turn_rate_deg_s > 0 and self.cv_sojourn_s > 0 and self.turn_sojourn_s > 0
        ):
            raise ValueError("IMM needs turn_rate_deg_s, cv_sojourn_s, turn_sojourn_s > 0")
        if not self.max_distance >= 0:
            raise ValueError("max_distance must be >= 0 (0: no limit)")
        if self.delete_after < 1:
            raise ValueError("delete_after must be >= 1")
        if self.scan_quantum < 0:
            raise ValueError("scan_quantum must be >= 0 (0: one scan per time stamp)")
        self.sensors = {_sensor_code(k): _sensor_model(v) for k, v in self.sensors.items()}

    def sensor(self, code: int) -> SensorModel | None:
        """The model for a sensor; None when sensors are listed and this one is not."""
        if not self.sensors:
            return SensorModel(
                self.measurement_sigma, self.vertical_sigma, self.detection_probability
            )
        return self.sensors.get(int(code))


def _sensor_code(key: int | str) -> int:
    """A sensor named as its plots' source (a TOML key) or already a source code."""
    if isinstance(key, str) and not key.isdigit():
        from picket.model.reports import SOURCES

        return SOURCES.code(key)
    return int(key)


def _sensor_model(v: SensorModel | dict) -> SensorModel:
    if isinstance(v, SensorModel):
        return v
    try:
        v = dict(v)
        if v.get("site") is not None:
            lat, lon = (float(x) for x in v["site"])
            v["site"] = (lat, lon)
        return SensorModel(**v)
    except (TypeError, ValueError) as e:
        raise ValueError(f"tracker sensor {v!r}: {e}") from None


def parse_confirm(text: str) -> tuple[int, int]:
    """``"3/5"`` -> (3, 5)."""
    m, _, n = text.partition("/")
    return int(m), int(n or m)
