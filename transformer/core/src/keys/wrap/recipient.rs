//! A recipient's keys: the public key the write path wraps data keys to,
//! and the private key that unwraps them without KMS.

use super::*;

/// A recipient's public key, with its key id. What the write path holds.
#[derive(Clone)]
pub struct RecipientKey {
    pub(super) public: PublicKey,
    pub(super) compressed: [u8; COMPRESSED_POINT_LEN],
    pub(super) kid: String,
}

impl RecipientKey {
    /// From a DER SubjectPublicKeyInfo (what KMS `GetPublicKey` returns),
    /// with the point compressed or not.
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if it is not a P-256 public key.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, WrapError> {
        let public = PublicKey::from_public_key_der(der)
            .map_err(|_| WrapError::InvalidKey("not a P-256 SubjectPublicKeyInfo"))?;
        Ok(Self::from_public(public))
    }

    /// From a PEM `-----BEGIN PUBLIC KEY-----` block (SubjectPublicKeyInfo),
    /// as `openssl ec -pubout` or `aws kms get-public-key` (base64 of the DER
    /// between the lines) give it. Text outside the block is ignored.
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if there is no such block or it does not
    /// hold a P-256 public key.
    pub fn from_pem(pem: &str) -> Result<Self, WrapError> {
        const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
        const END: &str = "-----END PUBLIC KEY-----";
        let body = pem
            .split_once(BEGIN)
            .and_then(|(_, rest)| rest.split_once(END))
            .map(|(body, _)| body)
            .ok_or(WrapError::InvalidKey("no PEM PUBLIC KEY block"))?;
        let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = BASE64
            .decode(compact)
            .map_err(|_| WrapError::InvalidKey("PEM body is not base64"))?;
        Self::from_spki_der(&der)
    }

    /// From a SEC1 encoded point (compressed or uncompressed).
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if it is not a point of P-256.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, WrapError> {
        let public = PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| WrapError::InvalidKey("not a P-256 point"))?;
        Ok(Self::from_public(public))
    }

    fn from_public(public: PublicKey) -> Self {
        let compressed = compress(&public);
        let kid = kid_of(&public);
        RecipientKey {
            public,
            compressed,
            kid,
        }
    }

    /// The key id: lowercase hex of the first 8 bytes of SHA-256 of the
    /// DER SubjectPublicKeyInfo with the point uncompressed (the form KMS
    /// `GetPublicKey` returns), so a PEM and KMS give the same id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The canonical DER SubjectPublicKeyInfo (uncompressed point).
    pub fn spki_der(&self) -> Vec<u8> {
        spki_der(&self.public)
    }

    /// The SEC1 compressed point (33 bytes), as bound into the KDF.
    pub fn sec1_compressed(&self) -> [u8; COMPRESSED_POINT_LEN] {
        self.compressed
    }

    /// Wraps `data_key` for `purpose` under a fresh ephemeral key pair.
    ///
    /// # Errors
    /// [`WrapError::Random`] if the system random generator fails.
    pub fn wrap(
        &self,
        purpose: Purpose,
        data_key: &[u8; DATA_KEY_LEN],
    ) -> Result<String, WrapError> {
        let mut scalar = NonZeroScalar::try_generate().map_err(|_| WrapError::Random)?;
        let ephemeral = SecretKey::from(&scalar);
        scalar.zeroize();
        Ok(self.wrap_with(purpose, data_key, &ephemeral))
    }

    /// Wraps with a given ephemeral private scalar (32 bytes, big-endian).
    /// **For test vectors only**: an ephemeral scalar must never be used
    /// twice; [`RecipientKey::wrap`] draws a fresh one.
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if the scalar is zero or not below the
    /// group order.
    pub fn wrap_with_ephemeral_scalar(
        &self,
        purpose: Purpose,
        data_key: &[u8; DATA_KEY_LEN],
        ephemeral_scalar: &[u8; 32],
    ) -> Result<String, WrapError> {
        let ephemeral = SecretKey::from_slice(ephemeral_scalar)
            .map_err(|_| WrapError::InvalidKey("ephemeral scalar out of range"))?;
        Ok(self.wrap_with(purpose, data_key, &ephemeral))
    }

    fn wrap_with(
        &self,
        purpose: Purpose,
        data_key: &[u8; DATA_KEY_LEN],
        ephemeral: &SecretKey,
    ) -> String {
        let ephemeral_pub = compress(&ephemeral.public_key());
        let shared = ephemeral.diffie_hellman(&self.public);
        let info = kdf_info(purpose, &self.kid, &ephemeral_pub, &self.compressed);
        let cipher = kek_cipher(shared.raw_secret_bytes().as_slice(), &info);
        let mut blob = Zeroizing::new([0u8; BLOB_LEN]);
        blob[..COMPRESSED_POINT_LEN].copy_from_slice(&ephemeral_pub);
        let (_, rest) = blob.split_at_mut(COMPRESSED_POINT_LEN);
        let (body, tag_out) = rest.split_at_mut(DATA_KEY_LEN);
        body.copy_from_slice(data_key);
        let tag = cipher
            .encrypt_in_place_detached(Nonce::from_slice(&ZERO_NONCE), &info, body)
            // Only fails for messages over 64 GiB.
            .unwrap_or_default();
        tag_out.copy_from_slice(&tag);
        let mut text = String::with_capacity(DESCRIPTOR_LEN);
        text.push_str(PREFIX);
        text.push_str(&self.kid);
        text.push(':');
        BASE64.encode_string(&blob[..], &mut text);
        text
    }
}

