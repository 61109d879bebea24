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
"""

from __future__ import annotations

import abc
import binascii
import enum
import hashlib
import logging
import os
import stat
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .det import DeterministicKey, DeterministicKeys
from .ecdh import ECDH_PREFIX, Recipient, RecipientPrivateKey, WrappedKey
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


class LocalKeyring(KeySource):
    """A local keyring directory (``cdc-mask demo``, ``--keyring DIR``):

    - ``data-ecdh.key`` / ``quarantine-ecdh.key``: 32-byte big-endian P-256
      private scalars; they unwrap ``ecdh1:`` data / quarantine keys;
    - ``deterministic.key``: the 64-byte AES-SIV key of ``det1_`` values
      (see :meth:`deterministic_keys`);
    - ``master.key`` / ``quarantine.key``: legacy 32-byte AES keys of the
      version 1 ``local:`` wraps.

    Key files are read when first needed; nothing is ever created. The
    directory and every key file must not be symlinks nor group- or
    world-writable (a key somebody else can replace is not a key), and key
    files must be regular files.

    Raises:
        KeyringError: no such directory, it holds none of these files, or it
            is a symlink or group- or world-writable.
    """

    DATA_ECDH = "data-ecdh.key"
    QUARANTINE_ECDH = "quarantine-ecdh.key"
    DETERMINISTIC = "deterministic.key"
    TOKEN = "token.key"
    _ECDH_FILES = {Purpose.DATA: DATA_ECDH, Purpose.QUARANTINE: QUARANTINE_ECDH}
    _FILES = {Purpose.DATA: "master.key", Purpose.QUARANTINE: "quarantine.key"}

    def __init__(
        self, path: "os.PathLike[str] | str", cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        super().__init__(cache_size)
        self.path = os.fspath(path)
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            raise KeyringError(f"no keyring at {self.path} (no such directory)") from None
        except OSError as e:
            raise KeyringError(f"cannot read {self.path}: {e.strerror}") from None
        _check_private(info, self.path, directory=True)
        known = (
            self.DATA_ECDH,
            self.QUARANTINE_ECDH,
            self.DETERMINISTIC,
            *self._FILES.values(),
        )
        if not any(os.path.lexists(os.path.join(self.path, f)) for f in known):
            raise KeyringError(
                f"no keyring at {self.path} (expected {self.DATA_ECDH} or master.key)"
            )
        self._masters: Dict[Purpose, Tuple[str, AESGCM]] = {}
        self._private: Dict[Purpose, RecipientPrivateKey] = {}

    @property
    def keyring_id(self) -> str:
        """The id of the legacy ``master.key`` as written in ``local:<id>:…``."""
        return self._load(Purpose.DATA)[0]

    def recipient(self, purpose: Purpose = Purpose.DATA) -> Recipient:
        """The public key (and kid) that ``ecdh1:`` keys of ``purpose`` are
        wrapped to: what a writer is configured with."""
        return self._ecdh(Purpose(purpose)).recipient

    def _read(self, name: str, size: int) -> bytes:
        return read_key_file(self.path, name, size)

    def _load(self, purpose: Purpose) -> Tuple[str, AESGCM]:
        loaded = self._masters.get(purpose)
        if loaded is None:
            master = self._read(self._FILES[purpose], _DATA_KEY_LEN)
            loaded = (keyring_id(master), AESGCM(master))
            del master
            self._masters[purpose] = loaded
        return loaded

    def _ecdh(self, purpose: Purpose) -> RecipientPrivateKey:
        found = self._private.get(purpose)
        if found is None:
            scalar = self._read(self._ECDH_FILES[purpose], 32)
            found = RecipientPrivateKey(scalar)
            del scalar
            self._private[purpose] = found
        return found

    def deterministic_keys(
        self, domains: Optional[Dict[str, str]] = None, version: int = 1
    ) -> DeterministicKeys:
        """The keyring's ``deterministic.key`` as key version ``version``,
        with the join ``domains`` of the columns (see
        :class:`cdcmask.DeterministicKeys`).

        Raises:
            KeyringError: no ``deterministic.key``, or not 64 bytes.
        """
        key = self._read(self.DETERMINISTIC, 64)
        return DeterministicKeys(DeterministicKey(key, version), domains)

    def _unwrap(self, wrapped: str, purpose: Purpose) -> bytes:
        if wrapped.startswith(ECDH_PREFIX):
            return self._ecdh(purpose).unwrap(WrappedKey.parse(wrapped), purpose.value)
        if wrapped.startswith(KMS_PREFIX):
            raise WrongKeyError(
                "the data key was wrapped by AWS KMS, not a local keyring: "
                "use a KMS key source (--kms-key-id)"
            )
        if not wrapped.startswith(LOCAL_PREFIX):
            raise _not_wrapped(wrapped)
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


def _check_private(info: os.stat_result, path: str, *, directory: bool) -> None:
    """Refuses a symlink, the wrong kind of file, and group or world write."""
    if stat.S_ISLNK(info.st_mode):
        raise KeyringError(f"{path} is a symlink: a keyring and its key files must not be")
    if directory and not stat.S_ISDIR(info.st_mode):
        raise KeyringError(f"{path} is not a directory")
    if not directory and not stat.S_ISREG(info.st_mode):
        raise KeyringError(f"{path} is not a regular file")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KeyringError(
            f"{path} is group- or world-writable (mode {stat.S_IMODE(info.st_mode):o}): "
            "make it writable by its owner only (chmod go-w)"
        )


def read_key_file(directory: str, name: str, size: int) -> bytes:
    """Reads a key file of exactly ``size`` bytes, refusing symlinks (at
    open, so a swap after the check cannot slip one in) and group- or
    world-writable or irregular files."""
    path = os.path.join(directory, name)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        _check_private(os.lstat(path), path, directory=False)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise KeyringError(f"no {name} in the keyring at {directory}") from None
    except KeyringError:
        raise
    except OSError as e:
        raise KeyringError(f"cannot read {path}: {e.strerror}") from None
    try:
        _check_private(os.fstat(fd), path, directory=False)
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(size + 1)
    except OSError as e:
        raise KeyringError(f"cannot read {path}: {e.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) != size:
        raise KeyringError(f"{path} must hold exactly {size} bytes")
    return data


def keyring_id(master: bytes) -> str:
    """Lowercase hex of the first 8 bytes of
    SHA-256(``cdc-mask/keyring-id/v1`` ‖ master key)."""
    return hashlib.sha256(_KEYRING_ID_LABEL + master).digest()[:8].hex()


KeyIds = Union[str, Sequence[str], None]


def _key_list(ids: KeyIds) -> List[str]:
    if ids is None:
        return []
    if isinstance(ids, str):
        return [ids]
    listed = [str(i) for i in ids]
    if any(not i for i in listed):
        raise ValueError("a KMS key id is not empty")
    return listed


class KmsKeys(KeySource):
    """AWS KMS, with the keys the caller names (a blob never chooses):

    - ``ecdh1:`` keys: the configured KMS key whose public key has the
      descriptor's kid (``GetPublicKey`` once per key id), then
      ``DeriveSharedSecret(KeyId, KeyAgreementAlgorithm="ECDH",
      PublicKey=<ephemeral key, DER SubjectPublicKeyInfo>)``; a kid that no
      configured key has is refused without any KMS call;
    - legacy ``kms:`` keys: ``Decrypt`` with ``KeyId`` = a configured key and
      ``EncryptionContext={"cdc-mask:purpose": <purpose>}`` (several
      configured keys are tried in order on ``IncorrectKeyException``).

    Args:
        key_id: the KMS key(s) of the encrypted view's data keys (an ECDH
            ``KEY_AGREEMENT`` key pair and/or the legacy symmetric key): a
            key id, ARN or alias, or a list of them.
        quarantine_key_id: the same for quarantine records (admins only).
        client: a boto3 KMS client to use as is; otherwise one is made from
            ``session`` (default: a new ``boto3.session.Session()``),
            ``region_name`` and ``endpoint_url`` (``AWS_ENDPOINT_URL`` and
            the rest of the standard AWS environment apply too).
        cache_size: most unwrapped data keys kept (LRU).

    Raises:
        ValueError: neither ``key_id`` nor ``quarantine_key_id`` given.
    """

    def __init__(
        self,
        key_id: KeyIds = None,
        *,
        quarantine_key_id: KeyIds = None,
        client: Optional[Any] = None,
        session: Optional[Any] = None,
        region_name: Optional[str] = None,
        endpoint_url: Optional[str] = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        super().__init__(cache_size)
        self._key_ids = {
            Purpose.DATA: _key_list(key_id),
            Purpose.QUARANTINE: _key_list(quarantine_key_id),
        }
        if not any(self._key_ids.values()):
            raise ValueError(
                "KmsKeys needs key_id (and/or quarantine_key_id): "
                "a wrapped key never chooses the KMS key it is decrypted with"
            )
        if client is None:
            client = aws_client("kms", session, region_name, endpoint_url)
        self.client = client
        # key id -> its recipient (kid), or None for a key without a P-256
        # public key (a symmetric key): one GetPublicKey per key id.
        self._public: Dict[str, Optional[Recipient]] = {}

    @property
    def key_id(self) -> Optional[str]:
        """The first data key id (for compatibility)."""
        ids = self._key_ids[Purpose.DATA]
        return ids[0] if ids else None

    def _configured(self, purpose: Purpose) -> List[str]:
        ids = self._key_ids[purpose]
        if not ids:
            option = "key_id" if purpose is Purpose.DATA else "quarantine_key_id"
            raise WrongKeyError(
                f"no KMS key is configured for {purpose.value} keys: give {option} "
                "(a wrapped key never chooses the KMS key)"
            )
        return ids

    def recipient(self, key_id: str) -> Optional[Recipient]:
        """The P-256 public key of ``key_id`` (``GetPublicKey``, once), or
        ``None`` for a key that has none (a symmetric key)."""
        if key_id not in self._public:
            try:
                answer = self.client.get_public_key(KeyId=key_id)
            except Exception as e:  # botocore errors, classified below
                if _code(e) == "UnsupportedOperationException":
                    self._public[key_id] = None
                    return None
                raise _classify(e, "GetPublicKey") from e
            der = answer.get("PublicKey")
            spec = answer.get("KeySpec") or answer.get("CustomerMasterKeySpec")
            recipient = None
            if isinstance(der, (bytes, bytearray)) and spec in (None, "ECC_NIST_P256"):
                try:
                    recipient = Recipient.from_spki_der(bytes(der))
                except KeyringError:
                    recipient = None  # another kind of asymmetric key
            self._public[key_id] = recipient
        return self._public[key_id]

    def _unwrap(self, wrapped: str, purpose: Purpose) -> bytes:
        if wrapped.startswith(LOCAL_PREFIX):
            raise WrongKeyError(
                "the data key was wrapped by a local keyring, not AWS KMS: "
                "use a local key source (--keyring DIR)"
            )
        if wrapped.startswith(ECDH_PREFIX):
            return self._unwrap_ecdh(WrappedKey.parse(wrapped), purpose)
        if not wrapped.startswith(KMS_PREFIX):
            raise _not_wrapped(wrapped)
        blob = b64decode_strict(wrapped[len(KMS_PREFIX) :], "wrapped data key (_key)")
        ids = self._configured(purpose)
        for number, key_id in enumerate(ids, 1):
            request: Dict[str, Any] = {
                "CiphertextBlob": blob,
                "EncryptionContext": {CONTEXT_KEY: purpose.value},
                "KeyId": key_id,
            }
            try:
                answer = self.client.decrypt(**request)
            except Exception as e:  # botocore errors, classified below
                if _code(e) == "IncorrectKeyException" and number < len(ids):
                    continue
                raise _classify(e, "Decrypt") from e
            plaintext = answer.get("Plaintext")
            if not isinstance(plaintext, (bytes, bytearray)):
                raise KeyServiceError("KMS Decrypt returned no plaintext")
            return bytes(plaintext)
        raise WrongKeyError("no configured KMS key decrypts this data key")  # pragma: no cover

    def _unwrap_ecdh(self, wrapped: WrappedKey, purpose: Purpose) -> bytes:
        ids = self._configured(purpose)
        kids = []
        for key_id in ids:
            recipient = self.recipient(key_id)
            if recipient is None:
                continue
            if recipient.kid == wrapped.kid:
                try:
                    answer = self.client.derive_shared_secret(
                        KeyId=key_id,
                        KeyAgreementAlgorithm="ECDH",
                        PublicKey=wrapped.ephemeral_spki_der(),
                    )
                except Exception as e:  # botocore errors, classified below
                    raise _classify(e, "DeriveSharedSecret") from e
                z = answer.get("SharedSecret")
                if not isinstance(z, (bytes, bytearray)):
                    raise KeyServiceError("KMS DeriveSharedSecret returned no shared secret")
                return wrapped.unwrap_with_shared_secret(recipient, purpose.value, bytes(z))
            kids.append(recipient.kid)
        configured = ", ".join(kids) if kids else "none: no configured key is a P-256 key pair"
        raise WrongKeyError(
            f"the {purpose.value} key was wrapped for recipient key {wrapped.kid}; "
            f"the configured KMS key(s) have kid(s) {configured}"
        )


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


def _code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _classify(error: Exception, action: str = "Decrypt") -> CdcMaskError:
    """Maps a botocore error of a KMS call (``Decrypt``, ``GetPublicKey``,
    ``DeriveSharedSecret``) to a cdcmask error (the KMS message names keys
    and ARNs, never data)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = str(info.get("Code", ""))
        text = f"KMS {action}: {code} {info.get('Message', '')}".rstrip()
        if code in _WRONG_KEY:
            return WrongKeyError(text)
        if code in _UNAVAILABLE:
            return KeyUnavailableError(text)
        if code in _DENIED:
            return AccessDeniedError(text)
        return KeyServiceError(text)
    if isinstance(error, NoCredentialsError):
        return AccessDeniedError(f"KMS {action}: no AWS credentials found")
    if isinstance(error, BotoCoreError):
        return KeyServiceError(f"KMS {action}: {error}")
    return KeyServiceError(f"KMS {action} failed: {type(error).__name__}")
