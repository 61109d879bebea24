"""Data keys wrapped to a P-256 public key (``ecdh1:``), format version 2 of
``schemas/ciphertext.md``: the read side.

``ecdh1:<kid>:<base64 of E (33, compressed) ‖ AES-256-GCM(KEK, 0^12, info, data key) (48)>``
with ``KEK = HKDF-SHA-256(salt = 32 zero bytes, ikm = Z, info)`` and
``info = "cdc-mask/ecdh-wrap/v1" ‖ lp(purpose) ‖ lp(kid) ‖ lp(E) ‖ lp(recipient)``.

``Z`` (the x-coordinate of the ECDH shared point) comes from the recipient's
private key: a local key file, or AWS KMS ``DeriveSharedSecret`` with the
ephemeral public key ``E`` as DER SubjectPublicKeyInfo. The recipient is
always the one the caller configured: a descriptor whose key id names
another key is refused before any key is used.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import struct
from typing import Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import KeyringError, MalformedError, TamperedError, WrongKeyError

__all__ = [
    "ECDH_PREFIX",
    "KDF_LABEL",
    "Recipient",
    "WrappedKey",
    "kdf_info",
    "derive_kek",
]

#: Prefix of a data key wrapped to a P-256 public key.
ECDH_PREFIX = "ecdh1:"
#: First part of the HKDF ``info``.
KDF_LABEL = b"cdc-mask/ecdh-wrap/v1"

_BLOB_LEN = 33 + 32 + 16
_ENCODED_LEN = 108  # base64 of 81 bytes, no padding needed
_KID = re.compile(r"[0-9a-f]{16}", re.ASCII)
_CURVE = ec.SECP256R1()
#: The order of P-256's group: private scalars are in [1, n).
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _lp(part: bytes) -> bytes:
    return struct.pack(">I", len(part)) + part


def _compressed(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class Recipient:
    """A recipient public key with its key id (``kid``): lowercase hex of
    the first 8 bytes of SHA-256 of its DER SubjectPublicKeyInfo with the
    point uncompressed (what KMS ``GetPublicKey`` returns)."""

    __slots__ = ("public_key", "kid", "compressed")

    def __init__(self, public_key: ec.EllipticCurvePublicKey) -> None:
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, ec.SECP256R1
        ):
            raise KeyringError("the recipient key is not a P-256 public key")
        self.public_key = public_key
        self.kid = hashlib.sha256(_spki(public_key)).digest()[:8].hex()
        self.compressed = _compressed(public_key)

    @classmethod
    def from_spki_der(cls, der: bytes) -> "Recipient":
        """From a DER SubjectPublicKeyInfo (KMS ``GetPublicKey``'s ``PublicKey``).

        Raises:
            KeyringError: not a P-256 public key.
        """
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise KeyringError("the public key is not a P-256 SubjectPublicKeyInfo")
        return cls(key)

    @classmethod
    def from_pem(cls, pem: Union[str, bytes]) -> "Recipient":
        """From a PEM ``PUBLIC KEY`` block.

        Raises:
            KeyringError: not a P-256 public key.
        """
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise KeyringError("the PEM does not hold a P-256 public key")
        return cls(key)

    def __repr__(self) -> str:
        return f"Recipient(kid={self.kid!r})"


def kdf_info(purpose: str, kid: str, ephemeral_compressed: bytes, recipient_compressed: bytes) -> bytes:
    """``"cdc-mask/ecdh-wrap/v1" ‖ lp(purpose) ‖ lp(kid) ‖ lp(E) ‖ lp(recipient)``."""
    return (
        KDF_LABEL
        + _lp(purpose.encode("ascii"))
        + _lp(kid.encode("ascii"))
        + _lp(ephemeral_compressed)
        + _lp(recipient_compressed)
    )


def derive_kek(z: bytes, info: bytes) -> bytes:
    """HKDF-SHA-256(salt = 32 zero bytes, ikm = ``z``, ``info``, 32 bytes)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=bytes(32), info=info).derive(z)


