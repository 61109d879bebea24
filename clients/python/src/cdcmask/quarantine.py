"""Quarantine records (``{"_quarantine":{…}}``, ``schemas/ciphertext.md``):
unsealed back to the original bytes, one record or every record of an
overflow bundle, with the quarantine key only.

Split from :mod:`cdcmask.format`, which re-exports these names.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, List, Mapping, NamedTuple, Union

from .errors import CdcMaskError, MalformedError, UnsupportedVersionError
from .format import (
    DEFAULT_MAX_BUNDLE_BYTES,
    QUARANTINE_AAD,
    _check_unique,
    parse_line,
    quarantine_aad_v2,
)
from .keys import KeySource, Purpose, b64decode_strict, open_sealed

__all__ = ["QuarantinedRecord", "unseal_quarantine", "unseal_quarantine_records"]


class QuarantinedRecord(NamedTuple):
    """One original record out of the quarantine."""

    record_id: str
    """Its record id (Firehose ``recordId`` or the router's source position)."""
    original: bytes
    """Its bytes, exactly as the transformer received them."""

    def __repr__(self) -> str:  # never the bytes
        return f"QuarantinedRecord(record_id={self.record_id!r}, bytes={len(self.original)})"


def _split_bundle(deflated: bytes, max_bytes: int) -> List[QuarantinedRecord]:
    inflater = zlib.decompressobj(-15)
    problem: Optional[str] = None
    try:
        inflated = inflater.decompress(deflated, max_bytes + 1)
    except zlib.error:
        inflated, problem = b"", "quarantine bundle is not raw DEFLATE"
    if problem is None and len(inflated) > max_bytes:
        problem = f"quarantine bundle inflates beyond {max_bytes} bytes"
    elif problem is None and (not inflater.eof or inflater.unused_data or inflater.unconsumed_tail):
        problem = "quarantine bundle is not exactly one raw DEFLATE stream"
    if problem is not None:
        raise MalformedError(problem, column="_quarantine")
    entries: List[QuarantinedRecord] = []
    at = 0
    while at < len(inflated):
        parts = []
        for _ in range(2):
            if at + 4 > len(inflated):
                raise MalformedError("quarantine bundle entries are truncated", column="_quarantine")
            (size,) = struct.unpack_from(">I", inflated, at)
            at += 4
            if at + size > len(inflated):
                raise MalformedError("quarantine bundle entries are truncated", column="_quarantine")
            parts.append(inflated[at : at + size])
            at += size
        try:
            record_id = parts[0].decode("utf-8")
        except UnicodeDecodeError:
            record_id = None
        if record_id is None:
            raise MalformedError("a bundled record id is not UTF-8", column="_quarantine")
        entries.append(QuarantinedRecord(record_id, bytes(parts[1])))
    if not entries:
        raise MalformedError("quarantine bundle holds no record", column="_quarantine")
    return entries


def unseal_quarantine_records(
    record: Union[Mapping[str, Any], bytes, str],
    keys: KeySource,
    *,
    max_bundle_bytes: int = DEFAULT_MAX_BUNDLE_BYTES,
) -> List[QuarantinedRecord]:
    """The original records of a quarantine record: one, or every record of
    an overflow bundle (``"encoding":"bundle"``), in order. Needs the
    quarantine key (``quarantine-ecdh.key`` / ``quarantine.key``, or KMS
    with ``quarantine_key_id``).

    Raises:
        MalformedError: not a quarantine record, missing or mistyped fields,
            a bundle that does not inflate (within ``max_bundle_bytes``) to
            ``records`` well-formed entries.
        UnsupportedVersionError: ``v`` other than 1 or 2, or an unknown
            ``encoding``.
        TamperedError: the seal does not authenticate (an edited reason,
            record id or encoding too), WrongKeyError, AccessDeniedError,
            KeyUnavailableError, KeyServiceError: see :mod:`cdcmask.errors`.
    """
    if not isinstance(record, Mapping):
        record = parse_line(record)
    body = record.get("_quarantine")
    if not isinstance(body, Mapping):
        raise MalformedError("not a quarantine record")
    _check_unique(body, "'_quarantine'")
    version = body.get("v", 1)
    if type(version) is not int or version not in (1, 2):
        raise UnsupportedVersionError("unsupported quarantine record version", column="_quarantine")
    wrapped, sealed = body.get("key"), body.get("sealed")
    if not isinstance(wrapped, str):
        raise MalformedError("quarantine record without key", column="_quarantine")
    if not isinstance(sealed, str):
        raise MalformedError("quarantine record without sealed data", column="_quarantine")
    reason, record_id = body.get("reason"), body.get("record_id")
    encoding = body.get("encoding", "")
    if version == 1:
        if "encoding" in body:
            raise UnsupportedVersionError("a version 1 quarantine record has no encoding", column="_quarantine")
        aad = QUARANTINE_AAD
    else:
        if not isinstance(reason, str) or not isinstance(record_id, str):
            raise MalformedError("quarantine record without reason or record_id", column="_quarantine")
        if encoding not in ("", "bundle"):
            raise UnsupportedVersionError("unsupported quarantine encoding", column="_quarantine")
        aad = quarantine_aad_v2(reason, record_id, encoding)
    count = body.get("records")
    if encoding == "bundle" and (type(count) is not int or count < 1):
        raise MalformedError("quarantine bundle without a record count", column="_quarantine")
    cipher = keys.cipher(wrapped, Purpose.QUARANTINE)
    try:
        plaintext = open_sealed(cipher, aad, b64decode_strict(sealed))
    except CdcMaskError as e:
        e.column = "_quarantine"
        raise
    if encoding != "bundle":
        return [QuarantinedRecord(record_id if isinstance(record_id, str) else "", plaintext)]
    entries = _split_bundle(plaintext, max_bundle_bytes)
    if len(entries) != count:
        raise MalformedError(
            f"quarantine bundle holds {len(entries)} records, its line says {count}",
            column="_quarantine",
        )
    return entries


def unseal_quarantine(record: Union[Mapping[str, Any], bytes, str], keys: KeySource) -> bytes:
    """The original bytes of a single quarantine record (version 1 or 2),
    exactly as the transformer received them. For a bundle, use
    :func:`unseal_quarantine_records`.

    Raises:
        MalformedError: a bundle, or see :func:`unseal_quarantine_records`.
    """
    if not isinstance(record, Mapping):
        record = parse_line(record)
    body = record.get("_quarantine")
    if isinstance(body, Mapping) and body.get("encoding") == "bundle":
        raise MalformedError(
            "a quarantine bundle of several records: use unseal_quarantine_records()",
            column="_quarantine",
        )
    (entry,) = unseal_quarantine_records(record, keys)
    return entry.original
