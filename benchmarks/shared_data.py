"""Where the real public captures live: ../shared/data beside the checkout (README, "Real data")."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
