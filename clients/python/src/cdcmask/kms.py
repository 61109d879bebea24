"""AWS KMS as the key source (``Decrypt`` for ``kms:`` data keys,
``DeriveSharedSecret`` for ``ecdh1:`` ones), the AWS client every reader
shares, and KMS errors mapped to the reader's errors.

Split from :mod:`cdcmask.keys`, which re-exports these names.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Union


from .ecdh import ECDH_PREFIX, Recipient, WrappedKey
from .errors import (
    AccessDeniedError,
    CdcMaskError,
    KeyringError,
    KeyServiceError,
    KeyUnavailableError,
    WrongKeyError,
)
from .keys import (
    Purpose,
    KeySource,
    DEFAULT_CACHE_SIZE,
    b64decode_strict,
    _not_wrapped,
    KMS_PREFIX,
    LOCAL_PREFIX,
    CONTEXT_KEY,
)


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
