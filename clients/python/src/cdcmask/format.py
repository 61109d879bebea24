"""The encrypted-view record format (``schemas/ciphertext.md``, version 1):
decrypting rows and unsealing quarantine records.

The semantics are those of the Rust reference (``transformer/src/decrypt.rs``,
``cdc-mask decrypt``):

- a row with ``_schema`` is flat (schema and table from ``_schema`` /
  ``_table``, nested ``_before``); any other is the envelope shape (from
  ``metadata.schema-name`` / ``table-name``, nested ``data`` and
  ``before-image``); ``_key`` is unwrapped first and dropped from the output;
- a string ``enc<N>:…`` is a ciphertext; its AAD column is the member name
  without ``_encrypted``, else without ``_src``, else the name itself (the
  first that authenticates). A member named ``…_encrypted`` must decrypt
  (else an error); any other member whose value only looks encrypted passes
  unchanged. Renamed columns come out under their original name, nulls too;
- the plaintext is the value's original JSON text, returned as the typed
  Python value (``json.loads``); everything else passes unchanged, in order.
"""

from __future__ import annotations

import json
import re
import struct
from functools import lru_cache
from typing import Any, Dict, Mapping, Optional, Union

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import (
    CdcMaskError,
    MalformedError,
    QuarantineRecordError,
    TamperedError,
    UnsupportedVersionError,
)
from .keys import KeySource, Purpose, b64decode_strict, open_sealed

__all__ = [
    "CELL_PREFIX",
    "QUARANTINE_AAD",
    "cell_aad",
    "parse_line",
    "decrypt_record",
    "decrypt_line",
    "unseal_quarantine",
]

#: Prefix of an encrypted value: ``enc1:<base64(nonce ‖ ciphertext ‖ tag)>``.
CELL_PREFIX = "enc1:"
#: Associated data of a sealed quarantine record.
QUARANTINE_AAD = b"cdc-mask/quarantine1"

_CELL_AAD_LABEL = b"cdc-mask/enc1"
_RENAME_SUFFIX = "_encrypted"
_COLLISION_SUFFIX = "_src"
_NESTED_FLAT = frozenset(("_before",))
_NESTED_ENVELOPE = frozenset(("data", "before-image"))
_VERSION = re.compile(r"enc([0-9]+):", re.ASCII)

Record = Dict[str, Any]


@lru_cache(maxsize=4096)
def cell_aad(schema: str, table: str, column: str) -> bytes:
    """``"cdc-mask/enc1" ‖ u32be(len) ‖ schema ‖ u32be(len) ‖ table ‖
    u32be(len) ‖ column`` (lengths in bytes of the UTF-8 names)."""
    out = bytearray(_CELL_AAD_LABEL)
    for part in (schema, table, column):
        raw = part.encode("utf-8", "surrogatepass")
        out += struct.pack(">I", len(raw))
        out += raw
    return bytes(out)


class _DuplicateNames(dict):  # type: ignore[type-arg]
    """A parsed object that had a member name twice (last one kept)."""

    __slots__ = ("duplicate",)
    duplicate: str


def _pairs(pairs: Any) -> Dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _DuplicateNames(obj)
    seen = set()
    for name, _ in pairs:
        if name in seen:
            marked.duplicate = name
            break
        seen.add(name)
    return marked


def _no_constants(name: str) -> Any:
    raise MalformedError(f"not JSON ({name} is not a JSON value)")


_ROW_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constants)
_VALUE_DECODER = json.JSONDecoder(parse_constant=_no_constants)


