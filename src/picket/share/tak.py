"""TAK protocol v1 framing: mesh (UDP) and stream (TCP) headers around the protobuf.

Mesh: 0xbf 0x01 0xbf then the message. Stream: 0xbf, the message length as a
protobuf varint, then the message (the TAK Server streaming form).
"""

from __future__ import annotations

MAGIC = 0xBF
MESH_HEADER = bytes([MAGIC, 0x01, MAGIC])


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def mesh(payload: bytes) -> bytes:
    return MESH_HEADER + payload


def stream(payload: bytes) -> bytes:
    return bytes([MAGIC]) + varint(len(payload)) + payload


def split_stream(buf: bytearray) -> list[bytes]:
    """Cut complete stream-framed messages off the front of `buf` (consumed in place)."""
    out = []
    while len(buf) >= 2 and buf[0] == MAGIC:
        n, shift, i = 0, 0, 1
        while i < len(buf):
            b = buf[i]
            n |= (b & 0x7F) << shift
            i += 1
            if not b & 0x80:
                break
            shift += 7
        else:
            return out
        if len(buf) < i + n:
            return out
        out.append(bytes(buf[: i + n]))
        del buf[: i + n]
    return out
