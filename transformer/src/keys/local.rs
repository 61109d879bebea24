//! The local keyring: key files in a private directory, standing in for
//! KMS on a laptop, in the demo and in tests.
//!
//! Layout (`schemas/ciphertext.md`, "Local keyring"), created 0700 / 0600
//! on first use:
//! - `data-ecdh.key`, `quarantine-ecdh.key`: P-256 private scalars (32
//!   bytes) of the keys data keys are wrapped to (`ecdh1:`); the write path
//!   uses only their public halves;
//! - `token.key` (32 bytes): the token (HMAC) key;
//! - `deterministic.key` (64 bytes): the AES-SIV key of
//!   `encrypt-deterministic`;
//! - `master.key`, `quarantine.key` (32 bytes), read only: the AES-256 keys
//!   of format version 1 (`local:` wrapped keys), never created any more.
//!
//! A directory or key file that is a symlink, or that group or others may
//! write, is refused: whoever can replace a key file can read what is
//! encrypted to it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::aead::rand_core::RngCore as _;
use aes_gcm::aead::OsRng;
use cdc_mask_core::keys::{DataKey, Purpose, RecipientKey, RecipientPrivateKey, WrappedKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{BoxFuture, KeyError, Unwrapper};

/// Descriptor prefix of keys wrapped by a version 1 keyring.
const LEGACY_PREFIX: &str = "local:";

const DATA_FILE: &str = "data-ecdh.key";
const QUARANTINE_FILE: &str = "quarantine-ecdh.key";
const TOKEN_FILE: &str = "token.key";
const DETERMINISTIC_FILE: &str = "deterministic.key";
const LEGACY_DATA_FILE: &str = "master.key";
const LEGACY_QUARANTINE_FILE: &str = "quarantine.key";

/// Length of the token key file.
const TOKEN_KEY_LEN: usize = 32;
/// Length of the deterministic key file.
const DETERMINISTIC_KEY_LEN: usize = 64;

/// A keyring directory with its private keys loaded.
pub struct LocalKeyring {
    dir: PathBuf,
    data: Option<RecipientPrivateKey>,
    quarantine: Option<RecipientPrivateKey>,
    legacy_data: Option<LegacyKey>,
    legacy_quarantine: Option<LegacyKey>,
}

/// A version 1 master key: AES-256-GCM wrapping of `local:` data keys.
struct LegacyKey {
    key: DataKey,
    id: String,
}

impl LocalKeyring {
    /// Opens the keyring at `dir`, creating the directory and the missing
    /// keys (0700 / 0600). Concurrent first uses agree on one key per file.
    ///
    /// # Errors
    /// [`KeyError::Keyring`] if the directory or a key cannot be created or
    /// read, is a symlink or is writable by group or others, or a key file
    /// has the wrong length.
    pub fn open(dir: &Path) -> Result<Self, KeyError> {
        create_private_dir(dir)?;
        check_private(dir)?;
        for (file, len) in [
            (TOKEN_FILE, TOKEN_KEY_LEN),
            (DETERMINISTIC_FILE, DETERMINISTIC_KEY_LEN),
        ] {
            read_or_create(&dir.join(file), len, || random_bytes(len))?;
        }
        let data = private_key(&dir.join(DATA_FILE), true)?;
        let quarantine = private_key(&dir.join(QUARANTINE_FILE), true)?;
        Self::with(dir, data, quarantine)
    }

    /// Opens a keyring that must already exist, creating nothing (to
    /// decrypt: a missing keyring would otherwise be silently replaced by a
    /// new, useless one).
    ///
    /// # Errors
    /// [`KeyError::Keyring`] if `dir` holds no keyring, else as
    /// [`LocalKeyring::open`].
    pub fn open_existing(dir: &Path) -> Result<Self, KeyError> {
        if !dir.join(DATA_FILE).is_file() && !dir.join(LEGACY_DATA_FILE).is_file() {
            return Err(KeyError::Keyring(format!(
                "no keyring at {} (expected {DATA_FILE})",
                dir.display()
            )));
        }
        check_private(dir)?;
        let data = private_key(&dir.join(DATA_FILE), false)?;
        let quarantine = private_key(&dir.join(QUARANTINE_FILE), false)?;
        Self::with(dir, data, quarantine)
    }

    fn with(
        dir: &Path,
        data: Option<RecipientPrivateKey>,
        quarantine: Option<RecipientPrivateKey>,
    ) -> Result<Self, KeyError> {
        Ok(LocalKeyring {
            dir: dir.to_path_buf(),
            data,
            quarantine,
            legacy_data: LegacyKey::read(&dir.join(LEGACY_DATA_FILE))?,
            legacy_quarantine: LegacyKey::read(&dir.join(LEGACY_QUARANTINE_FILE))?,
        })
    }

    /// The public key data keys of `purpose` are wrapped to.
    ///
    /// # Errors
    /// [`KeyError::Keyring`] if the keyring has no key for `purpose`.
    pub fn recipient(&self, purpose: Purpose) -> Result<RecipientKey, KeyError> {
        Ok(self.private(purpose)?.recipient().clone())
    }

    /// The token (HMAC) key.
    ///
    /// # Errors
    /// As [`LocalKeyring::open`].
    pub fn token_key(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        read_key(&self.dir.join(TOKEN_FILE), TOKEN_KEY_LEN)
    }

    /// Whether the keyring holds a deterministic key (a keyring made before
    /// `encrypt-deterministic` has none).
    pub fn has_deterministic_key(&self) -> bool {
        self.dir.join(DETERMINISTIC_FILE).exists()
    }

    /// The deterministic (AES-SIV) key.
    ///
    /// # Errors
    /// As [`LocalKeyring::open`].
    pub fn deterministic_key(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        read_key(&self.dir.join(DETERMINISTIC_FILE), DETERMINISTIC_KEY_LEN)
    }

    fn private(&self, purpose: Purpose) -> Result<&RecipientPrivateKey, KeyError> {
        let (key, file) = match purpose {
            Purpose::Data => (&self.data, DATA_FILE),
            Purpose::Quarantine => (&self.quarantine, QUARANTINE_FILE),
        };
        key.as_ref()
            .ok_or_else(|| KeyError::Keyring(format!("no {file} in {}", self.dir.display())))
    }

    fn unwrap_now(&self, purpose: Purpose, wrapped: &str) -> Result<DataKey, KeyError> {
        if let Some(rest) = wrapped.strip_prefix(LEGACY_PREFIX) {
            return self.unwrap_legacy(purpose, rest, wrapped);
        }
        let parsed =
            WrappedKey::parse(wrapped).map_err(|e| KeyError::BadWrappedKey(e.to_string()))?;
        let plaintext = self
            .private(purpose)?
            .unwrap(&parsed, purpose)
            .map_err(|e| KeyError::BadWrappedKey(e.to_string()))?;
        Ok(DataKey::shared(&plaintext, wrapped.to_owned()))
    }

    fn unwrap_legacy(
        &self,
        purpose: Purpose,
        rest: &str,
        wrapped: &str,
    ) -> Result<DataKey, KeyError> {
        let (legacy, file) = match purpose {
            Purpose::Data => (&self.legacy_data, LEGACY_DATA_FILE),
            Purpose::Quarantine => (&self.legacy_quarantine, LEGACY_QUARANTINE_FILE),
        };
        let legacy = legacy.as_ref().ok_or_else(|| {
            KeyError::Keyring(format!(
                "a version 1 key needs {file} in {}",
                self.dir.display()
            ))
        })?;
        let (id, sealed) = rest
            .split_once(':')
            .ok_or_else(|| KeyError::BadWrappedKey("malformed local key".into()))?;
        if id != legacy.id {
            return Err(KeyError::BadWrappedKey(format!(
                "wrapped by keyring {id}, this keyring is {}",
                legacy.id
            )));
        }
        let aad = format!("cdc-mask/local-wrap/v1/{}", purpose.as_str());
        let plaintext = legacy
            .key
            .open_base64(aad.as_bytes(), sealed)
            .map_err(|e| KeyError::BadWrappedKey(e.to_string()))?;
        let bytes: [u8; 32] = plaintext
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::BadWrappedKey("wrong data key length".into()))?;
        Ok(DataKey::shared(&Zeroizing::new(bytes), wrapped.to_owned()))
    }
}