def parse_line(line: Union[bytes, str]) -> Record:
    """Parses one JSON line strictly: UTF-8, one object, no ``NaN`` or
    ``Infinity``. Objects with a duplicate member name are marked, and
    :func:`decrypt_record` refuses them where the name would matter.

    Raises:
        MalformedError: not UTF-8, not JSON, or not an object.
    """
    # Errors are raised outside the ``except`` blocks, so that no exception
    # context keeps the line (decode errors hold the whole input).
    problem = None
    obj: Any = None
    if isinstance(line, (bytes, bytearray, memoryview)):
        try:
            text = bytes(line).decode("utf-8")
        except UnicodeDecodeError as e:
            problem = f"not UTF-8 (byte {e.start})"
    else:
        text = line
    if problem is None:
        try:
            obj = _ROW_DECODER.decode(text)
        except json.JSONDecodeError as e:
            problem = f"not JSON (at char {e.pos})"
        except RecursionError:
            problem = "JSON nested too deeply"
        except MalformedError as e:
            problem = e.message
    if problem is not None:
        raise MalformedError(problem)
    if not isinstance(obj, dict):
        raise MalformedError("not a JSON object")
    return obj


def _check_unique(obj: Mapping[str, Any], where: str) -> None:
    if isinstance(obj, _DuplicateNames):
        raise MalformedError(f"member name {obj.duplicate!r} appears twice in {where}")


_INVALID = object()


def _plaintext_value(plaintext: bytes, column: str) -> Any:
    try:
        value = _VALUE_DECODER.decode(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError, MalformedError):
        value = _INVALID
    if value is _INVALID:
        # Raised here, not in the except block: the decode error holds the
        # plaintext and must not stay reachable as the exception's context.
        raise MalformedError("decrypted value is not one JSON value", column=column)
    return value


class _Place:
    """Where a row's values were encrypted, and with which key."""

    __slots__ = ("schema", "table", "cipher")

    def __init__(self, schema: str, table: str, cipher: Optional[AESGCM]) -> None:
        self.schema = schema
        self.table = table
        self.cipher = cipher


def _put(out: Record, name: str, value: Any, place: _Place, where: str) -> None:
    """Adds one member to ``out``, decrypted if it is an encrypted value.

    As ``schemas/ciphertext.md`` says: the AAD column is tried as the name
    without ``_encrypted``, without ``_src``, then the name itself; a member
    not named ``…_encrypted`` whose value only looks encrypted passes as it is.
    """
    renamed = name[: -len(_RENAME_SUFFIX)] if name.endswith(_RENAME_SUFFIX) else None
    match = _VERSION.match(value) if isinstance(value, str) else None
    if match is None:
        _store(out, renamed if renamed is not None and value is None else name, value, where)
        return
    must_decrypt = renamed is not None
    if match.group(1) != "1":
        if must_decrypt:
            raise UnsupportedVersionError(
                "unsupported ciphertext version (this reader knows enc1:)", column=name
            )
        _store(out, name, value, where)
        return
    if place.cipher is None:
        if must_decrypt:
            raise MalformedError("encrypted value but no _key field", column=renamed)
        _store(out, name, value, where)
        return
    candidates = []
    for candidate in (renamed, name[: -len(_COLLISION_SUFFIX)] if name.endswith(_COLLISION_SUFFIX) else None, name):
        if candidate is not None and candidate not in candidates:
            candidates.append(candidate)
    last_error: Optional[CdcMaskError] = None
    for column in candidates:
        try:
            sealed = b64decode_strict(value[match.end() :])
            plaintext = open_sealed(place.cipher, cell_aad(place.schema, place.table, column), sealed)
        except (TamperedError, MalformedError) as e:
            last_error = e
            continue
        output = column if column == renamed else name
        decoded = _plaintext_value(plaintext, output)
        del plaintext
        _store(out, output, decoded, where)
        return
    if must_decrypt and last_error is not None:
        last_error.column = renamed
        raise last_error
    _store(out, name, value, where)


def _store(out: Record, name: str, value: Any, where: str) -> None:
    if name in out:
        raise MalformedError(f"two members give column {name!r} in {where}", column=name)
    out[name] = value