impl fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl PartialEq for RecipientKey {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}

impl Eq for RecipientKey {}

/// A recipient's private key (the local keyring's `data-ecdh.key` or
/// `quarantine-ecdh.key`): the read side without KMS. Zeroized on drop.
pub struct RecipientPrivateKey {
    pub(super) secret: SecretKey,
    pub(super) recipient: RecipientKey,
}

impl RecipientPrivateKey {
    /// From the 32-byte big-endian private scalar (the key file's content).
    ///
    /// # Errors
    /// [`WrapError::InvalidKey`] if it is not 32 bytes, zero, or not below
    /// the group order.
    pub fn from_scalar_bytes(bytes: &[u8]) -> Result<Self, WrapError> {
        if bytes.len() != 32 {
            return Err(WrapError::InvalidKey(
                "a private key file holds exactly 32 bytes",
            ));
        }
        let secret = SecretKey::from_slice(bytes)
            .map_err(|_| WrapError::InvalidKey("private scalar out of range"))?;
        Ok(Self::from_secret(secret))
    }

    /// A fresh private key from the system random generator (to create a
    /// keyring).
    ///
    /// # Errors
    /// [`WrapError::Random`] if the system random generator fails.
    pub fn generate() -> Result<Self, WrapError> {
        let mut scalar = NonZeroScalar::try_generate().map_err(|_| WrapError::Random)?;
        let secret = SecretKey::from(&scalar);
        scalar.zeroize();
        Ok(Self::from_secret(secret))
    }

    fn from_secret(secret: SecretKey) -> Self {
        let recipient = RecipientKey::from_public(secret.public_key());
        RecipientPrivateKey { secret, recipient }
    }

    /// The 32-byte big-endian private scalar, to write into a key file.
    pub fn scalar_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut bytes = self.secret.to_bytes();
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(bytes.as_slice());
        bytes.as_mut_slice().zeroize();
        out
    }

    /// The matching public key (what the write path is given).
    pub fn recipient(&self) -> &RecipientKey {
        &self.recipient
    }

    /// `Z` for a descriptor (the x-coordinate of ECDH with its ephemeral
    /// key), as KMS `DeriveSharedSecret` would return it.
    ///
    /// # Errors
    /// [`WrapError::WrongRecipient`] if the descriptor was wrapped for
    /// another key: no secret is computed then.
    pub fn shared_secret(&self, wrapped: &WrappedKey) -> Result<Zeroizing<[u8; 32]>, WrapError> {
        wrapped.check_recipient(&self.recipient)?;
        let shared = self.secret.diffie_hellman(&wrapped.ephemeral);
        let mut z = Zeroizing::new([0u8; 32]);
        z.copy_from_slice(shared.raw_secret_bytes().as_slice());
        Ok(z)
    }

    /// Unwraps the data key of `wrapped` for `purpose`.
    ///
    /// # Errors
    /// [`WrapError::WrongRecipient`] if wrapped for another key,
    /// [`WrapError::Unauthentic`] if wrapped for another purpose or tampered.
    pub fn unwrap(
        &self,
        wrapped: &WrappedKey,
        purpose: Purpose,
    ) -> Result<Zeroizing<[u8; DATA_KEY_LEN]>, WrapError> {
        let z = self.shared_secret(wrapped)?;
        wrapped.unwrap_with_shared_secret(&self.recipient, purpose, z.as_ref())
    }
}

impl fmt::Debug for RecipientPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientPrivateKey")
            .field("kid", &self.recipient.kid)
            .finish_non_exhaustive()
    }
}