impl Unwrapper for LocalKeyring {
    fn unwrap(
        &self,
        purpose: Purpose,
        wrapped: String,
    ) -> BoxFuture<'_, Result<DataKey, KeyError>> {
        Box::pin(async move { self.unwrap_now(purpose, &wrapped) })
    }

    fn remote_calls(&self) -> u64 {
        0
    }
}

impl LegacyKey {
    fn read(path: &Path) -> Result<Option<Self>, KeyError> {
        if !path.is_file() {
            return Ok(None);
        }
        let bytes = read_key(path, 32)?;
        let digest = Sha256::new()
            .chain_update(b"cdc-mask/keyring-id/v1")
            .chain_update(&bytes)
            .finalize();
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Keyring(format!("{} must hold 32 bytes", path.display())))?;
        Ok(Some(LegacyKey {
            // Every process opening the keyring holds this key: random nonces.
            key: DataKey::shared(&Zeroizing::new(key), String::new()),
            id: digest[..8].iter().map(|b| format!("{b:02x}")).collect(),
        }))
    }
}

/// The private key in `path`: created when `create` and it is missing,
/// `None` when missing and not `create`.
fn private_key(path: &Path, create: bool) -> Result<Option<RecipientPrivateKey>, KeyError> {
    if !create && std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let generate = || {
        RecipientPrivateKey::generate()
            .map(|k| Zeroizing::new(k.scalar_bytes().to_vec()))
            .map_err(|e| KeyError::Keyring(e.to_string()))
    };
    let bytes = read_or_create(path, 32, generate)?;
    RecipientPrivateKey::from_scalar_bytes(&bytes)
        .map(Some)
        .map_err(|_| KeyError::Keyring(format!("{} is not a P-256 private key", path.display())))
}

