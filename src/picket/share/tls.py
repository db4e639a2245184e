"""TLS client contexts for outputs: PEM pair or PKCS#12 client certificate, a CA to trust.

Why: TAK Server's streaming port (8089) accepts only clients whose certificate
its CA signed, and hands out that certificate as a `.p12` bundle (and its CA
as a `truststore-*.p12`). Python's `ssl` reads PEM files only, so a bundle is
opened with `cryptography` (an optional dependency: only p12 users need it) and
its key is passed to `ssl` re-encrypted under a one-time passphrase: the key is
never on disk in the clear. The server's certificate is always verified;
`verify_hostname = false` only relaxes the name check (a server reached by IP).

`server_context` is the other side, for inputs that listen (CoT in as TAK Server's
port 8089): the listener's certificate and key, and, given a CA, only clients whose
certificate that CA signed are let in.
"""

from __future__ import annotations

import secrets
import ssl
import tempfile
from pathlib import Path


def _pkcs12(path: Path, password: str | None):
    try:
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError:  # pragma: no cover - depends on the environment
        raise ValueError(f"{path}: reading a .p12 bundle needs the 'cryptography' package "
                         "(pip install cryptography)") from None  # fmt: skip
    try:
        return pkcs12.load_key_and_certificates(
            path.read_bytes(), password.encode() if password is not None else None
        )
    except ValueError as e:
        raise ValueError(f"{path}: cannot open the PKCS#12 bundle (wrong password?): {e}") from None


def _pem(certs) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


def ca_pem(ca: str | Path, password: str | None = None) -> str:
    """The CA certificates of a PEM file or a PKCS#12 trust store, as PEM text."""
    p = Path(ca)
    if p.suffix.lower() in (".p12", ".pfx"):
        _, cert, extra = _pkcs12(p, password)
        certs = ([cert] if cert is not None else []) + list(extra or [])
        if not certs:
            raise ValueError(f"{p}: the trust store holds no certificate")
        return _pem(certs).decode()
    return p.read_text()


def client_context(
    *,
    cert: str | Path | None = None,
    key: str | Path | None = None,
    key_password: str | None = None,
    p12: str | Path | None = None,
    p12_password: str | None = None,
    ca: str | Path | None = None,
    ca_password: str | None = None,
    verify_hostname: bool = True,
) -> ssl.SSLContext:
    """A client context: TLS 1.2 or newer, the server verified against `ca` (else the
    system's CAs), the client certificate from `cert`/`key` or from `p12`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = verify_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    if ca is not None:
        ctx.load_verify_locations(cadata=ca_pem(ca, ca_password))
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key) if key is not None else None, key_password)
    elif p12 is not None:
        from cryptography.hazmat.primitives.serialization import (
            BestAvailableEncryption,
            Encoding,
            PrivateFormat,
        )

        k, c, chain = _pkcs12(Path(p12), p12_password)
        if k is None or c is None:
            raise ValueError(f"{p12}: the bundle holds no private key and certificate")
        once = secrets.token_urlsafe(24)
        key_pem = k.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                  BestAvailableEncryption(once.encode()))  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="picket-tls-") as d:  # mode 0700
            f = Path(d) / "client.pem"
            f.write_bytes(_pem([c, *(chain or [])]) + key_pem)
            ctx.load_cert_chain(str(f), password=once)
    return ctx


def server_context(
    *,
    cert: str | Path,
    key: str | Path | None = None,
    key_password: str | None = None,
    ca: str | Path | None = None,
    ca_password: str | None = None,
) -> ssl.SSLContext:
    """A listener's context: TLS 1.2 or newer, `cert`/`key` (PEM) as its identity; with
    `ca` (PEM or .p12 trust store) a client certificate signed by it is required."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key) if key is not None else None, key_password)
    if ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=ca_pem(ca, ca_password))
    return ctx
