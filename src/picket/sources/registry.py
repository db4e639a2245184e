"""The format registry: every wire format is one incremental `Decoder`.

One interface serves files, TCP/UDP listeners and file tails: the source hands
the decoder raw bytes as they come (`feed`), and the decoder keeps whatever
partial line or frame straddles a chunk boundary until the next call. At the
end of input `flush` decodes what is left (and counts anything truncated).

Adding a format = writing a Decoder and calling `register()` in its module,
then importing that module in `picket.sources.__init__`.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from picket.model.decoded import Decoded
from picket.model.rejects import Rejects


class Decoder(Protocol):
    def feed(self, data: bytes) -> Decoded:
        """Decode what is complete in `data` (plus any carried-over remainder)."""
        ...

    def flush(self) -> Decoded:
        """End of input: decode or reject what remains."""
        ...


DecoderFactory = Callable[[Rejects, str], Decoder]  # (rejects, source name) -> Decoder


@dataclass(frozen=True)
class Format:
    name: str
    domain: str  # air | maritime | space | em
    description: str
    sniff: Callable[[bytes, str], bool]  # (first bytes, file name) -> is it mine?
    decoder: DecoderFactory
    priority: int = 0  # higher sniffs first (specific before generic)


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    FORMATS[fmt.name] = fmt
    return fmt


class UnknownFormat(ValueError):
    pass


def _head(path: Path, n: int = 4096) -> bytes:
    with open_binary(path) as fh:
        return fh.read(n)


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing .gz transparently."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def detect(path: Path) -> Format:
    """Pick the format of a file by content (and name as a hint)."""
    import picket.sources  # noqa: F401 - registers the built-in formats

    head = _head(path)
    name = path.name.lower().removesuffix(".gz")
    for fmt in sorted(FORMATS.values(), key=lambda f: -f.priority):
        try:
            if fmt.sniff(head, name):
                return fmt
        except Exception:  # a sniffer must never take the replay down
            continue
    raise UnknownFormat(
        f"{path}: unknown format (first bytes {head[:40]!r}); "
        f"pass --format, one of: {', '.join(sorted(FORMATS))}"
    )


def get_format(name: str) -> Format:
    import picket.sources  # noqa: F401

    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise UnknownFormat(f"unknown format {name!r}; known: {known}") from None


def read_file(
    path: str | Path,
    rejects: Rejects,
    fmt: str = "auto",
    chunk_size: int = 1 << 20,
    progress: Callable[[int], None] | None = None,
    **decoder_args: object,
) -> Iterator[Decoded]:
    """Decode a whole file in chunks through its format's decoder.

    `progress` is called with the number of raw bytes read after each chunk.
    """
    p = Path(path)
    spec = detect(p) if fmt == "auto" else get_format(fmt)
    dec = spec.decoder(rejects, p.name, **decoder_args)  # type: ignore[call-arg]
    with open_binary(p) as fh:
        while True:
            data = fh.read(chunk_size)
            if not data:
                break
            if progress is not None:
                progress(len(data))
            out = dec.feed(data)
            if len(out.reports) or out.statics:
                yield out
    out = dec.flush()
    if len(out.reports) or out.statics:
        yield out