fn random_bytes(len: usize) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let mut key = Zeroizing::new(vec![0u8; len]);
    OsRng
        .try_fill_bytes(&mut key)
        .map_err(|_| KeyError::Keyring("the system random generator failed".into()))?;
    Ok(key)
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| KeyError::Keyring(format!("cannot create {}: {e}", dir.display())))
}

/// Refuses a symlink, or a file or directory that group or others may
/// write.
fn check_private(path: &Path) -> Result<(), KeyError> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| KeyError::Keyring(format!("cannot read {}: {e}", path.display())))?;
    if meta.file_type().is_symlink() {
        return Err(KeyError::Keyring(format!(
            "{} is a symlink: a keyring must be a plain directory of plain files",
            path.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode();
        if mode & 0o022 != 0 {
            return Err(KeyError::Keyring(format!(
                "{} is writable by group or others (mode {:o}): chmod go-w it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    Ok(())
}

/// Reads a key file of `len` bytes, or creates it atomically with
/// `generate`'s bytes (write a private temp file with a name unique to this
/// process and call, then hard-link it into place: whoever links first
/// wins and everybody reads the winner).
fn read_or_create(
    path: &Path,
    len: usize,
    generate: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, KeyError>,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    static TEMP_FILES: AtomicU64 = AtomicU64::new(0);
    if std::fs::symlink_metadata(path).is_err() {
        let key = generate()?;
        let tmp = path.with_extension(format!(
            "tmp.{}.{}",
            std::process::id(),
            TEMP_FILES.fetch_add(1, Ordering::Relaxed)
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&tmp)
            .and_then(|mut f| f.write_all(&key).and_then(|()| f.sync_all()));
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => return Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(KeyError::Keyring(format!(
                    "cannot create {}: {e}",
                    path.display()
                )))
            }
        }
    }
    read_key(path, len)
}

/// Reads a key file that must hold exactly `len` bytes.
fn read_key(path: &Path, len: usize) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    check_private(path)?;
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| KeyError::Keyring(format!("cannot read {}: {e}", path.display())))?,
    );
    if bytes.len() != len {
        return Err(KeyError::Keyring(format!(
            "{} must hold exactly {len} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdc_mask_core::keys::OpenError;

    #[test]
    fn wraps_to_the_public_key_and_unwraps_per_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let ring = LocalKeyring::open(&dir.path().join("ring")).unwrap();
        let key =
            DataKey::generate(&ring.recipient(Purpose::Data).unwrap(), Purpose::Data).unwrap();
        assert!(key.wrapped().starts_with("ecdh1:"));
        let mut sealed = Vec::new();
        key.seal_base64(b"aad", b"secret", &mut Vec::new(), &mut sealed);
        let sealed = String::from_utf8(sealed).unwrap();

        let again = LocalKeyring::open_existing(&dir.path().join("ring")).unwrap();
        let unwrapped = again.unwrap_now(Purpose::Data, key.wrapped()).unwrap();
        assert_eq!(
            unwrapped.open_base64(b"aad", &sealed).unwrap().as_slice(),
            b"secret"
        );
        assert_eq!(
            unwrapped.open_base64(b"other", &sealed).unwrap_err(),
            OpenError::Tampered
        );
        assert!(matches!(
            again.unwrap_now(Purpose::Quarantine, key.wrapped()),
            Err(KeyError::BadWrappedKey(_))
        ));
        let other = LocalKeyring::open(&dir.path().join("other")).unwrap();
        assert!(matches!(
            other.unwrap_now(Purpose::Data, key.wrapped()),
            Err(KeyError::BadWrappedKey(_))
        ));
    }

    #[test]
    fn opening_an_existing_keyring_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LocalKeyring::open_existing(dir.path()).is_err());
        let ring = LocalKeyring::open(dir.path()).unwrap();
        let key =
            DataKey::generate(&ring.recipient(Purpose::Data).unwrap(), Purpose::Data).unwrap();
        std::fs::remove_file(dir.path().join(QUARANTINE_FILE)).unwrap();
        std::fs::remove_file(dir.path().join(TOKEN_FILE)).unwrap();
        let reader = LocalKeyring::open_existing(dir.path()).unwrap();
        assert!(reader.unwrap_now(Purpose::Data, key.wrapped()).is_ok());
        assert!(matches!(
            reader.recipient(Purpose::Quarantine),
            Err(KeyError::Keyring(_))
        ));
        assert!(!dir.path().join(QUARANTINE_FILE).exists());
        assert!(!dir.path().join(TOKEN_FILE).exists());
        assert!(
            !dir.path().join(LEGACY_DATA_FILE).exists(),
            "version 1 keys are never made"
        );
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_and_loose_ones_are_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let ring_dir = dir.path().join("ring");
        LocalKeyring::open(&ring_dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ring_dir), 0o700);
        for f in [DATA_FILE, QUARANTINE_FILE, TOKEN_FILE, DETERMINISTIC_FILE] {
            assert_eq!(mode(&ring_dir.join(f)), 0o600, "{f}");
        }
        let set = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };

        set(&ring_dir.join(TOKEN_FILE), 0o620);
        let err = LocalKeyring::open(&ring_dir).err().unwrap().to_string();
        assert!(err.contains("writable by group or others"), "{err}");
        set(&ring_dir.join(TOKEN_FILE), 0o600);

        set(&ring_dir, 0o777);
        assert!(LocalKeyring::open_existing(&ring_dir).is_err());
        set(&ring_dir, 0o700);

        let elsewhere = dir.path().join("elsewhere.key");
        std::fs::rename(ring_dir.join(DATA_FILE), &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, ring_dir.join(DATA_FILE)).unwrap();
        let err = LocalKeyring::open(&ring_dir).err().unwrap().to_string();
        assert!(err.contains("symlink"), "{err}");

        std::fs::remove_file(ring_dir.join(DATA_FILE)).unwrap();
        std::fs::write(ring_dir.join(DATA_FILE), b"short").unwrap();
        set(&ring_dir.join(DATA_FILE), 0o600);
        assert!(LocalKeyring::open(&ring_dir).is_err());
    }
}
