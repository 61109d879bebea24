"""The encrypted-view record format (``schemas/ciphertext.md``, versions 1
and 2): decrypting rows and unsealing quarantine records.

The rules (``schemas/ciphertext.md``, "Reading a row"):

- a row with ``_schema`` is flat (schema and table from ``_schema`` /
  ``_table``, nested ``_before``); any other is the envelope shape (from
  ``metadata.schema-name`` / ``table-name``, nested ``data`` and
  ``before-image``). Members of ``_before`` / ``before-image`` have place
  ``before``, all others place ``row``. ``_key`` is unwrapped first and
  dropped from the output;
- a string ``enc<N>:…`` or ``det<N>_…`` is cdc-mask shaped. ``enc1:`` opens
  with the AAD of version 1, ``enc2:`` with the AAD of version 2 (which binds
  the place), ``det<N>_`` with deterministic key version N and the column's
  join domain. The AAD column (and the domain's column) is the member name
  without ``_encrypted``, else without ``_src``, else the name itself (the
  first that authenticates);
- it must decrypt (else an error, never passed through) if the member is
  named ``…_encrypted``, or if the value is a complete ciphertext by its
  syntax whatever the member's name; any other value passes unchanged.
  Renamed columns come out under their original name, nulls too;
- the plaintext of ``enc`` is the value's original JSON text, returned as
  the typed Python value (``json.loads``); ``det`` values come back as
  ``str``, ``int``/``float`` or ``bool``. Everything else passes unchanged,
  in order.
"""

from __future__ import annotations

import json
import re
import struct
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Union

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .det import DeterministicKeys, is_complete_det, parse_det
from .errors import (
    CdcMaskError,
    MalformedError,
    QuarantineRecordError,
    TamperedError,
    UnsupportedVersionError,
    WrongKeyError,
)
from .keys import KeySource, Purpose, b64decode_strict, open_sealed

__all__ = [
    "CELL_PREFIX",
    "ENC2_PREFIX",
    "QUARANTINE_AAD",
    "QUARANTINE_AAD_V2_LABEL",
    "DEFAULT_MAX_BUNDLE_BYTES",
    "QuarantinedRecord",
    "cell_aad",
    "cell_aad_v2",
    "quarantine_aad_v2",
    "parse_line",
    "decrypt_record",
    "decrypt_line",
    "unseal_quarantine",
    "unseal_quarantine_records",
    "is_shaped",
    "is_complete",
]

#: Prefix of an encrypted value of version 1 (readable only).
CELL_PREFIX = "enc1:"
#: Prefix of an encrypted value of version 2.
ENC2_PREFIX = "enc2:"
#: Associated data of a version 1 quarantine record.
QUARANTINE_AAD = b"cdc-mask/quarantine1"
#: Label opening the associated data of a version 2 quarantine record.
QUARANTINE_AAD_V2_LABEL = b"cdc-mask/quarantine2"
#: Most bytes a quarantine bundle may inflate to.
DEFAULT_MAX_BUNDLE_BYTES = 64 << 20

_CELL_AAD_LABEL = b"cdc-mask/enc1"
_CELL_AAD_V2_LABEL = b"cdc-mask/enc2"
_RENAME_SUFFIX = "_encrypted"
_COLLISION_SUFFIX = "_src"
_NESTED_FLAT = {"_before": "before"}
_NESTED_ENVELOPE = {"data": "row", "before-image": "before"}
_VERSION = re.compile(r"enc([0-9]+):", re.ASCII)
_MIN_SEALED = 12 + 16
_PLACES = ("row", "before")

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



def _lp(part: str) -> bytes:
    raw = part.encode("utf-8", "surrogatepass")
    return struct.pack(">I", len(raw)) + raw


@lru_cache(maxsize=4096)
def cell_aad_v2(schema: str, table: str, column: str, place: str) -> bytes:
    """``"cdc-mask/enc2" ‖ lp(schema) ‖ lp(table) ‖ lp(column) ‖ lp(place)``
    with ``lp(x) = u32be(len(x)) ‖ x`` and ``place`` ``row`` or ``before``."""
    if place not in _PLACES:
        raise ValueError("place is 'row' or 'before'")
    return _CELL_AAD_V2_LABEL + b"".join(_lp(p) for p in (schema, table, column, place))


def quarantine_aad_v2(reason: str, record_id: str, encoding: str = "") -> bytes:
    """``"cdc-mask/quarantine2" ‖ lp(reason) ‖ lp(record_id) ‖ lp(encoding)``."""
    return QUARANTINE_AAD_V2_LABEL + _lp(reason) + _lp(record_id) + _lp(encoding)


class _Context:
    """Where a row's values were encrypted, and with which keys."""

    __slots__ = ("schema", "table", "cipher", "deterministic")

    def __init__(
        self,
        schema: str,
        table: str,
        cipher: Optional[AESGCM],
        deterministic: Optional[DeterministicKeys],
    ) -> None:
        self.schema = schema
        self.table = table
        self.cipher = cipher
        self.deterministic = deterministic


def _complete_enc(version: str, rest: str) -> bool:
    """Whether ``enc<version>:<rest>`` is complete: a version without
    leading zero, and canonical padded base64 of at least a nonce and a tag."""
    if version.startswith("0"):
        return False
    try:
        return len(b64decode_strict(rest)) >= _MIN_SEALED
    except MalformedError:
        return False


def is_shaped(text: str) -> bool:
    """Whether ``text`` starts like a cdc-mask value: ``enc<digits>:`` or
    ``det<digits>_``."""
    return _VERSION.match(text) is not None or parse_det(text) is not None


