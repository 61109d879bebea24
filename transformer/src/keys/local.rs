//! The local keyring: master keys in files, standing in for KMS on a laptop
//! and in tests.
//!
//! Layout of the keyring directory (created 0700, files 0600 on first use):
//! `master.key` wraps data keys of the encrypted view, `quarantine.key` wraps
//! those of the quarantine, `token.key` keys the HMAC tokens. Each holds 32
//! random bytes. A wrapped data key is `local:<keyring id>:<base64(nonce ‖
//! AES-256-GCM(master, data key) ‖ tag)>`, bound to its purpose.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use aes_gcm::aead::rand_core::RngCore as _;
use aes_gcm::aead::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use cdc_mask_core::keys::{DataKey, Purpose};

use super::{BoxFuture, KeyError, KeyProvider};

/// Descriptor prefix of locally wrapped data keys.
pub const LOCAL_PREFIX: &str = "local:";

const MASTER_FILE: &str = "master.key";
const QUARANTINE_FILE: &str = "quarantine.key";
const TOKEN_FILE: &str = "token.key";

/// A keyring directory with its master keys loaded.
pub struct LocalKeyring {
    dir: PathBuf,
    data: MasterKey,
    /// Absent when opened read-only from a keyring without one.
    quarantine: Option<MasterKey>,
    unwraps: AtomicU64,
}

struct MasterKey {
    key: DataKey,
    id: String,
}

impl LocalKeyring {
    /// Opens the keyring at `dir`, creating the directory and missing master
    /// keys (0700 / 0600). Concurrent first uses agree on one key per file.
    ///
    /// # Errors
    /// [`KeyError::Keyring`] if the directory or a key file cannot be created
    /// or read, or a key file does not hold exactly 32 bytes.
    pub fn open(dir: &Path) -> Result<Self, KeyError> {
        create_private_dir(dir)?;
        Ok(LocalKeyring {
            dir: dir.to_path_buf(),
            data: MasterKey::load(dir, MASTER_FILE)?,
            quarantine: Some(MasterKey::load(dir, QUARANTINE_FILE)?),
            unwraps: AtomicU64::new(0),
        })
    }

    /// Opens a keyring that must already exist (to decrypt: a missing keyring
    /// would otherwise be silently replaced by a new, useless one).
    ///
    /// # Errors
    /// [`KeyError::Keyring`] if `dir` holds no keyring, else as
    /// [`LocalKeyring::open`].
    pub fn open_existing(dir: &Path) -> Result<Self, KeyError> {
        if !dir.join(MASTER_FILE).is_file() {
            return Err(KeyError::Keyring(format!(
                "no keyring at {} (expected {MASTER_FILE})",
                dir.display()
            )));
        }
        // Read only: never create a key file here.
        let quarantine = dir
            .join(QUARANTINE_FILE)
            .is_file()
            .then(|| MasterKey::read(dir, QUARANTINE_FILE))
            .transpose()?;
        Ok(LocalKeyring {
            dir: dir.to_path_buf(),
            data: MasterKey::read(dir, MASTER_FILE)?,
            quarantine,
            unwraps: AtomicU64::new(0),
        })
    }

    /// The token (HMAC) key of this keyring, created on first use.
    ///
    /// # Errors
    /// As [`LocalKeyring::open`].
    pub fn token_key_bytes(&self) -> Result<Zeroizing<[u8; 32]>, KeyError> {
        read_or_create_key(&self.dir.join(TOKEN_FILE))
    }

    fn master(&self, purpose: Purpose) -> Result<&MasterKey, KeyError> {
        match purpose {
            Purpose::Data => Ok(&self.data),
            Purpose::Quarantine => self.quarantine.as_ref().ok_or_else(|| {
                KeyError::Keyring(format!("no {QUARANTINE_FILE} in {}", self.dir.display()))
            }),
        }
    }

    fn wrap_aad(purpose: Purpose) -> Vec<u8> {
        format!("cdc-mask/local-wrap/v1/{}", purpose.as_str()).into_bytes()
    }

    fn generate_now(&self, purpose: Purpose) -> Result<DataKey, KeyError> {
        let master = self.master(purpose)?;
        let mut plaintext = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(plaintext.as_mut());
        let mut wrapped = format!("{LOCAL_PREFIX}{}:", master.id).into_bytes();
        let mut scratch = Zeroizing::new(Vec::new());
        master.key.seal_base64(
            &Self::wrap_aad(purpose),
            plaintext.as_ref(),
            &mut scratch,
            &mut wrapped,
        );
        // Base64 and ASCII only, so this cannot fail.
        Ok(DataKey::new(
            &plaintext,
            String::from_utf8(wrapped).unwrap_or_default(),
        ))
    }

