"""The local keyring (a directory of key files, the stand-in for KMS):
reading its keys with their permissions checked, and unwrapping the data
keys of ``ecdh1:`` and ``local:`` rows with them.

Split from :mod:`cdcmask.keys`, which re-exports these names.
"""

from __future__ import annotations

import hashlib
import os
import stat
from typing import Dict, Optional, Tuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .det import DeterministicKey, DeterministicKeys
from .ecdh import ECDH_PREFIX, Recipient, RecipientPrivateKey, WrappedKey
from .errors import (
    KeyringError,
    MalformedError,
    TamperedError,
    WrongKeyError,
)
from .keys import (
    Purpose,
    KeySource,
    DEFAULT_CACHE_SIZE,
    b64decode_strict,
    open_sealed,
    _not_wrapped,
    _DATA_KEY_LEN,
    _KEYRING_ID_LABEL,
    KMS_PREFIX,
    LOCAL_PREFIX,
)


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