def is_complete(text: str) -> bool:
    """Whether ``text`` is a complete cdc-mask ciphertext by its syntax (it
    must then decrypt whatever its column): ``enc<N>:`` + canonical padded
    base64 of at least 28 bytes, or ``det<N>_`` + canonical unpadded
    base64url of at least 17 bytes, N without leading zero."""
    enc = _VERSION.match(text)
    if enc is not None:
        return _complete_enc(enc.group(1), text[enc.end() :])
    return is_complete_det(text)


def _candidates(name: str, renamed: Optional[str]) -> List[str]:
    found: List[str] = []
    src = name[: -len(_COLLISION_SUFFIX)] if name.endswith(_COLLISION_SUFFIX) else None
    for candidate in (renamed, src, name):
        if candidate is not None and candidate not in found:
            found.append(candidate)
    return found


def _put(out: Record, name: str, value: Any, place: str, ctx: _Context, where: str) -> None:
    """Adds one member to ``out``, decrypted if it is a cdc-mask value (see
    the module's rules)."""
    renamed = name[: -len(_RENAME_SUFFIX)] if name.endswith(_RENAME_SUFFIX) else None
    if not isinstance(value, str):
        _store(out, renamed if renamed is not None and value is None else name, value, where)
        return
    enc = _VERSION.match(value)
    det = parse_det(value) if enc is None else None
    if enc is None and det is None:
        _store(out, name, value, where)
        return
    if enc is not None:
        complete = _complete_enc(enc.group(1), value[enc.end() :])
    else:
        complete = is_complete_det(value)
    if renamed is None and not complete:
        # Clear text that merely starts like a ciphertext.
        _store(out, name, value, where)
        return
    column = renamed if renamed is not None else name
    candidates = _candidates(name, renamed)
    try:
        if enc is not None:
            output, decoded = _open_enc(value, enc, place, ctx, candidates, name)
        else:
            output, decoded = _open_det(value, ctx, candidates)
    except CdcMaskError as e:
        if e.column is None:
            e.column = column
        raise
    _store(out, output if output == renamed else name, decoded, where)


def _open_enc(
    value: str, enc: "re.Match[str]", place: str, ctx: _Context, candidates: List[str], name: str
) -> "tuple[str, Any]":
    version = enc.group(1)
    if version not in ("1", "2"):
        raise UnsupportedVersionError(
            "unsupported ciphertext version (this reader knows enc1: and enc2:)", column=name
        )
    if ctx.cipher is None:
        raise MalformedError("encrypted value but no _key field")
    sealed = b64decode_strict(value[enc.end() :])
    last_error: Optional[CdcMaskError] = None
    for candidate in candidates:
        if version == "1":
            aad = cell_aad(ctx.schema, ctx.table, candidate)
        else:
            aad = cell_aad_v2(ctx.schema, ctx.table, candidate, place)
        try:
            plaintext = open_sealed(ctx.cipher, aad, sealed)
        except (TamperedError, MalformedError) as e:
            last_error = e
            continue
        decoded = _plaintext_value(plaintext, candidate)
        del plaintext
        return candidate, decoded
    assert last_error is not None
    last_error.column = None
    raise last_error


def _open_det(value: str, ctx: _Context, candidates: List[str]) -> "tuple[str, Any]":
    if ctx.deterministic is None:
        raise WrongKeyError("deterministic value but no deterministic key given (deterministic=…)")
    parsed = parse_det(value)
    assert parsed is not None
    key = ctx.deterministic.key(parsed[0])
    domain = ""
    chosen = candidates[0]
    for candidate in candidates:
        found = ctx.deterministic.domain(ctx.schema, ctx.table, candidate)
        if found is not None:
            domain, chosen = found, candidate
            break
    return chosen, key.decrypt(domain, value)


def _store(out: Record, name: str, value: Any, where: str) -> None:
    if name in out:
        raise MalformedError(f"two members give column {name!r} in {where}", column=name)
    out[name] = value


def decrypt_record(
    record: Mapping[str, Any],
    keys: KeySource,
    *,
    deterministic: Optional[DeterministicKeys] = None,
) -> Record:
    """Decrypts one encrypted-view row (flat or envelope shape, format
    version 1 or 2).

    Returns a new dict in the row's member order, with original column
    names (``mail_encrypted`` → ``mail``) and plaintext values of their
    original JSON type, without ``_key``; a protected ``null`` also comes out
    under the original name (``mail_encrypted: null`` → ``mail: None``), as
    ``cdc-mask decrypt`` does. ``det`` values need ``deterministic`` (the
    keys and the columns' join domains).

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
    ctx = _Context(
        schema if isinstance(schema, str) else "",
        table if isinstance(table, str) else "",
        keys.cipher(wrapped, Purpose.DATA) if isinstance(wrapped, str) else None,
        deterministic,
    )
    out: Record = {}
    for name, value in record.items():
        if name == "_key":
            continue
        place = nested.get(name)
        if place is not None and (type(value) is dict or isinstance(value, Mapping)):
            _check_unique(value, repr(name))
            inner: Record = {}
            for column, cell in value.items():
                _put(inner, column, cell, place, ctx, repr(name))
            if name in out:
                raise MalformedError(f"two members give column {name!r}", column=name)
            out[name] = inner
        else:
            _put(out, name, value, "row", ctx, "the record")
    return out


def decrypt_line(
    line: Union[bytes, str],
    keys: KeySource,
    *,
    deterministic: Optional[DeterministicKeys] = None,
) -> Record:
    """:func:`parse_line` then :func:`decrypt_record`."""
    return decrypt_record(parse_line(line), keys, deterministic=deterministic)


# The quarantine half lives in its own module; its names stay importable
# from here, as before (imported last: it builds on this module).
from .quarantine import (  # noqa: E402
    QuarantinedRecord,
    unseal_quarantine,
    unseal_quarantine_records,
)