class WrappedKey:
    """A parsed ``ecdh1:`` descriptor (public parts only)."""

    __slots__ = ("kid", "ephemeral", "ephemeral_compressed", "_sealed")

    def __init__(self, kid: str, ephemeral: ec.EllipticCurvePublicKey, compressed: bytes, sealed: bytes) -> None:
        self.kid = kid
        self.ephemeral = ephemeral
        self.ephemeral_compressed = compressed
        self._sealed = sealed

    @classmethod
    def parse(cls, text: str) -> "WrappedKey":
        """Parses ``ecdh1:<16 lowercase hex>:<canonical base64 of 81 bytes>``
        whose first 33 bytes are a compressed point of P-256.

        Raises:
            MalformedError: naming what is wrong (never the bytes).
        """
        if not text.startswith(ECDH_PREFIX):
            raise MalformedError("not an ecdh1: wrapped key")
        kid, sep, encoded = text[len(ECDH_PREFIX) :].partition(":")
        if not sep or _KID.fullmatch(kid) is None:
            raise MalformedError("ecdh1: wrapped key without a 16-hex-digit key id")
        if len(encoded) != _ENCODED_LEN:
            raise MalformedError("ecdh1: wrapped key is not base64 of 81 bytes")
        try:
            raw = encoded.encode("ascii")
            blob = binascii.a2b_base64(raw)
        except (binascii.Error, ValueError):
            blob = b""
        if len(blob) != _BLOB_LEN or binascii.b2a_base64(blob, newline=False) != raw:
            raise MalformedError("ecdh1: wrapped key is not canonical base64 of 81 bytes")
        compressed = blob[:33]
        if compressed[0] not in (2, 3):
            raise MalformedError("ecdh1: ephemeral key is not a compressed point")
        try:
            ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, compressed)
        except ValueError:
            raise MalformedError("ecdh1: ephemeral key is not a point of P-256") from None
        return cls(kid, ephemeral, compressed, blob[33:])

    def ephemeral_spki_der(self) -> bytes:
        """The ephemeral public key as DER SubjectPublicKeyInfo: the
        ``PublicKey`` of KMS ``DeriveSharedSecret``."""
        return _spki(self.ephemeral)

    def check_recipient(self, recipient: Recipient, purpose: str) -> None:
        """Refuses a descriptor wrapped for another key.

        Raises:
            WrongKeyError: the key ids differ.
        """
        if self.kid != recipient.kid:
            raise WrongKeyError(
                f"the {purpose} key was wrapped for recipient key {self.kid}, "
                f"the configured key is {recipient.kid}"
            )

    def unwrap_with_shared_secret(self, recipient: Recipient, purpose: str, z: bytes) -> bytes:
        """The 32-byte data key, given ``Z`` for the configured ``recipient``.

        Raises:
            WrongKeyError: wrapped for another key, or ``z`` is not 32 bytes.
            TamperedError: does not authenticate (another purpose, or tampered).
        """
        self.check_recipient(recipient, purpose)
        if len(z) != 32:
            raise WrongKeyError("the ECDH shared secret is not 32 bytes")
        info = kdf_info(purpose, self.kid, self.ephemeral_compressed, recipient.compressed)
        try:
            return AESGCM(derive_kek(z, info)).decrypt(bytes(12), self._sealed, info)
        except InvalidTag:
            raise TamperedError(
                f"the wrapped {purpose} key does not authenticate "
                "(wrapped for another purpose or key, or tampered)"
            ) from None

    def __repr__(self) -> str:
        return f"WrappedKey(kid={self.kid!r})"


class RecipientPrivateKey:
    """A recipient's private key (a keyring's ``data-ecdh.key`` or
    ``quarantine-ecdh.key``: the 32-byte big-endian scalar)."""

    __slots__ = ("_key", "recipient")

    def __init__(self, scalar: bytes) -> None:
        if len(scalar) != 32:
            raise KeyringError("a P-256 private key file holds exactly 32 bytes")
        value = int.from_bytes(scalar, "big")
        if not 0 < value < _ORDER:
            raise KeyringError("the P-256 private scalar is out of range")
        try:
            self._key = ec.derive_private_key(value, _CURVE)
        except ValueError:
            raise KeyringError("the P-256 private scalar is out of range") from None
        self.recipient = Recipient(self._key.public_key())

    def unwrap(self, wrapped: WrappedKey, purpose: str) -> bytes:
        """Checks the kid, computes ``Z`` and unwraps."""
        wrapped.check_recipient(self.recipient, purpose)
        z = self._key.exchange(ec.ECDH(), wrapped.ephemeral)
        return wrapped.unwrap_with_shared_secret(self.recipient, purpose, z)

    def __repr__(self) -> str:
        return f"RecipientPrivateKey(kid={self.recipient.kid!r})"
