"""cdcmask: read the encrypted view of cdc-mask in Python.

Example (not a doctest: it needs AWS)::

    import cdcmask

    keys = cdcmask.KmsKeys("alias/cdc-data", region_name="eu-west-1")  # or cdcmask.LocalKeyring("lake/keyring")
    prefix = "s3://lake/encrypted/dataset/customer/"
    for row in cdcmask.iter_records(prefix, keys):
        print(row["mail"])
    df = cdcmask.read_dataframe(prefix, keys, columns=["id", "birthdate"])

The format is ``schemas/ciphertext.md`` of the cdc-mask repository; the
semantics are those of ``cdc-mask decrypt``.
"""

from .errors import (
    AccessDeniedError,
    CdcMaskError,
    KeyringError,
    KeyServiceError,
    KeyUnavailableError,
    MalformedError,
    QuarantineRecordError,
    SourceError,
    TamperedError,
    UnsupportedVersionError,
    WrongKeyError,
)
from .det import DeterministicKey, DeterministicKeys, check_domain
from .ecdh import Recipient, WrappedKey
from .format import (
    CELL_PREFIX,
    ENC2_PREFIX,
    QUARANTINE_AAD,
    QuarantinedRecord,
    cell_aad,
    cell_aad_v2,
    decrypt_line,
    decrypt_record,
    parse_line,
    quarantine_aad_v2,
    unseal_quarantine,
    unseal_quarantine_records,
)
from .keys import KeySource, KmsKeys, LocalKeyring, Purpose
from .reader import iter_lines, iter_records, read_dataframe

__version__ = "0.2.0"

__all__ = [
    "AccessDeniedError",
    "CdcMaskError",
    "KeyringError",
    "KeyServiceError",
    "KeyUnavailableError",
    "MalformedError",
    "QuarantineRecordError",
    "SourceError",
    "TamperedError",
    "UnsupportedVersionError",
    "WrongKeyError",
    "CELL_PREFIX",
    "ENC2_PREFIX",
    "QUARANTINE_AAD",
    "QuarantinedRecord",
    "cell_aad",
    "cell_aad_v2",
    "decrypt_line",
    "decrypt_record",
    "parse_line",
    "quarantine_aad_v2",
    "unseal_quarantine",
    "unseal_quarantine_records",
    "DeterministicKey",
    "DeterministicKeys",
    "check_domain",
    "Recipient",
    "WrappedKey",
    "KeySource",
    "KmsKeys",
    "LocalKeyring",
    "Purpose",
    "iter_lines",
    "iter_records",
    "read_dataframe",
    "__version__",
]