def decrypt_record(record: Mapping[str, Any], keys: KeySource) -> Record:
    """Decrypts one encrypted-view row (flat or envelope shape).

    Returns a new dict in the row's member order, with original column
    names (``mail_encrypted`` → ``mail``) and plaintext values of their
    original JSON type, without ``_key``; a protected ``null`` also comes out
    under the original name (``mail_encrypted: null`` → ``mail: None``), as
    ``cdc-mask decrypt`` does.

    Raises:
        QuarantineRecordError: a ``{"_quarantine": …}`` record.
        MalformedError, UnsupportedVersionError, TamperedError,
        WrongKeyError, AccessDeniedError, KeyUnavailableError,
        KeyServiceError: see :mod:`cdcmask.errors`.
    """
    if not isinstance(record, Mapping):
        raise MalformedError("not a JSON object")
    if "_quarantine" in record:
        raise QuarantineRecordError("a quarantine record: use unseal_quarantine() / --quarantine")
    _check_unique(record, "the record")
    # Flat rows always carry `_schema`; anything else is the envelope shape
    # (a source column called `metadata` or `data` in a flat row is data).
    if "_schema" in record:
        schema, table = record.get("_schema"), record.get("_table")
        nested = _NESTED_FLAT
    else:
        metadata = record.get("metadata")
        if isinstance(metadata, Mapping):
            _check_unique(metadata, "'metadata'")
            schema, table = metadata.get("schema-name"), metadata.get("table-name")
        else:
            schema, table = None, None
        nested = _NESTED_ENVELOPE
    wrapped = record.get("_key")
    place = _Place(
        schema if isinstance(schema, str) else "",
        table if isinstance(table, str) else "",
        keys.cipher(wrapped, Purpose.DATA) if isinstance(wrapped, str) else None,
    )
    out: Record = {}
    for name, value in record.items():
        if name == "_key":
            continue
        if name in nested and (type(value) is dict or isinstance(value, Mapping)):
            _check_unique(value, repr(name))
            inner: Record = {}
            for column, cell in value.items():
                _put(inner, column, cell, place, repr(name))
            if name in out:
                raise MalformedError(f"two members give column {name!r}", column=name)
            out[name] = inner
        else:
            _put(out, name, value, place, "the record")
    return out


def decrypt_line(line: Union[bytes, str], keys: KeySource) -> Record:
    """:func:`parse_line` then :func:`decrypt_record`."""
    return decrypt_record(parse_line(line), keys)


def unseal_quarantine(record: Union[Mapping[str, Any], bytes, str], keys: KeySource) -> bytes:
    """The original bytes of a quarantine record
    (``{"_quarantine":{"v":1,"reason":…,"record_id":…,"key":…,"sealed":…}}``),
    exactly as the transformer received them. Needs the quarantine key
    (``quarantine.key``, or KMS ``Decrypt`` with purpose ``quarantine``).

    Raises:
        MalformedError: not a quarantine record, or no ``key`` / ``sealed``.
        UnsupportedVersionError: ``v`` is present and not 1.
        TamperedError, WrongKeyError, AccessDeniedError, KeyUnavailableError,
        KeyServiceError: see :mod:`cdcmask.errors`.
    """
    if not isinstance(record, Mapping):
        record = parse_line(record)
    body = record.get("_quarantine")
    if not isinstance(body, Mapping):
        raise MalformedError("not a quarantine record")
    version = body.get("v", 1)
    if version != 1 or type(version) is bool:
        raise UnsupportedVersionError("unsupported quarantine record version", column="_quarantine")
    wrapped, sealed = body.get("key"), body.get("sealed")
    if not isinstance(wrapped, str):
        raise MalformedError("quarantine record without key", column="_quarantine")
    if not isinstance(sealed, str):
        raise MalformedError("quarantine record without sealed data", column="_quarantine")
    cipher = keys.cipher(wrapped, Purpose.QUARANTINE)
    try:
        return open_sealed(cipher, QUARANTINE_AAD, b64decode_strict(sealed))
    except CdcMaskError as e:
        e.column = "_quarantine"
        raise
