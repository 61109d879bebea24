"""Deterministic values (``encrypt-deterministic``): ``det<version>_…``,
format version 2 of ``schemas/ciphertext.md``.

AES-SIV (RFC 5297) with a 64-byte key, associated data
``["cdc-mask/det1", domain]`` (the default domain is ``""``), plaintext a type
tag (``s`` string, ``n`` number, ``b`` boolean) and the value's canonical
text, encoded ``det<version>_`` + base64url without padding of
``SIV ‖ ciphertext``. Decrypting restores the value and its JSON type.

The deterministic key is the same in every writer (a secret, like the token
key; ``deterministic.key`` in a local keyring). The domain of a column comes
from the reader's configuration (the policy's ``domain``), by the column's
original name.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from .errors import MalformedError, TamperedError, WrongKeyError

__all__ = [
    "DET_LABEL",
    "DeterministicKey",
    "DeterministicKeys",
    "check_domain",
    "parse_det",
    "is_complete_det",
]

#: First associated-data component of every deterministic value.
DET_LABEL = b"cdc-mask/det1"
_KEY_LEN = 64
_SIV_LEN = 16
_SHAPE = re.compile(r"det([0-9]+)_", re.ASCII)
_DOMAIN = re.compile(r"[a-z0-9_]{1,64}", re.ASCII)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.ASCII)
_B64URL = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


def check_domain(domain: str) -> str:
    """A join domain: ``""`` (the default) or ``[a-z0-9_]{1,64}``.

    Raises:
        ValueError: anything else.
    """
    if domain != "" and _DOMAIN.fullmatch(domain) is None:
        raise ValueError("a join domain is empty (the default) or matches [a-z0-9_]{1,64}")
    return domain


def parse_det(text: str) -> Optional[Tuple[str, str]]:
    """``(version digits, body)`` if ``text`` starts like a deterministic
    value (``det<digits>_``), else ``None``."""
    match = _SHAPE.match(text)
    if match is None:
        return None
    return match.group(1), text[match.end() :]


def _decode_body(body: str) -> Optional[bytes]:
    """Canonical base64url without padding of at least 17 bytes, else None."""
    if _B64URL.fullmatch(body) is None or len(body) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != body:
        return None  # non-zero padding bits
    return raw if len(raw) > _SIV_LEN else None


def is_complete_det(text: str) -> bool:
    """Whether ``text`` is a complete deterministic value by its syntax: a
    version without leading zero and a body that is canonical unpadded
    base64url of at least 17 bytes (such a value must decrypt)."""
    parsed = parse_det(text)
    if parsed is None:
        return False
    version, body = parsed
    return not version.startswith("0") and _decode_body(body) is not None


def _plaintext_value(plain: bytes) -> Any:
    tag, text = plain[:1], plain[1:]
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        decoded = None
    value: Any = _INVALID
    if decoded is not None:
        if tag == b"s":
            value = decoded
        elif tag == b"n" and _NUMBER.fullmatch(decoded) is not None:
            value = json.loads(decoded)
        elif tag == b"b" and decoded in ("true", "false"):
            value = decoded == "true"
    if value is _INVALID:
        raise MalformedError("decrypted deterministic value is not well-formed")
    return value


_INVALID = object()


class DeterministicKey:
    """One deterministic key (64 bytes) and its version (``det<version>_``)."""

    __slots__ = ("version", "_siv")

    def __init__(self, key: bytes, version: int = 1) -> None:
        if len(key) != _KEY_LEN:
            raise ValueError("a deterministic key is exactly 64 bytes (AES-256-SIV)")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError("a deterministic key version is a positive integer")
        self.version = version
        self._siv = AESSIV(bytes(key))

    def decrypt(self, domain: str, text: str) -> Any:
        """The value of ``det<version>_…`` made in ``domain``: a ``str``,
        ``int``/``float`` or ``bool``.

        Raises:
            MalformedError: not a complete deterministic value, or its
                plaintext is not a type tag and its text.
            WrongKeyError: made with another key version.
            TamperedError: does not authenticate (another key or domain, or
                tampered).
        """
        check_domain(domain)
        parsed = parse_det(text)
        if parsed is None or parsed[0].startswith("0"):
            raise MalformedError("not a deterministic value")
        version, body = parsed
        if int(version) != self.version:
            raise WrongKeyError(
                f"deterministic value of key version {version}, this key is version {self.version}"
            )
        raw = _decode_body(body)
        if raw is None:
            raise MalformedError("deterministic value is not canonical base64url of 17 bytes or more")
        try:
            plain = self._siv.decrypt(raw, [DET_LABEL, domain.encode("ascii")])
        except InvalidTag:
            raise TamperedError(
                "deterministic value does not authenticate (another key or domain, or tampered)"
            ) from None
        return _plaintext_value(plain)

    def __repr__(self) -> str:
        return f"DeterministicKey(version={self.version})"


class DeterministicKeys:
    """What a reader needs for ``det`` values: the key of each version, and
    the join domain of each column (default ``""``).

    Args:
        keys: a :class:`DeterministicKey`, several, or ``{version: key bytes}``.
        domains: ``{column: domain}``; a key may be ``column``,
            ``table.column`` or ``schema.table.column`` (the most specific
            wins), with the column's original (un-renamed) name.
    """

    def __init__(
        self,
        keys: Union[DeterministicKey, Iterable[DeterministicKey], Mapping[int, bytes]],
        domains: Optional[Mapping[str, str]] = None,
    ) -> None:
        if isinstance(keys, DeterministicKey):
            listed = [keys]
        elif isinstance(keys, Mapping):
            listed = [DeterministicKey(k, v) for v, k in keys.items()]
        else:
            listed = list(keys)
        self._keys: Dict[int, DeterministicKey] = {}
        for key in listed:
            if key.version in self._keys:
                raise ValueError(f"two deterministic keys of version {key.version}")
            self._keys[key.version] = key
        if not self._keys:
            raise ValueError("no deterministic key")
        self._domains = {str(c): check_domain(d) for c, d in (domains or {}).items()}

    def domain(self, schema: str, table: str, column: str) -> Optional[str]:
        """The configured domain of a column, or ``None``."""
        for name in (f"{schema}.{table}.{column}", f"{table}.{column}", column):
            if name in self._domains:
                return self._domains[name]
        return None

    def key(self, version: str) -> DeterministicKey:
        """The key of a version (as written in the value).

        Raises:
            WrongKeyError: no key of that version.
        """
        found = self._keys.get(int(version)) if version.isdigit() and not version.startswith("0") else None
        if found is None:
            raise WrongKeyError(f"no deterministic key of version {version}")
        return found

    def __repr__(self) -> str:
        return f"DeterministicKeys(versions={sorted(self._keys)})"
