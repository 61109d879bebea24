//! A parsed `ecdh1:` descriptor (public parts only), checked against the
//! configured recipient and unwrapped from a shared secret.

use super::*;

/// A parsed `ecdh1:` descriptor: public parts only.
#[derive(Clone)]
pub struct WrappedKey {
    pub(super) kid: String,
    pub(super) ephemeral: PublicKey,
    pub(super) ephemeral_compressed: [u8; COMPRESSED_POINT_LEN],
    pub(super) sealed: [u8; DATA_KEY_LEN + TAG_LEN],
}

impl WrappedKey {
    /// Parses `ecdh1:<kid>:<base64>`: a 16-character lowercase hex key id,
    /// and canonical padded standard base64 of exactly 81 bytes whose first
    /// 33 are a compressed point of P-256.
    ///
    /// # Errors
    /// [`WrapError::Malformed`] naming what is wrong.
    pub fn parse(text: &str) -> Result<Self, WrapError> {
        let rest = text
            .strip_prefix(PREFIX)
            .ok_or(WrapError::Malformed("not an ecdh1: key"))?;
        let (kid, encoded) = rest
            .split_once(':')
            .ok_or(WrapError::Malformed("no key id"))?;
        if kid.len() != KID_LEN || !kid.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(WrapError::Malformed(
                "key id is not 16 lowercase hex digits",
            ));
        }
        let mut blob = [0u8; BLOB_LEN];
        match BASE64.decode_slice(encoded, &mut blob) {
            Ok(BLOB_LEN) if encoded.len() == DESCRIPTOR_LEN - PREFIX.len() - KID_LEN - 1 => {}
            _ => return Err(WrapError::Malformed("not base64 of 81 bytes")),
        }
        let mut ephemeral_compressed = [0u8; COMPRESSED_POINT_LEN];
        ephemeral_compressed.copy_from_slice(&blob[..COMPRESSED_POINT_LEN]);
        if !matches!(ephemeral_compressed[0], 0x02 | 0x03) {
            return Err(WrapError::Malformed(
                "ephemeral key is not a compressed point",
            ));
        }
        let ephemeral = PublicKey::from_sec1_bytes(&ephemeral_compressed)
            .map_err(|_| WrapError::Malformed("ephemeral key is not a point of P-256"))?;
        let mut sealed = [0u8; DATA_KEY_LEN + TAG_LEN];
        sealed.copy_from_slice(&blob[COMPRESSED_POINT_LEN..]);
        Ok(WrappedKey {
            kid: kid.to_owned(),
            ephemeral,
            ephemeral_compressed,
            sealed,
        })
    }

    /// The recipient key id written in the descriptor.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The ephemeral public key as DER SubjectPublicKeyInfo (uncompressed
    /// point): the `PublicKey` of KMS `DeriveSharedSecret`.
    pub fn ephemeral_spki_der(&self) -> Vec<u8> {
        spki_der(&self.ephemeral)
    }

    /// The ephemeral public key, SEC1 compressed (as in the descriptor).
    pub fn ephemeral_sec1_compressed(&self) -> [u8; COMPRESSED_POINT_LEN] {
        self.ephemeral_compressed
    }

    /// Refuses a descriptor wrapped for another key than `recipient`. Call it
    /// before asking KMS for the shared secret.
    ///
    /// # Errors
    /// [`WrapError::WrongRecipient`].
    pub fn check_recipient(&self, recipient: &RecipientKey) -> Result<(), WrapError> {
        if self.kid == recipient.kid {
            Ok(())
        } else {
            Err(WrapError::WrongRecipient {
                wrapped_for: self.kid.clone(),
                configured: recipient.kid.clone(),
            })
        }
    }

    /// Unwraps the data key given `Z` (from KMS `DeriveSharedSecret`, or
    /// [`RecipientPrivateKey::shared_secret`]) for the configured
    /// `recipient`.
    ///
    /// # Errors
    /// [`WrapError::WrongRecipient`] if the key ids differ,
    /// [`WrapError::SharedSecretLength`] if `z` is not 32 bytes,
    /// [`WrapError::Unauthentic`] if it does not authenticate.
    pub fn unwrap_with_shared_secret(
        &self,
        recipient: &RecipientKey,
        purpose: Purpose,
        z: &[u8],
    ) -> Result<Zeroizing<[u8; DATA_KEY_LEN]>, WrapError> {
        self.check_recipient(recipient)?;
        if z.len() != SHARED_SECRET_LEN {
            return Err(WrapError::SharedSecretLength);
        }
        let info = kdf_info(
            purpose,
            &self.kid,
            &self.ephemeral_compressed,
            &recipient.compressed,
        );
        let cipher = kek_cipher(z, &info);
        let mut key = Zeroizing::new([0u8; DATA_KEY_LEN]);
        key.copy_from_slice(&self.sealed[..DATA_KEY_LEN]);
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&ZERO_NONCE),
                &info,
                &mut key[..],
                Tag::from_slice(&self.sealed[DATA_KEY_LEN..]),
            )
            .map_err(|_| WrapError::Unauthentic)?;
        Ok(key)
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
