"""A minimal writer of format version 2 for the tests (the transformer is
the real writer): wraps data keys to a P-256 public key with a fresh
ephemeral key, encrypts ``enc2:`` values, and seals quarantine records, as
``schemas/ciphertext.md`` states. Uses only ``cryptography``, never
``cdcmask``."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import zlib
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PublicKey = Union[ec.EllipticCurvePublicKey, bytes, str]


def lp(part: bytes) -> bytes:
    return struct.pack(">I", len(part)) + part


def load_public(key: PublicKey) -> ec.EllipticCurvePublicKey:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key
    if isinstance(key, str):
        loaded = serialization.load_pem_public_key(key.encode())
    else:
        loaded = serialization.load_der_public_key(key)
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    return loaded


def compressed(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def kid(key: PublicKey) -> str:
    der = load_public(key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()[:8].hex()


def wrap(recipient: PublicKey, purpose: str, data_key: bytes) -> str:
    public = load_public(recipient)
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    eph = compressed(ephemeral.public_key())
    rid = kid(public)
    z = ephemeral.exchange(ec.ECDH(), public)
    info = (
        b"cdc-mask/ecdh-wrap/v1" + lp(purpose.encode()) + lp(rid.encode()) + lp(eph) + lp(compressed(public))
    )
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=info).derive(z)
    return f"ecdh1:{rid}:{base64.b64encode(eph + AESGCM(kek).encrypt(bytes(12), data_key, info)).decode()}"


def enc2(data_key: bytes, schema: str, table: str, column: str, place: str, value: Any) -> str:
    aad = b"cdc-mask/enc2" + b"".join(lp(p.encode()) for p in (schema, table, column, place))
    nonce = os.urandom(12)
    plaintext = json.dumps(value, ensure_ascii=False).encode()
    return "enc2:" + base64.b64encode(nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)).decode()


def det(key: bytes, domain: str, value: Any, version: int = 1) -> str:
    if isinstance(value, bool):
        plaintext = b"b" + (b"true" if value else b"false")
    elif isinstance(value, str):
        plaintext = b"s" + value.encode()
    else:
        plaintext = b"n" + json.dumps(value).encode()
    out = AESSIV(key).encrypt(plaintext, [b"cdc-mask/det1", domain.encode()])
    return f"det{version}_" + base64.urlsafe_b64encode(out).decode().rstrip("=")


def row(
    recipient: PublicKey,
    schema: str,
    table: str,
    columns: Dict[str, Any],
    before: Optional[Dict[str, Any]] = None,
    protected: Sequence[str] = (),
    data_key: Optional[bytes] = None,
    wrapped: Optional[str] = None,
) -> Tuple[Dict[str, Any], bytes]:
    """A flat encrypted-view row with the ``protected`` columns encrypted
    (renamed ``…_encrypted``); returns the row and its data key."""
    key = data_key if data_key is not None else os.urandom(32)

    def protect(values: Dict[str, Any], place: str) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for name, value in values.items():
            if name in protected:
                out[f"{name}_encrypted"] = (
                    None if value is None else enc2(key, schema, table, name, place, value)
                )
            else:
                out[name] = value
        return out

    record = protect(columns, "row")
    record.update({"_op": "update" if before else "insert", "_ts": "2026-11-28T10:00:00.000001Z"})
    if before is not None:
        record["_before"] = protect(before, "before")
    record.update(
        {"_schema": schema, "_table": table, "_key": wrapped or wrap(recipient, "data", key)}
    )
    return record, key


def quarantine_line(
    recipient: PublicKey,
    reason: str,
    record_id: str,
    original: Optional[bytes] = None,
    bundle: Optional[List[Tuple[str, bytes]]] = None,
) -> bytes:
    key = os.urandom(32)
    if bundle is None:
        assert original is not None
        plaintext, encoding = original, b""
    else:
        squeeze = zlib.compressobj(6, zlib.DEFLATED, -15)
        plaintext = squeeze.compress(b"".join(lp(i.encode()) + lp(r) for i, r in bundle)) + squeeze.flush()
        encoding = b"bundle"
    aad = b"cdc-mask/quarantine2" + lp(reason.encode()) + lp(record_id.encode()) + lp(encoding)
    nonce = os.urandom(12)
    body: Dict[str, Any] = {
        "v": 2,
        "reason": reason,
        "record_id": record_id,
        "key": wrap(recipient, "quarantine", key),
    }
    if bundle is not None:
        body.update({"encoding": "bundle", "records": len(bundle)})
    body["sealed"] = base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, aad)).decode()
    return json.dumps({"_quarantine": body}, separators=(",", ":")).encode() + b"\n"


def private_scalar(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_numbers().private_value.to_bytes(32, "big")


def unwrap(private: bytes, purpose: str, wrapped: str) -> bytes:
    """The data key of an ``ecdh1:`` descriptor, with the recipient's 32-byte
    private scalar (what a local keyring holds): for tests that rewrite
    binary-written data, not a reader."""
    prefix, rid, body = wrapped.split(":")
    assert prefix == "ecdh1"
    recipient = ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1())
    public = recipient.public_key()
    assert rid == kid(public), "wrapped for another recipient"
    blob = base64.b64decode(body, validate=True)
    assert len(blob) == 81
    eph = blob[:33]
    z = recipient.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), eph))
    info = b"cdc-mask/ecdh-wrap/v1" + lp(purpose.encode()) + lp(rid.encode()) + lp(eph) + lp(compressed(public))
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=info).derive(z)
    return AESGCM(kek).decrypt(bytes(12), blob[33:], info)
