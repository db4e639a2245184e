"""Shared fixtures: the real data beside the repo, skipped with a reason where absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the checkout (also present in CI)."""
    if not (SHARED / "MANIFEST.tsv").exists():
        pytest.skip(f"real data not found at {SHARED} (../shared/data beside the repo)")
    return SHARED
