//! Each setting, with its environment variable (the Lambda) and its flag
//! (`cdc-mask`), and the list of variables the Lambda reads.

/// One setting, with its environment and command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// `masked`, `encrypted` or `auto` (from the delivery stream's name).
    View,
    /// The policy: a path or `s3://bucket/key`.
    Policy,
    /// Seconds between background re-checks of the policy.
    PolicyTtl,
    /// Seconds a policy stays usable without a successful check.
    PolicyMaxAge,
    /// `flat` or `envelope`.
    Shape,
    /// A local keyring directory (instead of KMS or public keys).
    Keyring,
    /// The KMS `KEY_AGREEMENT` key data keys are wrapped to.
    KmsKeyId,
    /// Or its public key, PEM.
    DataPublicKey,
    /// The KMS `KEY_AGREEMENT` key quarantine keys are wrapped to.
    QuarantineKmsKeyId,
    /// Or its public key, PEM.
    QuarantinePublicKey,
    /// Base64 KMS ciphertext of the token key.
    TokenKeyCiphertext,
    /// Secrets Manager secret holding the token key.
    TokenKeySecret,
    /// Version written into tokens.
    TokenKeyVersion,
    /// Oldest a data key may get, in seconds.
    DataKeyMaxAge,
    /// Most records one data key may encrypt.
    DataKeyMaxRecords,
    /// Secrets Manager secret holding the deterministic (AES-SIV) key of
    /// `encrypt-deterministic`: 128 hex digits (or the 64 bytes).
    DeterministicKeySecret,
    /// `s3` (change logs under `masked/`, `encrypted/`) or `iceberg` (rows
    /// routed to Iceberg tables with `otfMetadata`).
    Destination,
    /// Iceberg database of the masked view (default `<schema>_masked`).
    IcebergDatabaseMasked,
    /// Iceberg database of the encrypted view (default
    /// `<schema>_encrypted`).
    IcebergDatabaseEncrypted,
    /// The guard's mode (`off`, `report`, `protect`), overriding the
    /// policy's `guard.mode`.
    Guard,
}

impl Setting {
    /// Every setting of the Lambda's environment.
    pub const ALL: [Setting; 20] = [
        Setting::View,
        Setting::Policy,
        Setting::PolicyTtl,
        Setting::PolicyMaxAge,
        Setting::Shape,
        Setting::Keyring,
        Setting::KmsKeyId,
        Setting::DataPublicKey,
        Setting::QuarantineKmsKeyId,
        Setting::QuarantinePublicKey,
        Setting::TokenKeyCiphertext,
        Setting::TokenKeySecret,
        Setting::TokenKeyVersion,
        Setting::DataKeyMaxAge,
        Setting::DataKeyMaxRecords,
        Setting::DeterministicKeySecret,
        Setting::Destination,
        Setting::IcebergDatabaseMasked,
        Setting::IcebergDatabaseEncrypted,
        Setting::Guard,
    ];

    /// The environment variable (the Lambda's configuration).
    pub const fn env(self) -> &'static str {
        match self {
            Setting::View => "CDCMASK_VIEW",
            Setting::Policy => "CDCMASK_POLICY",
            Setting::PolicyTtl => "CDCMASK_POLICY_TTL",
            Setting::PolicyMaxAge => "CDCMASK_POLICY_MAX_AGE",
            Setting::Shape => "CDCMASK_SHAPE",
            Setting::Keyring => "CDCMASK_KEYRING",
            Setting::KmsKeyId => "CDCMASK_KMS_KEY_ID",
            Setting::DataPublicKey => "CDCMASK_DATA_PUBLIC_KEY",
            Setting::QuarantineKmsKeyId => "CDCMASK_QUARANTINE_KMS_KEY_ID",
            Setting::QuarantinePublicKey => "CDCMASK_QUARANTINE_PUBLIC_KEY",
            Setting::TokenKeyCiphertext => "CDCMASK_TOKEN_KEY_CIPHERTEXT",
            Setting::TokenKeySecret => "CDCMASK_TOKEN_KEY_SECRET",
            Setting::TokenKeyVersion => "CDCMASK_TOKEN_KEY_VERSION",
            Setting::DataKeyMaxAge => "CDCMASK_DATA_KEY_MAX_AGE_SECONDS",
            Setting::DataKeyMaxRecords => "CDCMASK_DATA_KEY_MAX_RECORDS",
            Setting::DeterministicKeySecret => "CDCMASK_DETERMINISTIC_KEY_SECRET",
            Setting::Destination => "CDCMASK_DESTINATION",
            Setting::IcebergDatabaseMasked => "CDCMASK_ICEBERG_DATABASE_MASKED",
            Setting::IcebergDatabaseEncrypted => "CDCMASK_ICEBERG_DATABASE_ENCRYPTED",
            Setting::Guard => "CDCMASK_GUARD",
        }
    }

    /// The command-line flag (`cdc-mask`).
    pub const fn flag(self) -> &'static str {
        match self {
            Setting::View => "--view",
            Setting::Policy => "--policy",
            Setting::PolicyTtl => "--policy-ttl",
            Setting::PolicyMaxAge => "--policy-max-age",
            Setting::Shape => "--shape",
            Setting::Keyring => "--keyring",
            Setting::KmsKeyId => "--kms-key-id",
            Setting::DataPublicKey => "--data-public-key",
            Setting::QuarantineKmsKeyId => "--quarantine-kms-key-id",
            Setting::QuarantinePublicKey => "--quarantine-public-key",
            Setting::TokenKeyCiphertext => "--token-key-ciphertext",
            Setting::TokenKeySecret => "--token-key-secret",
            Setting::TokenKeyVersion => "--token-key-version",
            Setting::DataKeyMaxAge => "--data-key-max-age",
            Setting::DataKeyMaxRecords => "--data-key-max-records",
            Setting::DeterministicKeySecret => "--deterministic-key-secret",
            Setting::Destination => "--destination",
            Setting::IcebergDatabaseMasked => "--iceberg-database-masked",
            Setting::IcebergDatabaseEncrypted => "--iceberg-database-encrypted",
            Setting::Guard => "--guard",
        }
    }
}

/// Environment variables the Lambda reads (and nothing else of ours).
pub mod env {
    use super::Setting;

    /// Every variable, for documentation and tests.
    pub const ALL: [&str; Setting::ALL.len()] = {
        let mut names = [""; Setting::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Setting::ALL[i].env();
            i += 1;
        }
        names
    };
}
