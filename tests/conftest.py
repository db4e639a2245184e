"""Shared fixtures: the real data beside the repo, skipped with a reason where absent; and
what a parallel run (pytest-xdist, `make test`) needs to stay honest: a file's tests stay on one
worker (`--dist loadfile`: a module's demo run or server is made once), the slowest files start
first, and tests marked `alone` (they judge pace or wall time) run while no other test runs.
(`--dist loadgroup` does not group under pytest 9.2: xdist 3.8 renames `item._nodeid`, which
pytest no longer reads.)"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# the browser tests' session fixtures: one Chromium, one demo server (tests/web_fixtures.py)
from tests.web_fixtures import browser, demo_server, undo_triage  # noqa: F401

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# CI (CI=true, `.ci/run`): the property tests draw the same examples on every run, so a red
# run names a change, not a lucky draw; elsewhere they draw anew each run and find what the
# fixed draws do not (a failing draw is kept in .hypothesis and replayed first)
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")

# the slowest files of a run, started first so that no worker is left with a long tail
# (test seconds on a clean clone, --durations): the rest follow in collection order
SLOW_FIRST = (
    "tests/test_web_picture.py",
    "tests/test_web_picture_analyst.py",
    "tests/test_web_demo_minute.py",
    "tests/test_web_watch_harbours.py",
    "tests/test_demo.py",
    "tests/test_readme_commands.py",
    "tests/test_cluster_nats.py",
    "tests/test_cluster_up.py",
    "tests/test_incidents_as_of.py",
    "tests/test_picture_api.py",
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the checkout (also present in CI)."""
    if not (SHARED / "MANIFEST.tsv").exists():
        pytest.skip(f"real data not found at {SHARED} (../shared/data beside the repo)")
    return SHARED


def _browser_file(path: str) -> bool:
    """A file whose tests drive Chromium (the tests/test_web_*.py family)."""
    return path.startswith("tests/test_web_")


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`--dist loadfile`, except that every browser file is one work unit: Chromium renders
    with SwiftShader on the CPU, so two browsers at once starve both cores (and time out),
    while one browser beside the other tests keeps both cores busy."""
    if config.getoption("dist", "no") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowsersTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "browser" if _browser_file(path) else path

    return BrowsersTogether(config, log)  # type: ignore[arg-type]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist (`--dist loadfile --no-loadscope-reorder`), the slowest files first."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return

    def rank(item: pytest.Item) -> int:
        mod = item.nodeid.split("::", 1)[0]
        return SLOW_FIRST.index(mod) if mod in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: a module's tests keep their order


def _lock_dir(config: pytest.Config) -> Path:
    """A folder every worker of this run shares (the parent of the workers' basetemps)."""
    return config._tmp_path_factory.getbasetemp().parent  # type: ignore[attr-defined]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Under xdist, a test marked `alone` waits until no other worker runs a test, and holds
    the others off while it runs (its setup and teardown, module fixtures included): what it
    times is then the machine CI has, not the machine shared with the rest of the suite.
    Two flocks make a turnstile so that a waiting `alone` test is not starved."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return (yield)
    d = _lock_dir(item.config)
    alone = item.get_closest_marker("alone") is not None
    with open(d / "picket-turnstile.lock", "a") as gate, open(d / "picket-tests.lock", "a") as run:
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(run, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            return (yield)
        finally:
            fcntl.flock(run, fcntl.LOCK_UN)