    fn unwrap_now(&self, purpose: Purpose, wrapped: &str) -> Result<DataKey, KeyError> {
        self.unwraps.fetch_add(1, Ordering::Relaxed);
        let master = self.master(purpose)?;
        let rest = wrapped
            .strip_prefix(LOCAL_PREFIX)
            .ok_or_else(|| KeyError::BadWrappedKey("not a local keyring key".into()))?;
        let (id, sealed) = rest
            .split_once(':')
            .ok_or_else(|| KeyError::BadWrappedKey("malformed local key".into()))?;
        if id != master.id {
            return Err(KeyError::BadWrappedKey(format!(
                "wrapped by keyring {id}, this keyring is {}",
                master.id
            )));
        }
        let plaintext = master
            .key
            .open_base64(&Self::wrap_aad(purpose), sealed)
            .map_err(|e| KeyError::BadWrappedKey(e.to_string()))?;
        let bytes: [u8; 32] = plaintext
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::BadWrappedKey("wrong data key length".into()))?;
        Ok(DataKey::shared(&Zeroizing::new(bytes), wrapped.to_owned()))
    }
}

impl KeyProvider for LocalKeyring {
    fn generate(&self, purpose: Purpose) -> BoxFuture<'_, Result<DataKey, KeyError>> {
        Box::pin(async move { self.generate_now(purpose) })
    }

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

impl MasterKey {
    /// Loads a master key, creating it on first use.
    fn load(dir: &Path, file: &str) -> Result<Self, KeyError> {
        Ok(Self::from_bytes(&read_or_create_key(&dir.join(file))?))
    }

    /// Loads a master key that must exist.
    fn read(dir: &Path, file: &str) -> Result<Self, KeyError> {
        Ok(Self::from_bytes(&read_key(&dir.join(file))?))
    }

    fn from_bytes(bytes: &Zeroizing<[u8; 32]>) -> Self {
        let digest = Sha256::new()
            .chain_update(b"cdc-mask/keyring-id/v1")
            .chain_update(bytes.as_ref())
            .finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        MasterKey {
            // Every process opening the keyring holds this key: random nonces.
            key: DataKey::shared(bytes, String::new()),
            id,
        }
    }
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

/// Reads a 32-byte key file, or creates it atomically with fresh random bytes
/// (write a private temp file, then hard-link it into place: whoever links
/// first wins and everybody reads the winner).
fn read_or_create_key(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    if !path.exists() {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&tmp)
            .and_then(|mut f| f.write_all(key.as_ref()).and_then(|()| f.sync_all()));
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
    read_key(path)
}

/// Reads a 32-byte key file.
fn read_key(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| KeyError::Keyring(format!("cannot read {}: {e}", path.display())))?,
    );
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::Keyring(format!("{} must hold exactly 32 bytes", path.display())))?;
    Ok(Zeroizing::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_unwraps_per_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let ring = LocalKeyring::open(&dir.path().join("ring")).unwrap();
        let key = ring.generate_now(Purpose::Data).unwrap();
        assert!(key.wrapped().starts_with(LOCAL_PREFIX));
        let mut scratch = Vec::new();
        let mut sealed = Vec::new();
        key.seal_base64(b"aad", b"secret", &mut scratch, &mut sealed);
        let sealed = String::from_utf8(sealed).unwrap();

        let again = LocalKeyring::open(&dir.path().join("ring")).unwrap();
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
        let key = ring.generate_now(Purpose::Data).unwrap();
        std::fs::remove_file(dir.path().join(QUARANTINE_FILE)).unwrap();
        let reader = LocalKeyring::open_existing(dir.path()).unwrap();
        assert!(reader.unwrap_now(Purpose::Data, key.wrapped()).is_ok());
        assert!(matches!(
            reader.generate_now(Purpose::Quarantine),
            Err(KeyError::Keyring(_))
        ));
        assert!(!dir.path().join(QUARANTINE_FILE).exists());
        assert!(!dir.path().join(TOKEN_FILE).exists());
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let ring_dir = dir.path().join("ring");
        let ring = LocalKeyring::open(&ring_dir).unwrap();
        ring.token_key_bytes().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ring_dir), 0o700);
        for f in [MASTER_FILE, QUARANTINE_FILE, TOKEN_FILE] {
            assert_eq!(mode(&ring_dir.join(f)), 0o600, "{f}");
        }
        std::fs::write(ring_dir.join(TOKEN_FILE), b"short").unwrap();
        assert!(ring.token_key_bytes().is_err());
    }

    use cdc_mask_core::keys::OpenError;
}
