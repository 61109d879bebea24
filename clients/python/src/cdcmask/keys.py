"""Key sources: where the data key of a row comes from.

A row carries its data key wrapped in ``_key`` (``schemas/ciphertext.md``):
``kms:<base64 CiphertextBlob>`` is unwrapped with AWS KMS ``Decrypt``,
``local:<keyring id>:<base64>`` with the master keys of a local keyring
directory (what ``cdc-mask demo`` writes). Both key sources keep unwrapped
data keys in a bounded LRU cache, so every distinct data key costs one
unwrap (one KMS ``Decrypt``) for as long as it stays cached.

Nothing here logs or puts into an exception any key material or plaintext.
Python cannot wipe memory: unwrapped keys live in the AES-GCM objects of the
cache until they are evicted and garbage-collected.
"""

from __future__ import annotations

import abc
import binascii
import enum
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from typing import Any, Dict, Optional, Tuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import (
    AccessDeniedError,
    CdcMaskError,
    KeyringError,
    KeyServiceError,
    KeyUnavailableError,
    MalformedError,
    TamperedError,
    WrongKeyError,
)

__all__ = [
    "Purpose",
    "KeySource",
    "LocalKeyring",
    "KmsKeys",
    "KMS_PREFIX",
    "LOCAL_PREFIX",
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


class LocalKeyring(KeySource):
    """The local keyring directory that ``cdc-mask demo`` (or
    ``--keyring DIR``) writes: ``master.key`` wraps data keys of the
    encrypted view, ``quarantine.key`` those of the quarantine (read only
    when a quarantine record is unsealed). Nothing is ever created here.

    Raises:
        KeyringError: ``master.key`` is missing or not exactly 32 bytes.
    """

    def __init__(
        self, path: "os.PathLike[str] | str", cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        super().__init__(cache_size)
        self.path = os.fspath(path)
        self._masters: Dict[Purpose, Tuple[str, AESGCM]] = {}
        self._load(Purpose.DATA)

    _FILES = {Purpose.DATA: "master.key", Purpose.QUARANTINE: "quarantine.key"}

    @property
    def keyring_id(self) -> str:
        """The id of ``master.key`` as written in ``local:<id>:…`` keys."""
        return self._load(Purpose.DATA)[0]

    def _load(self, purpose: Purpose) -> Tuple[str, AESGCM]:
        loaded = self._masters.get(purpose)
        if loaded is not None:
            return loaded
        file = os.path.join(self.path, self._FILES[purpose])
        try:
            with open(file, "rb") as f:
                master = f.read(_DATA_KEY_LEN + 1)
        except FileNotFoundError:
            raise KeyringError(
                f"no keyring at {self.path} (expected {self._FILES[purpose]})"
            ) from None
        except OSError as e:
            raise KeyringError(f"cannot read {file}: {e.strerror}") from None
        if len(master) != _DATA_KEY_LEN:
            raise KeyringError(f"{file} must hold exactly 32 bytes")
        loaded = (keyring_id(master), AESGCM(master))
        del master
        self._masters[purpose] = loaded
        return loaded

    def _unwrap(self, wrapped: str, purpose: Purpose) -> bytes:
        if wrapped.startswith(KMS_PREFIX):
            raise WrongKeyError(
                "the data key was wrapped by AWS KMS, not a local keyring: "
                "use a KMS key source (--kms)"
            )
        if not wrapped.startswith(LOCAL_PREFIX):
            raise MalformedError("_key is neither a kms: nor a local: wrapped key")
        kid, sep, sealed = wrapped[len(LOCAL_PREFIX) :].partition(":")
        if not sep:
            raise MalformedError("malformed local wrapped key")
        expected, master = self._load(purpose)
        if kid != expected:
            raise WrongKeyError(
                f"the {purpose.value} key was wrapped by keyring {kid}, this keyring is {expected}"
            )
        aad = f"cdc-mask/local-wrap/v1/{purpose.value}".encode("ascii")
        try:
            return open_sealed(master, aad, b64decode_strict(sealed, "wrapped data key (_key)"))
        except TamperedError:
            raise TamperedError(
                "the wrapped data key (_key) does not authenticate under this keyring"
            ) from None


def keyring_id(master: bytes) -> str:
    """Lowercase hex of the first 8 bytes of
    SHA-256(``cdc-mask/keyring-id/v1`` ‖ master key)."""
    return hashlib.sha256(_KEYRING_ID_LABEL + master).digest()[:8].hex()


class KmsKeys(KeySource):
    """AWS KMS: ``Decrypt`` with ``EncryptionContext={"cdc-mask:purpose":
    <purpose>}`` on the blob after ``kms:``. The caller needs only
    ``kms:Decrypt`` on the key (the key is named inside the blob).

    Args:
        client: a boto3 KMS client to use as is; otherwise one is made from
            ``session`` (default: a new ``boto3.session.Session()``),
            ``region_name`` and ``endpoint_url`` (``AWS_ENDPOINT_URL`` and
            the rest of the standard AWS environment apply too).
        key_id: if given, passed as ``KeyId``: KMS then refuses blobs made
            with another key.
        cache_size: most unwrapped data keys kept (LRU).
    """

    def __init__(
        self,
        *,
        client: Optional[Any] = None,
        session: Optional[Any] = None,
        region_name: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        key_id: Optional[str] = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        super().__init__(cache_size)
        if client is None:
            client = aws_client("kms", session, region_name, endpoint_url)
        self.client = client
        self.key_id = key_id

    def _unwrap(self, wrapped: str, purpose: Purpose) -> bytes:
        if wrapped.startswith(LOCAL_PREFIX):
            raise WrongKeyError(
                "the data key was wrapped by a local keyring, not AWS KMS: "
                "use a local key source (--keyring DIR)"
            )
        if not wrapped.startswith(KMS_PREFIX):
            raise MalformedError("_key is neither a kms: nor a local: wrapped key")
        blob = b64decode_strict(wrapped[len(KMS_PREFIX) :], "wrapped data key (_key)")
        request: Dict[str, Any] = {
            "CiphertextBlob": blob,
            "EncryptionContext": {CONTEXT_KEY: purpose.value},
        }
        if self.key_id is not None:
            request["KeyId"] = self.key_id
        try:
            answer = self.client.decrypt(**request)
        except Exception as e:  # botocore errors, classified below
            raise _classify(e) from e
        plaintext = answer.get("Plaintext")
        if not isinstance(plaintext, (bytes, bytearray)):
            raise KeyServiceError("KMS Decrypt returned no plaintext")
        return bytes(plaintext)


def aws_client(
    service: str,
    session: Optional[Any] = None,
    region_name: Optional[str] = None,
    endpoint_url: Optional[str] = None,
) -> Any:
    """A boto3 client of ``service``. The region is ``region_name``, else the
    session's (``AWS_DEFAULT_REGION``, profile), else ``AWS_REGION`` (which
    the AWS SDKs for Rust, Java and JavaScript read, and botocore may not).

    Raises:
        CdcMaskError: no region anywhere.
    """
    import boto3
    from botocore.exceptions import NoRegionError

    chosen: Any = session if session is not None else boto3.session.Session()
    if region_name is None and chosen.region_name is None:
        region_name = os.environ.get("AWS_REGION") or None
    try:
        return chosen.client(service, region_name=region_name, endpoint_url=endpoint_url)
    except NoRegionError:
        raise CdcMaskError(
            f"no AWS region for {service}: set AWS_REGION or give region_name (--region)"
        ) from None


_WRONG_KEY = {"InvalidCiphertextException", "IncorrectKeyException", "InvalidKeyUsageException"}
_UNAVAILABLE = {"DisabledException", "KMSInvalidStateException", "NotFoundException"}
_DENIED = {"AccessDeniedException", "AccessDenied"}


def _classify(error: Exception) -> CdcMaskError:
    """Maps a botocore error of KMS ``Decrypt`` to a cdcmask error (the KMS
    message names keys and ARNs, never data)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = str(info.get("Code", ""))
        text = f"KMS Decrypt: {code} {info.get('Message', '')}".rstrip()
        if code in _WRONG_KEY:
            return WrongKeyError(text)
        if code in _UNAVAILABLE:
            return KeyUnavailableError(text)
        if code in _DENIED:
            return AccessDeniedError(text)
        return KeyServiceError(text)
    if isinstance(error, NoCredentialsError):
        return AccessDeniedError("KMS Decrypt: no AWS credentials found")
    if isinstance(error, BotoCoreError):
        return KeyServiceError(f"KMS Decrypt: {error}")
    return KeyServiceError(f"KMS Decrypt failed: {type(error).__name__}")
