"""Generates the Python-made test vectors of format version 2
(``schemas/ciphertext.md``, "Version 2 test vectors").

An implementation independent of both readers: only the ``cryptography``
primitives (P-256 ECDH, HKDF, AES-GCM, AES-SIV), ``hmac``, ``zlib`` and the
format as the document states it; nothing from ``cdcmask`` or the Rust code.
The Rust tests (``transformer/core/tests/ciphertext_v2/``) check these;
the Rust-made vectors in the document come from
``cargo test --workspace --test ciphertext_v2 -- --ignored --nocapture print_rust_vectors``
and are checked by the Python tests. The published vectors (RFC 5869, NIST CAVS,
RFC 5297, Wycheproof) are copied from their sources, never computed here.

    python gen_vectors_v2.py            # the Python-made and published vectors, as JSON

Over 500 lines on purpose: one self-contained file is the independent
implementation, named as the ``source`` of every Python-made vector in the
document (so its path is part of the data); its largest parts are the
published vectors, copied verbatim, and ``generate()``, one entry per vector
with its inputs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import sys
import zlib
from typing import Any, Dict, List, Optional, Tuple

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Vector = Dict[str, Any]

# ---------------------------------------------------------------------------
# Published vectors, copied from their sources (never computed here).
# ---------------------------------------------------------------------------

PUBLISHED: List[Vector] = [
    {
        "kind": "hkdf-sha256",
        "id": "rfc5869-a1",
        "source": "RFC 5869 Appendix A.1 (Test Case 1)",
        "ikm_hex": "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        "salt_hex": "000102030405060708090a0b0c",
        "info_hex": "f0f1f2f3f4f5f6f7f8f9",
        "length": 42,
        "prk_hex": "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "okm_hex": "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    },
    {
        "kind": "ecdh-p256",
        "id": "nist-cavs-cdh-p256-0",
        "source": "NIST CAVS 14.1 ECC CDH Primitive (SP 800-56A), P-256 COUNT = 0",
        "private_hex": "7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534",
        "public_x_hex": "ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230",
        "public_y_hex": "28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141",
        "peer_x_hex": "700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287",
        "peer_y_hex": "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac",
        "z_hex": "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b",
    },
    {
        "kind": "aes-siv",
        "id": "rfc5297-a1",
        "source": "RFC 5297 Appendix A.1 (deterministic, 32-byte key)",
        "key_hex": "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        "ad_hex": ["101112131415161718191a1b1c1d1e1f2021222324252627"],
        "plaintext_hex": "112233445566778899aabbccddee",
        "output_hex": "85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c",
    },
    {
        "kind": "aes-siv",
        "id": "rfc5297-a2",
        "source": "RFC 5297 Appendix A.2 (three associated-data components, the last the nonce)",
        "key_hex": "7f7e7d7c7b7a79787776757473727170404142434445464748494a4b4c4d4e4f",
        "ad_hex": [
            "00112233445566778899aabbccddeeffdeaddadadeaddadaffeeddccbbaa99887766554433221100",
            "102030405060708090a0",
            "09f911029d74e35bd84156c5635688c0",
        ],
        "plaintext_hex": "7468697320697320736f6d6520706c61696e7465787420746f20656e6372797074207573696e67205349562d414553",
        "output_hex": "7bdb6e3b432667eb06f4d14bff2fbd0fcb900f2fddbe404326601965c889bf17dba77ceb094fa663b7a3f748ba8af829ea64ad544a272e9c485b62a3fd5c0d",
    },
    {
        "kind": "aes-siv",
        "id": "wycheproof-aes-siv-cmac-302",
        "source": "Wycheproof testvectors/aes_siv_cmac_test.json, keySize 512, tcId 302 (C2SP/wycheproof 7c9c6db8)",
        "key_hex": "c25cafc6018b98dfbb79a40ec89c575a4f88c4116489bba27707479800c0130235334a45dbe8d8dae3da8dcb45bbe5dce031b0f68ded544fda7eca30d6749442",
        "ad_hex": ["deeb0ccf3aef47a296ed1ca8f4ae5907"],
        "plaintext_hex": "beec61030fa3d670337196beade6aeaa",
        "output_hex": "5865208eab9163db85cab9f96d846234a2626aae22f5c17c9aad4b501f4416e4",
    },
    {
        "kind": "aes-siv",
        "id": "wycheproof-aes-siv-cmac-320",
        "source": "Wycheproof testvectors/aes_siv_cmac_test.json, keySize 512, tcId 320 (C2SP/wycheproof 7c9c6db8)",
        "key_hex": "139383f3f82dc78e0b380027f9e5fcd2ed23716404be5c554452e4dc73d237026594491820c6b8297185cc1fa84f49a5c7d7cd05c5de090ff1c3397bc2740437",
        "ad_hex": ["d39da73ffc03ad0a9213ffc7"],
        "plaintext_hex": "48604944a80fadf50d55b87727934458c8",
        "output_hex": "a9cf73951cb39823777f35c96c845169476e2ec2317cb6b8dd8b6172fdceabff9d",
    },
]

# ---------------------------------------------------------------------------
# The format, as schemas/ciphertext.md states it.
# ---------------------------------------------------------------------------

SOURCE = "python-cryptography (clients/python/tests/support/gen_vectors_v2.py)"

DATA_RECIPIENT = bytes(range(0x01, 0x21))
QUARANTINE_RECIPIENT = bytes(range(0x21, 0x41))
DATA_KEY = bytes(range(0x00, 0x20))
QUARANTINE_DATA_KEY = bytes(range(0x60, 0x80))
DET_KEY = bytes(range(0x00, 0x40))
TOKEN_KEY = bytes(range(0x80, 0xA0))


def lp(part: bytes) -> bytes:
    return struct.pack(">I", len(part)) + part


def private(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def compressed(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def kid(key: ec.EllipticCurvePublicKey) -> str:
    return hashlib.sha256(spki(key)).digest()[:8].hex()


def recipient_vector(vid: str, scalar: bytes) -> Vector:
    public = private(scalar).public_key()
    return {
        "kind": "recipient",
        "id": vid,
        "source": SOURCE,
        "private_scalar_hex": scalar.hex(),
        "spki_der_hex": spki(public).hex(),
        # The same key as a SubjectPublicKeyInfo with a compressed point
        # (RFC 5480 allows it): readers re-encode it, so the kid is the same.
        "spki_der_compressed_point_hex": (
            bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200") + compressed(public)
        ).hex(),
        "compressed_hex": compressed(public).hex(),
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii"),
        "kid": kid(public),
    }


def wrap(purpose: str, recipient_scalar: bytes, ephemeral_scalar: bytes, data_key: bytes) -> Dict[str, str]:
    recipient = private(recipient_scalar).public_key()
    ephemeral = private(ephemeral_scalar)
    eph_pub = compressed(ephemeral.public_key())
    rid = kid(recipient)
    z = ephemeral.exchange(ec.ECDH(), recipient)
    info = (
        b"cdc-mask/ecdh-wrap/v1"
        + lp(purpose.encode())
        + lp(rid.encode("ascii"))
        + lp(eph_pub)
        + lp(compressed(recipient))
    )
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=info).derive(z)
    wrapped = AESGCM(kek).encrypt(bytes(12), data_key, info)
    return {
        "ephemeral_compressed_hex": eph_pub.hex(),
        "ephemeral_spki_der_hex": spki(ephemeral.public_key()).hex(),
        "z_hex": z.hex(),
        "info_hex": info.hex(),
        "kek_hex": kek.hex(),
        "wrapped": f"ecdh1:{rid}:{base64.b64encode(eph_pub + wrapped).decode()}",
    }


def wrap_vector(
    vid: str, purpose: str, recipient_id: str, recipient_scalar: bytes, ephemeral: bytes, data_key: bytes
) -> Vector:
    return {
        "kind": "ecdh-wrap",
        "id": vid,
        "source": SOURCE,
        "purpose": purpose,
        "recipient": recipient_id,
        "ephemeral_scalar_hex": ephemeral.hex(),
        "data_key_hex": data_key.hex(),
        **wrap(purpose, recipient_scalar, ephemeral, data_key),
    }


def cell_aad(schema: str, table: str, column: str, place: str) -> bytes:
    return b"cdc-mask/enc2" + b"".join(lp(p.encode()) for p in (schema, table, column, place))


def cell_vector(
    vid: str, schema: str, table: str, column: str, place: str, plaintext: str, nonce: bytes
) -> Vector:
    aad = cell_aad(schema, table, column, place)
    sealed = nonce + AESGCM(DATA_KEY).encrypt(nonce, plaintext.encode(), aad)
    return {
        "kind": "cell-v2",
        "id": vid,
        "source": SOURCE,
        "data_key_hex": DATA_KEY.hex(),
        "wrapped_by": "wrap-data",
        "schema": schema,
        "table": table,
        "column": column,
        "place": place,
        "aad_hex": aad.hex(),
        "plaintext": plaintext,
        "nonce_hex": nonce.hex(),
        "value": "enc2:" + base64.b64encode(sealed).decode(),
    }


def det_plaintext(raw: str) -> bytes:
    value = json.loads(raw)
    if isinstance(value, bool):
        return b"b" + (b"true" if value else b"false")
    if isinstance(value, str):
        return b"s" + value.encode("utf-8")
    if isinstance(value, (int, float)):
        return b"n" + raw.encode("ascii")
    raise ValueError("not encrypted deterministically")


def det_vector(vid: str, domain: str, raws: List[str]) -> Vector:
    plaintexts = {det_plaintext(raw) for raw in raws}
    assert len(plaintexts) == 1
    (plaintext,) = plaintexts
    ad = [b"cdc-mask/det1", domain.encode()]
    out = AESSIV(DET_KEY).encrypt(plaintext, ad)
    return {
        "kind": "det",
        "id": vid,
        "source": SOURCE,
        "key_hex": DET_KEY.hex(),
        "version": 1,
        "domain": domain,
        "ad_hex": [a.hex() for a in ad],
        "json": raws,
        "plaintext_hex": plaintext.hex(),
        "value": "det1_" + base64.urlsafe_b64encode(out).decode().rstrip("="),
    }


def token_vector(vid: str, domain: str, value: str) -> Vector:
    data = value.encode()
    message = data if domain == "" else domain.encode() + b"\x00" + data
    digest = hmac.new(TOKEN_KEY, message, hashlib.sha256).digest()
    return {
        "kind": "token",
        "id": vid,
        "source": SOURCE,
        "key_hex": TOKEN_KEY.hex(),
        "version": 1,
        "domain": domain,
        "value": value,
        "input_hex": message.hex(),
        "token": "tok1_" + base64.urlsafe_b64encode(digest).decode().rstrip("="),
    }


def quarantine_aad(reason: str, record_id: str, encoding: str) -> bytes:
    return b"cdc-mask/quarantine2" + lp(reason.encode()) + lp(record_id.encode()) + lp(encoding.encode())


def quarantine_line(
    reason: str, record_id: str, key: str, sealed: str, records: Optional[int]
) -> str:
    body: Dict[str, Any] = {"v": 2, "reason": reason, "record_id": record_id, "key": key}
    if records is not None:
        body["encoding"] = "bundle"
        body["records"] = records
    body["sealed"] = sealed
    return json.dumps({"_quarantine": body}, separators=(",", ":"), ensure_ascii=False) + "\n"


def quarantine_vector(
    vid: str,
    wrapped: str,
    reason: str,
    record_id: str,
    nonce: bytes,
    original: Optional[bytes] = None,
    entries: Optional[List[Tuple[str, bytes]]] = None,
) -> Vector:
    encoding = "" if entries is None else "bundle"
    if entries is None:
        assert original is not None
        plaintext = original
    else:
        concatenated = b"".join(lp(i.encode()) + lp(raw) for i, raw in entries)
        squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
        plaintext = squeeze.compress(concatenated) + squeeze.flush()
    aad = quarantine_aad(reason, record_id, encoding)
    sealed = base64.b64encode(nonce + AESGCM(QUARANTINE_DATA_KEY).encrypt(nonce, plaintext, aad)).decode()
    vector: Vector = {
        "kind": "quarantine-v2",
        "id": vid,
        "source": SOURCE,
        "data_key_hex": QUARANTINE_DATA_KEY.hex(),
        "wrapped_by": "wrap-quarantine",
        "reason": reason,
        "record_id": record_id,
        "encoding": encoding,
        "aad_hex": aad.hex(),
        "nonce_hex": nonce.hex(),
    }
    if entries is None:
        vector["original_base64"] = base64.b64encode(plaintext).decode()
    else:
        vector["entries"] = [
            {"record_id": i, "original_base64": base64.b64encode(raw).decode()} for i, raw in entries
        ]
        vector["deflated_hex"] = plaintext.hex()
    vector["line"] = quarantine_line(
        reason, record_id, wrapped, sealed, None if entries is None else len(entries)
    )
    return vector


def flip_base64(text: str, index: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def generate() -> List[Vector]:
    vectors: List[Vector] = []
    data_recipient = recipient_vector("recipient-data", DATA_RECIPIENT)
    quarantine_recipient = recipient_vector("recipient-quarantine", QUARANTINE_RECIPIENT)
    vectors += [data_recipient, quarantine_recipient]

    wrap_data = wrap_vector(
        "wrap-data", "data", "recipient-data", DATA_RECIPIENT, b"\x42" * 32, DATA_KEY
    )
    wrap_quarantine = wrap_vector(
        "wrap-quarantine",
        "quarantine",
        "recipient-quarantine",
        QUARANTINE_RECIPIENT,
        b"\x43" * 32,
        QUARANTINE_DATA_KEY,
    )
    vectors += [wrap_data, wrap_quarantine]

    cells = [
        cell_vector("cell-mail-row", "dataset", "customer", "mail", "row",
                    '"alice@example.com"', bytes(range(12))),
        cell_vector("cell-mail-before", "dataset", "customer", "mail", "before",
                    '"alice@example.com"', bytes.fromhex("a0a0a0a00000000000000007")),
        cell_vector("cell-name-row", "dataset", "customer", "name", "row",
                    '"Jos\\u00e9 \\"Pepe\\" Núñez"', bytes.fromhex("a0a0a0a00000000000000008")),
        cell_vector("cell-unicode-names", "Sales", "Order Details", "Straße", "row",
                    '{"a":[1,2]}', b"\x09" * 12),
        cell_vector("cell-code-before", "dataset", "card", "card_security_code", "before",
                    "123", bytes.fromhex("010203040000000000000000")),
    ]
    vectors += cells
    by_id = {c["id"]: c for c in cells}

    # Whole rows: what a reader gets and must give back.
    flat = {
        "id": 7,
        "mail_encrypted": by_id["cell-mail-row"]["value"],
        "name_encrypted": by_id["cell-name-row"]["value"],
        "gender": "F",
        "_op": "update",
        "_ts": "2026-11-28T10:00:00.000001Z",
        "_txn": 42,
        "_before": {"id": 7, "mail_encrypted": by_id["cell-mail-before"]["value"], "gender": "F"},
        "_schema": "dataset",
        "_table": "customer",
        "_key": wrap_data["wrapped"],
    }
    vectors.append(
        {
            "kind": "row-v2",
            "id": "row-flat",
            "source": SOURCE,
            "row": flat,
            "decrypted": {
                "id": 7,
                "mail": "alice@example.com",
                "name": 'José "Pepe" Núñez',
                "gender": "F",
                "_op": "update",
                "_ts": "2026-11-28T10:00:00.000001Z",
                "_txn": 42,
                "_before": {"id": 7, "mail": "alice@example.com", "gender": "F"},
                "_schema": "dataset",
                "_table": "customer",
            },
        }
    )
    envelope = {
        "data": {"id": 9, "card_security_code_encrypted": None},
        "before-image": {"id": 9, "card_security_code_encrypted": by_id["cell-code-before"]["value"]},
        "metadata": {"schema-name": "dataset", "table-name": "card", "operation": "update"},
        "_key": wrap_data["wrapped"],
    }
    vectors.append(
        {
            "kind": "row-v2",
            "id": "row-envelope",
            "source": SOURCE,
            "row": envelope,
            "decrypted": {
                "data": {"id": 9, "card_security_code": None},
                "before-image": {"id": 9, "card_security_code": 123},
                "metadata": {"schema-name": "dataset", "table-name": "card", "operation": "update"},
            },
        }
    )

    dets = [
        det_vector("det-cafe-default", "", ['"café"', '"caf\\u00e9"']),
        det_vector("det-cafe-customer-email", "customer_email", ['"café"']),
        det_vector("det-number-42", "", ["42"]),
        det_vector("det-string-42", "", ['"42"']),
        det_vector("det-bool-flags", "flags", ["true"]),
    ]
    vectors += dets
    vectors.append(
        {
            "kind": "row-v2",
            "id": "row-det",
            "source": SOURCE,
            "row": {
                "id": 3,
                "mail_encrypted": dets[1]["value"],
                "vip_encrypted": dets[4]["value"],
                "_schema": "dataset",
                "_table": "customer",
            },
            "domains": {"mail": "customer_email", "vip": "flags"},
            "decrypted": {
                "id": 3,
                "mail": "café",
                "vip": True,
                "_schema": "dataset",
                "_table": "customer",
            },
        }
    )
    vectors += [
        token_vector("token-default", "", "alice@example.com"),
        token_vector("token-customer-email", "customer_email", "alice@example.com"),
        token_vector("token-billing-email", "billing_email", "alice@example.com"),
    ]

    single = quarantine_vector(
        "quarantine-single",
        wrap_quarantine["wrapped"],
        "invalid_json",
        "49546986683135544286507457936321625675700192471156785154",
        b"\x55" * 12,
        original=b'{"data":{"mail":"bob@example.com"',
    )
    bundle = quarantine_vector(
        "quarantine-bundle",
        wrap_quarantine["wrapped"],
        "overflow",
        "batch-7",
        b"\x56" * 12,
        entries=[
            ("r1", b'{"data":{"mail":"a@example.io","name":"A"}}'),
            ("r2", b"\xff\xfe not UTF-8"),
            ("r3", b'{"data":{"mail":"a@example.io","name":"A"}}'),
        ],
    )
    vectors += [single, bundle]

    # What a reader treats as a cdc-mask value ("shaped") and what must decrypt
    # whatever the column ("complete"), as the document's rule 5 states it.
    b64 = lambda n: base64.b64encode(bytes(range(n))).decode()  # noqa: E731
    b64url = lambda n: base64.urlsafe_b64encode(bytes(range(n))).decode().rstrip("=")  # noqa: E731
    shapes = [
        ("enc2:" + b64(28), True, True),
        ("enc1:" + b64(40), True, True),
        ("enc9:" + b64(40), True, True),
        ("enc2:" + b64(27), True, False),
        ("enc2:" + b64(28).rstrip("="), True, False),
        ("enc2:" + b64(29)[:-2] + "R=", True, False),
        ("enc1:hello", True, False),
        ("enc2: hi", True, False),
        ("enc2:", True, False),
        ("enc01:" + b64(40), True, False),
        ("det1_" + b64url(17), True, True),
        ("det12_" + b64url(40), True, True),
        ("det1_" + b64url(16), True, False),
        ("det1_" + b64url(18) + "=", True, False),
        ("det01_" + b64url(20), True, False),
        ("det1_" + b64url(20).replace("_", "/").replace("-", "+") + "+", True, False),
        ("det1_x", True, False),
        ("det_abc", False, False),
        ("ENC2:" + b64(28), False, False),
        ("encore: une fois", False, False),
        ("enc", False, False),
        ("Det1_" + b64url(17), False, False),
    ]
    vectors.append(
        {
            "kind": "shapes",
            "id": "shapes",
            "source": SOURCE,
            "cases": [{"text": t, "shaped": shaped, "complete": complete} for t, shaped, complete in shapes],
        }
    )

    # Negative vectors: each must fail with the error named in "expect".
    other_kid = quarantine_recipient["kid"]
    _, _, blob = wrap_data["wrapped"].split(":")
    negatives: List[Vector] = [
        {
            "case": "wrong kid: a descriptor naming another recipient is refused before any key is used",
            "op": "unwrap", "recipient": "recipient-data", "purpose": "data",
            "wrapped": f"ecdh1:{other_kid}:{blob}", "expect": "wrong_recipient",
        },
        {
            "case": "wrong kid: the kid matches the configured key, but the blob was made for another",
            "op": "unwrap", "recipient": "recipient-quarantine", "purpose": "data",
            "wrapped": f"ecdh1:{other_kid}:{blob}", "expect": "unauthentic",
        },
        {
            "case": "wrong purpose: a data key unwrapped as a quarantine key",
            "op": "unwrap", "recipient": "recipient-data", "purpose": "quarantine",
            "wrapped": wrap_data["wrapped"], "expect": "unauthentic",
        },
        {
            "case": "flipped byte in the wrapped key's tag",
            "op": "unwrap", "recipient": "recipient-data", "purpose": "data",
            "wrapped": "ecdh1:" + data_recipient["kid"] + ":" + flip_base64(blob, 80),
            "expect": "unauthentic",
        },
        {
            "case": "flipped byte in the ephemeral key's x-coordinate (another point, or none)",
            "op": "unwrap", "recipient": "recipient-data", "purpose": "data",
            "wrapped": "ecdh1:" + data_recipient["kid"] + ":" + flip_base64(blob, 32),
            # The flipped x is still on the curve: another point, another Z.
            "expect": "unauthentic",
        },
        {
            "case": "flipped byte in an enc2 ciphertext",
            "op": "open-cell", "schema": "dataset", "table": "customer", "column": "mail",
            "place": "row", "value": "enc2:" + flip_base64(by_id["cell-mail-row"]["value"][5:], 14),
            "expect": "unauthentic",
        },
        {
            "case": "moved column: mail's value opened as name",
            "op": "open-cell", "schema": "dataset", "table": "customer", "column": "name",
            "place": "row", "value": by_id["cell-mail-row"]["value"], "expect": "unauthentic",
        },
        {
            "case": "row to before: a row value opened in the before-image",
            "op": "open-cell", "schema": "dataset", "table": "customer", "column": "mail",
            "place": "before", "value": by_id["cell-mail-row"]["value"], "expect": "unauthentic",
        },
        {
            "case": "before to row: a before-image value opened in the row",
            "op": "open-cell", "schema": "dataset", "table": "customer", "column": "mail",
            "place": "row", "value": by_id["cell-mail-before"]["value"], "expect": "unauthentic",
        },
        {
            "case": "moved table",
            "op": "open-cell", "schema": "dataset", "table": "bank", "column": "mail",
            "place": "row", "value": by_id["cell-mail-row"]["value"], "expect": "unauthentic",
        },
        {
            "case": "det value decrypted in another domain",
            "op": "det-decrypt", "domain": "customer_email",
            "value": dets[0]["value"], "expect": "unauthentic",
        },
        {
            "case": "edited clear reason of a quarantine record",
            "op": "unseal", "line": single["line"].replace('"invalid_json"', '"policy_stale"'),
            "expect": "unauthentic",
        },
        {
            "case": "edited clear record_id of a quarantine record",
            "op": "unseal", "line": single["line"].replace(single["record_id"], "1"),
            "expect": "unauthentic",
        },
        {
            "case": "a bundle presented as a single record (encoding removed)",
            "op": "unseal",
            "line": bundle["line"].replace('"encoding":"bundle","records":3,', ""),
            "expect": "unauthentic",
        },
        {
            "case": "a quarantine record sealed for v2 presented as v1",
            "op": "unseal", "line": single["line"].replace('"v":2', '"v":1'),
            "expect": "unauthentic",
        },
    ]
    for number, negative in enumerate(negatives, 1):
        vectors.append({"kind": "negative", "id": f"negative-{number}", "source": SOURCE, **negative})
    return vectors


def main() -> None:
    json.dump(PUBLISHED + generate(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
