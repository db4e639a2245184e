"""Who may do what: loopback is trusted, anything else needs a token.

Roles: `viewer` reads, `operator` also triages and edits zones. Tokens come
from a file of `<token> <role> <name>` lines; the name is who triaged.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from pathlib import Path

ROLES = ("viewer", "operator")


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    @property
    def operator(self) -> bool:
        return self.role == "operator"


LOCAL = Principal("local", "operator")


class AuthError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_tokens(path: str | Path) -> dict[str, Principal]:
    """Parse a token file; a bad line is an error naming file and line."""
    out: dict[str, Principal] = {}
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 3 or parts[1] not in ROLES or len(parts[0]) < 16:
            raise ValueError(f"{path}:{i}: expected '<token of 16+ chars> viewer|operator <name>'")
        out[parts[0]] = Principal(parts[2], parts[1])
    return out


def normalise_tokens(tokens: dict | None) -> dict[str, Principal] | None:
    """Accept {token: Principal | (name, role) | role} as given by callers."""
    if not tokens:
        return None
    out = {}
    for tok, v in tokens.items():
        if isinstance(v, Principal):
            p = v
        elif isinstance(v, str):
            p = Principal(v, v)
        else:
            p = Principal(str(v[0]), str(v[1]))
        if p.role not in ROLES:
            raise ValueError(f"token role must be viewer or operator, not {p.role!r}")
        out[str(tok)] = p
    return out


class Authenticator:
    def __init__(self, tokens: dict[str, Principal] | None):
        self.tokens = tokens

    def principal(self, header: str | None, query_token: str | None) -> Principal:
        """The caller, or AuthError(401)."""
        if self.tokens is None:
            return LOCAL
        tok = None
        if header and header.lower().startswith("bearer "):
            tok = header[7:].strip()
        tok = tok or query_token
        if tok:
            for known, p in self.tokens.items():
                if hmac.compare_digest(known.encode(), tok.encode()):
                    return p
        raise AuthError(401, "a valid token is required (Authorization: Bearer <token>)")

    @staticmethod
    def require_operator(p: Principal) -> None:
        if not p.operator:
            raise AuthError(403, f"{p.name} is a viewer; only operators may do this")
