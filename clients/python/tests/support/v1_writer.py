"""A minimal writer of format version 1 for the tests: the transformer no
longer writes it, but every reader must still read it.

Exactly as ``schemas/ciphertext.md`` states version 1 (*readable only*):
``enc1:`` values (AAD without place), ``kms:`` data keys from KMS
``GenerateDataKey`` (``KeySpec`` ``AES_256``, encryption context
``{"cdc-mask:purpose": <purpose>}``), ``local:`` data keys wrapped under a
keyring's ``master.key`` / ``quarantine.key``, and ``"v":1`` quarantine
records. ``test_v1_writer.py`` checks it against the version 1 vectors of the
spec, byte for byte. Uses only ``cryptography`` and the standard library
(and a boto3 KMS client it is given), never ``cdcmask``.

``downgrade_line`` rewrites a row the binary wrote in version 2 (``enc2:``,
``ecdh1:``) into version 1 under another data key, keeping every other byte
of the line: the values' plaintexts are the binary's exact JSON texts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any, Dict, Iterator, Optional, Tuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from support import v2_writer
from support.v2_writer import lp

ENC1_LABEL = b"cdc-mask/enc1"
ENC2_LABEL = b"cdc-mask/enc2"
QUARANTINE1_AAD = b"cdc-mask/quarantine1"
PURPOSES = ("data", "quarantine")


def _nonce(nonce: Optional[bytes]) -> bytes:
    if nonce is None:
        return os.urandom(12)
    assert len(nonce) == 12
    return nonce


def cell_aad(schema: str, table: str, column: str) -> bytes:
    """``"cdc-mask/enc1" ‖ lp(schema) ‖ lp(table) ‖ lp(column)``."""
    return ENC1_LABEL + b"".join(lp(p.encode("utf-8")) for p in (schema, table, column))


def enc1(
    data_key: bytes, schema: str, table: str, column: str, plaintext: bytes, nonce: Optional[bytes] = None
) -> str:
    """An ``enc1:`` value of ``plaintext`` (the value's JSON text, as bytes)."""
    n = _nonce(nonce)
    sealed = n + AESGCM(data_key).encrypt(n, plaintext, cell_aad(schema, table, column))
    return "enc1:" + base64.b64encode(sealed).decode("ascii")


def keyring_id(master: bytes) -> str:
    """Lowercase hex of the first 8 bytes of SHA-256(``cdc-mask/keyring-id/v1`` ‖ master key)."""
    return hashlib.sha256(b"cdc-mask/keyring-id/v1" + master).digest()[:8].hex()


def local_wrap(master: bytes, purpose: str, data_key: bytes, nonce: Optional[bytes] = None) -> str:
    """``local:<keyring id>:<base64(nonce ‖ AES-256-GCM(master, data key))>``,
    AAD ``cdc-mask/local-wrap/v1/<purpose>``, ``master`` the keyring's
    ``master.key`` (purpose ``data``) or ``quarantine.key`` (``quarantine``),
    and the id the one of that key."""
    assert purpose in PURPOSES
    n = _nonce(nonce)
    aad = f"cdc-mask/local-wrap/v1/{purpose}".encode("ascii")
    sealed = n + AESGCM(master).encrypt(n, data_key, aad)
    return f"local:{keyring_id(master)}:{base64.b64encode(sealed).decode('ascii')}"


def kms_data_key(client: Any, key_id: str, purpose: str) -> Tuple[bytes, str]:
    """A fresh data key from KMS ``GenerateDataKey``: its plaintext and its
    ``kms:<base64 CiphertextBlob>`` descriptor."""
    assert purpose in PURPOSES
    answer = client.generate_data_key(
        KeyId=key_id, KeySpec="AES_256", EncryptionContext={"cdc-mask:purpose": purpose}
    )
    plaintext = bytes(answer["Plaintext"])
    assert len(plaintext) == 32
    return plaintext, "kms:" + base64.b64encode(answer["CiphertextBlob"]).decode("ascii")


def seal_quarantine(data_key: bytes, original: bytes, nonce: Optional[bytes] = None) -> str:
    """``base64(nonce ‖ AES-256-GCM(data key, original))``, AAD ``cdc-mask/quarantine1``."""
    n = _nonce(nonce)
    return base64.b64encode(n + AESGCM(data_key).encrypt(n, original, QUARANTINE1_AAD)).decode("ascii")


def quarantine_line(
    data_key: bytes, wrapped: str, reason: str, record_id: str, original: bytes
) -> bytes:
    """A ``"v":1`` quarantine record line (``wrapped`` for purpose ``quarantine``)."""
    body = {
        "v": 1,
        "reason": reason,
        "record_id": record_id,
        "key": wrapped,
        "sealed": seal_quarantine(data_key, original),
    }
    return json.dumps({"_quarantine": body}, separators=(",", ":")).encode() + b"\n"


# ---------------------------------------------------------------------------
# A binary-written version 2 row, rewritten in version 1.
# ---------------------------------------------------------------------------


def _enc2_values(record: Dict[str, Any]) -> Iterator[Tuple[str, str, str]]:
    """(column, place, value) of each ``enc2:`` member of a flat row."""
    for name, value in record.items():
        if name == "_before" and isinstance(value, dict):
            for inner, v in value.items():
                if isinstance(v, str) and v.startswith("enc2:"):
                    yield inner, "before", v
        elif isinstance(value, str) and value.startswith("enc2:"):
            yield name, "row", value


def _column(member: str) -> str:
    return member[: -len("_encrypted")] if member.endswith("_encrypted") else member


def open_enc2(data_key: bytes, schema: str, table: str, column: str, place: str, value: str) -> bytes:
    """The plaintext (JSON text) of an ``enc2:`` value."""
    raw = base64.b64decode(value[len("enc2:") :], validate=True)
    aad = ENC2_LABEL + b"".join(lp(p.encode("utf-8")) for p in (schema, table, column, place))
    return AESGCM(data_key).decrypt(raw[:12], raw[12:], aad)


def downgrade_line(line: bytes, data_private_scalar: bytes, data_key: bytes, wrapped: str) -> bytes:
    """The flat row ``line`` (version 2, its ``_key`` an ``ecdh1:`` key
    unwrapped with ``data_private_scalar``) with every ``enc2:`` value
    re-encrypted as ``enc1:`` under ``data_key`` and ``_key`` replaced by
    ``wrapped``. Every other byte of the line is kept (numbers, escapes,
    member order), so both readers see the binary's exact text. A line
    without ``_key`` is returned unchanged."""
    record = json.loads(line)
    if "_key" not in record:
        assert b"enc2:" not in line
        return line
    old_key = v2_writer.unwrap(data_private_scalar, "data", record["_key"])
    schema, table = record["_schema"], record["_table"]
    text = line.decode("utf-8")
    replaced = 0
    for member, place, value in _enc2_values(record):
        column = _column(member)
        plaintext = open_enc2(old_key, schema, table, column, place, value)
        assert text.count(f'"{value}"') == 1
        text = text.replace(f'"{value}"', f'"{enc1(data_key, schema, table, column, plaintext)}"')
        replaced += 1
    assert replaced > 0 and text.count(f'"{record["_key"]}"') == 1
    text = text.replace(f'"{record["_key"]}"', json.dumps(wrapped))
    assert "enc2:" not in text and "ecdh1:" not in text
    return text.encode("utf-8")
