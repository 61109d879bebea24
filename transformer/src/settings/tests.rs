//! The builder from the environment and from flags: what it reads, how it
//! names what is wrong, and that every setting has distinct names.

use cdc_mask_core::firehose::IcebergDatabases;
use cdc_mask_core::View;

use super::*;

fn from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    SettingsBuilder::from_env(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .build()
}

const POLICY: &str = "CDCMASK_POLICY";

#[test]
fn reads_the_environment() {
    let s = from(&[
        (POLICY, "/p.json"),
        ("CDCMASK_KEYRING", "/k"),
        ("CDCMASK_VIEW", "encrypted"),
    ])
    .unwrap();
    assert_eq!(s.view, ViewMode::Fixed(View::Encrypted));
    assert_eq!(s.keys, KeySource::Local("/k".into()));
    assert_eq!(s.cache, CacheLimits::default());
    assert_eq!(s.guard, None);
    let s = from(&[
        (POLICY, "/p.json"),
        ("CDCMASK_KEYRING", "/k"),
        ("CDCMASK_GUARD", "report"),
    ])
    .unwrap();
    assert_eq!(s.guard, Some(GuardMode::Report));
    let s = from(&[
        (POLICY, "/p.json"),
        ("CDCMASK_KMS_KEY_ID", "alias/data"),
        (
            "CDCMASK_QUARANTINE_PUBLIC_KEY",
            "-----BEGIN PUBLIC KEY-----",
        ),
        (
            "CDCMASK_TOKEN_KEY_SECRET",
            " arn:aws:secretsmanager:eu-west-1:1:secret:t ",
        ),
    ])
    .unwrap();
    assert_eq!(s.view, ViewMode::Auto);
    assert_eq!(
        s.keys,
        KeySource::Remote {
            data: PublicKeySource::Kms("alias/data".into()),
            quarantine: PublicKeySource::Pem("-----BEGIN PUBLIC KEY-----".into()),
            token: Some(SecretSource::SecretsManager(
                "arn:aws:secretsmanager:eu-west-1:1:secret:t".into()
            )),
            deterministic: None,
        }
    );
    assert_eq!(s.destination, Destination::S3);
    let s = from(&[
        (POLICY, "/p.json"),
        ("CDCMASK_KEYRING", "/k"),
        ("CDCMASK_VIEW", "quarantine"),
        ("CDCMASK_DESTINATION", "iceberg"),
        ("CDCMASK_ICEBERG_DATABASE_MASKED", "dataset_masked"),
    ])
    .unwrap();
    assert_eq!(s.view, ViewMode::Quarantine);
    assert_eq!(
        s.destination,
        Destination::Iceberg(IcebergDatabases {
            masked: Some("dataset_masked".into()),
            encrypted: None,
        })
    );
    let s = from(&[
        (POLICY, "/p.json"),
        ("CDCMASK_KMS_KEY_ID", "k"),
        ("CDCMASK_QUARANTINE_KMS_KEY_ID", "q"),
        ("CDCMASK_DETERMINISTIC_KEY_SECRET", "det"),
    ])
    .unwrap();
    let KeySource::Remote { deterministic, .. } = s.keys else {
        panic!("remote keys")
    };
    assert_eq!(deterministic.as_deref(), Some("det"));
}

#[test]
fn names_what_is_wrong_the_way_it_was_given() {
    for (vars, needle) in [
        (vec![("CDCMASK_KEYRING", "/k")], "CDCMASK_POLICY is not set"),
        (vec![(POLICY, "/p")], "no keys: set CDCMASK_KMS_KEY_ID"),
        (
            vec![(POLICY, "/p"), ("CDCMASK_KMS_KEY_ID", "k")],
            "CDCMASK_QUARANTINE_KMS_KEY_ID is not set",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_KMS_KEY_ID", "k"),
            ],
            "set only one of CDCMASK_KEYRING and CDCMASK_KMS_KEY_ID",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_VIEW", "raw"),
            ],
            "CDCMASK_VIEW: unknown view",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_DATA_KEY_MAX_RECORDS", "0"),
            ],
            "CDCMASK_DATA_KEY_MAX_RECORDS: must be a positive integer",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_GUARD", "loud"),
            ],
            "CDCMASK_GUARD: unknown guard mode",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KMS_KEY_ID", "k"),
                ("CDCMASK_DATA_PUBLIC_KEY", "pem"),
            ],
            "set only one of CDCMASK_KMS_KEY_ID and CDCMASK_DATA_PUBLIC_KEY",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_TOKEN_KEY_SECRET", "t"),
            ],
            "set only one of CDCMASK_KEYRING and CDCMASK_TOKEN_KEY_SECRET",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_DETERMINISTIC_KEY_SECRET", "d"),
            ],
            "set only one of CDCMASK_KEYRING and CDCMASK_DETERMINISTIC_KEY_SECRET",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_DESTINATION", "delta"),
            ],
            "CDCMASK_DESTINATION: expected s3 or iceberg",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_VIEW", "quarantine"),
            ],
            "CDCMASK_VIEW: quarantine is the third stream of CDCMASK_DESTINATION=iceberg",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_DESTINATION", "iceberg"),
                ("CDCMASK_SHAPE", "envelope"),
            ],
            "CDCMASK_SHAPE: CDCMASK_DESTINATION=iceberg needs the flat shape",
        ),
        (
            vec![
                (POLICY, "/p"),
                ("CDCMASK_KEYRING", "/k"),
                ("CDCMASK_DESTINATION", "iceberg"),
                ("CDCMASK_ICEBERG_DATABASE_ENCRYPTED", "Dataset-Encrypted"),
            ],
            "CDCMASK_ICEBERG_DATABASE_ENCRYPTED: a Glue database name",
        ),
    ] {
        let err = from(&vars).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
    let mut flags = SettingsBuilder::from_flags();
    flags.set(Setting::Policy, "/p");
    let err = flags.build().unwrap_err().to_string();
    assert!(err.starts_with("no keys: set --kms-key-id"), "{err}");
    assert!(err.contains("--keyring"), "{err}");
}

#[test]
fn every_setting_has_distinct_names() {
    let envs: std::collections::HashSet<_> = env::ALL.iter().collect();
    let flags: std::collections::HashSet<_> = Setting::ALL.iter().map(|s| s.flag()).collect();
    assert_eq!(envs.len(), Setting::ALL.len());
    assert_eq!(flags.len(), Setting::ALL.len());
    assert!(env::ALL.iter().all(|e| e.starts_with("CDCMASK_")));
}
