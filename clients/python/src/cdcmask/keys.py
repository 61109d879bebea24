"""Key sources: where the data key of a row comes from.

A row carries its data key wrapped in ``_key`` (``schemas/ciphertext.md``):

- ``ecdh1:<kid>:<base64>`` (version 2) is wrapped to a P-256 public key: it
  is unwrapped with the matching private key, from a local keyring
  (``data-ecdh.key`` / ``quarantine-ecdh.key``) or through AWS KMS
  ``DeriveSharedSecret`` on the configured KMS key;
- ``kms:<base64 CiphertextBlob>`` (version 1) is unwrapped with KMS
  ``Decrypt`` on the configured KMS key (``KeyId`` is always passed);
- ``local:<keyring id>:<base64>`` (version 1) with the master keys of a
  local keyring directory.

A blob never chooses the key: the key source is configured with the keys it
may use, and refuses a descriptor made for another. Both key sources keep
unwrapped data keys in a bounded LRU cache, so every distinct data key costs
one unwrap (one KMS call) for as long as it stays cached.

Nothing here logs or puts into an exception any key material or plaintext.
Python cannot wipe memory: unwrapped keys live in the AES-GCM objects of the
cache until they are evicted and garbage-collected.

This module holds what every key source shares (purposes, prefixes, the
cached :class:`KeySource`); the sources themselves are in
:mod:`cdcmask.keyring` (:class:`LocalKeyring`) and :mod:`cdcmask.kms`
(:class:`KmsKeys`, :func:`aws_client`), and are importable from here.
"""

from __future__ import annotations

import abc
import binascii
import enum
import logging
import threading
from collections import OrderedDict
from typing import Tuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .ecdh import ECDH_PREFIX
from .errors import MalformedError, TamperedError, WrongKeyError

__all__ = [
    "Purpose",
    "KeySource",
    "LocalKeyring",
    "KmsKeys",
    "KMS_PREFIX",
    "LOCAL_PREFIX",
    "ECDH_PREFIX",
    "CONTEXT_KEY",
    "DEFAULT_CACHE_SIZE",
    "aws_client",
]

_log = logging.getLogger(__name__)

#: Prefix of KMS-wrapped data keys: ``kms:<base64 CiphertextBlob>``.
KMS_PREFIX = "kms:"
#: Prefix of locally wrapped data keys: ``local:<keyring id>:<base64>``.
LOCAL_PREFIX = "local:"
#: KMS encryption-context key under which the purpose is bound.
CONTEXT_KEY = "cdc-mask:purpose"
#: Most unwrapped data keys a key source keeps (as the Rust ``UnwrapCache``).
DEFAULT_CACHE_SIZE = 1024

_DATA_KEY_LEN = 32
_NONCE_LEN = 12
_TAG_LEN = 16
_KEYRING_ID_LABEL = b"cdc-mask/keyring-id/v1"


class Purpose(str, enum.Enum):
    """What a data key protects; part of its wrapping context, so a key
    wrapped for one purpose cannot be unwrapped as the other."""

    DATA = "data"
    """Values of the encrypted view."""
    QUARANTINE = "quarantine"
    """Sealed malformed records (admins only)."""


def b64decode_strict(text: str, what: str = "ciphertext") -> bytes:
    """Standard-alphabet base64 with padding, canonical only (as the Rust
    reader, base64's ``STANDARD`` engine): anything else raises
    :class:`MalformedError`."""
    try:
        encoded = text.encode("ascii")
        raw = binascii.a2b_base64(encoded)
    except (binascii.Error, ValueError):
        raise MalformedError(f"{what} is not valid base64") from None
    # a2b_base64 skips characters outside the alphabet and accepts non-zero
    # padding bits: only an input that is exactly the canonical encoding of
    # what it decoded to is accepted.
    if binascii.b2a_base64(raw, newline=False) != encoded:
        raise MalformedError(f"{what} is not canonical base64")
    return raw


def open_sealed(cipher: AESGCM, aad: bytes, sealed: bytes) -> bytes:
    """Opens ``nonce(12) ‖ ciphertext ‖ tag(16)``.

    Raises:
        MalformedError: too short to hold a nonce and a tag.
        TamperedError: does not authenticate under ``cipher`` and ``aad``.
    """
    if len(sealed) < _NONCE_LEN + _TAG_LEN:
        raise MalformedError("ciphertext too short")
    try:
        return cipher.decrypt(sealed[:_NONCE_LEN], sealed[_NONCE_LEN:], aad)
    except InvalidTag:
        raise TamperedError(
            "ciphertext does not authenticate (tampered, or moved from another "
            "column, table or schema, or from a row with another data key)"
        ) from None


class KeySource(abc.ABC):
    """Unwraps the data keys named in rows, each distinct one once.

    Subclasses implement :meth:`_unwrap`; :meth:`cipher` adds the bounded
    LRU cache. Safe to share between threads (a lock serialises unwraps, so
    concurrent readers of one key still cause a single unwrap).
    """

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self._cache_size = cache_size
        self._cache: "OrderedDict[Tuple[Purpose, str], AESGCM]" = OrderedDict()
        self._lock = threading.Lock()
        self._unwraps = 0

    @property
    def unwrap_calls(self) -> int:
        """How many data keys were unwrapped (for KMS: ``Decrypt`` calls)."""
        return self._unwraps

    @property
    def cached_keys(self) -> int:
        """How many unwrapped data keys are cached now."""
        return len(self._cache)

    def clear_cache(self) -> None:
        """Forgets every unwrapped data key."""
        with self._lock:
            self._cache.clear()

    def cipher(self, wrapped: str, purpose: Purpose = Purpose.DATA) -> AESGCM:
        """The AES-256-GCM cipher of the data key wrapped in ``wrapped`` (a
        row's ``_key``), unwrapping it on first sight.

        Raises:
            WrongKeyError, TamperedError, MalformedError, AccessDeniedError,
            KeyUnavailableError, KeyServiceError: see :mod:`cdcmask.errors`.
        """
        if type(purpose) is not Purpose:
            purpose = Purpose(purpose)
        ident = (purpose, wrapped)
        with self._lock:
            found = self._cache.get(ident)
            if found is not None:
                self._cache.move_to_end(ident)
                return found
            self._unwraps += 1
            key = self._unwrap(wrapped, purpose)
            if len(key) != _DATA_KEY_LEN:
                raise WrongKeyError("the unwrapped data key is not 32 bytes")
            cipher = AESGCM(key)
            del key
            self._cache[ident] = cipher
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            _log.debug(
                "unwrapped a %s data key (%d unwraps, %d cached)",
                purpose.value,
                self._unwraps,
                len(self._cache),
            )
            return cipher

    @abc.abstractmethod
    def _unwrap(self, wrapped: str, purpose: Purpose) -> bytes:
        """The 32 plaintext bytes of a wrapped data key."""


def _not_wrapped(wrapped: str) -> MalformedError:
    return MalformedError("_key is not an ecdh1:, kms: or local: wrapped key")


# The two key sources live in their own modules; their names stay
# importable from here, as before (imported last: they build on this module).
from .keyring import LocalKeyring, keyring_id, read_key_file  # noqa: E402
from .kms import KmsKeys, aws_client  # noqa: E402
