"""Exceptions of cdcmask.

Every error raised by the package for a bad record, a missing key or a refused
request is a :class:`CdcMaskError`; the subclasses say which of these it was,
so a caller can tell a tampered row from a permission problem.

Messages name columns, files and line numbers, never values, key bytes or
whole records. Errors caused by a decoding failure of decrypted or record
content are raised ``from None`` so that no chained exception keeps that
content either.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "CdcMaskError",
    "MalformedError",
    "QuarantineRecordError",
    "UnsupportedVersionError",
    "TamperedError",
    "WrongKeyError",
    "AccessDeniedError",
    "KeyUnavailableError",
    "KeyServiceError",
    "KeyringError",
    "SourceError",
]


class CdcMaskError(Exception):
    """Base class of every cdcmask error.

    Attributes:
        column: the column concerned, when there is one (never its value).
        location: where the record came from (``file:line``), when known.
    """

    def __init__(self, message: str, *, column: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.location: Optional[str] = None

    def located(self, location: str) -> "CdcMaskError":
        """Records where the failing record came from (first caller wins)."""
        if self.location is None:
            self.location = location
        return self

    def __str__(self) -> str:
        text = self.message
        if self.column is not None:
            text = f"column {self.column!r}: {text}"
        if self.location is not None:
            text = f"{self.location}: {text}"
        return text


class MalformedError(CdcMaskError):
    """Not a record of the encrypted view: not UTF-8 or JSON, not an object,
    duplicate member names, a value that is not base64 or too short to be a
    ciphertext, encrypted values without ``_key``, or a decrypted value that
    is not one JSON value."""


class QuarantineRecordError(MalformedError):
    """A quarantine record (``{"_quarantine": …}``) given to row decryption:
    use :func:`cdcmask.unseal_quarantine` (admins only)."""


class UnsupportedVersionError(CdcMaskError):
    """A value in a ciphertext format this version does not know
    (``enc2:…``), or a quarantine record with another ``v``."""


class TamperedError(CdcMaskError):
    """A ciphertext that does not authenticate under its (correctly
    unwrapped) key: a flipped byte, or a value moved to another column,
    table or schema, or to a row with another data key; also a locally
    wrapped ``_key`` that was altered."""


class WrongKeyError(CdcMaskError):
    """The row's data key cannot be unwrapped with this key source: wrapped
    by another keyring, by KMS while a keyring was opened (or the reverse),
    or KMS answered ``InvalidCiphertextException`` / ``IncorrectKeyException``
    (wrong key, wrong purpose, or altered ``_key``)."""


class AccessDeniedError(CdcMaskError):
    """KMS (or S3) refused: no permission (``AccessDeniedException``), or no
    AWS credentials at all."""


class KeyUnavailableError(AccessDeniedError):
    """KMS refused because the key cannot be used: disabled
    (``DisabledException``), pending deletion (``KMSInvalidStateException``)
    or unknown (``NotFoundException``). A subclass of
    :class:`AccessDeniedError`: in both cases this caller cannot decrypt."""


class KeyServiceError(CdcMaskError):
    """KMS could not be reached or failed (throttling, network, internal
    error): retrying later may work."""


class KeyringError(CdcMaskError):
    """The local keyring directory is missing or a key file is not 32 bytes."""


class SourceError(CdcMaskError):
    """An input (local path or ``s3://`` prefix) cannot be read or holds no
    objects."""
