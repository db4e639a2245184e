"""Text columns to numbers for the text formats (CSV, XML, KVN, SBS), in one NumPy call
where the column is clean and cell by cell only where it is not: a bad cell is NaN, never
an exception that costs the whole column."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence

import numpy as np


def _texts(values: Sequence[object]) -> list[str]:
    return ["" if v is None else (v.decode("ascii", "replace") if isinstance(v, bytes)
            else str(v)).strip() for v in values]  # fmt: skip


def floats(values: Sequence[object]) -> np.ndarray:
    """Numbers (texts, bytes or JSON numbers) to float64; empty or unparsable cells NaN."""
    try:
        arr = np.array(values)
        if arr.dtype.kind in "fiu":
            return arr.astype(np.float64)
        if arr.dtype.kind in "US":
            arr = np.array(_texts(values))
            return np.where(arr == "", "nan", arr).astype(np.float64)
    except (ValueError, TypeError):
        pass
    out = np.full(len(values), np.nan)
    for i, v in enumerate(_texts(values)):
        with contextlib.suppress(ValueError):
            out[i] = float(v) if v else np.nan
    return out


def iso_seconds(texts: Sequence[str], unit: str = "us") -> np.ndarray:
    """ISO 8601 date-times (UTC) to unix seconds at `unit` resolution; bad ones NaN."""
    scale = {"ms": 1e3, "us": 1e6}[unit]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # explicit offsets: numpy converts them to UTC and warns
        try:
            return np.array(texts, dtype=f"datetime64[{unit}]").astype(np.int64) / scale
        except ValueError:
            out = np.full(len(texts), np.nan)
            for i, s in enumerate(texts):
                with contextlib.suppress(ValueError):
                    out[i] = np.datetime64(s, unit).astype(np.int64) / scale
            return out
