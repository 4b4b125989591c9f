//! Key ids: how an envelope names the Ed25519 key that signed it.
//!
//! A [`KeyId`] is the first 8 bytes of the SHA-256 of the 32-byte public
//! key. Signing and verifying are left to the two sides (the CLI signs with
//! ed25519-dalek; a device verifies with ed25519-compact, small on
//! Cortex-M); both derive ids here.

use alkyl_vm::describe::{Describe, HexDigits, Sink};
use sha2::{Digest, Sha256};

/// Bytes of an Ed25519 signature: the last bytes of every signed format
/// (envelope, command, report), over all the bytes before them.
pub const SIGNATURE_LEN: usize = 64;

/// The id of a signing key: the first 8 bytes of SHA-256(public key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    /// The id envelopes carry when unsigned (development mode only).
    pub const UNSIGNED: KeyId = KeyId([0; 8]);

    /// The id of `public_key`.
    pub fn of(public_key: &[u8; 32]) -> KeyId {
        let digest = Sha256::digest(public_key);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }
}

impl Describe for KeyId {
    /// The 16 hex digits.
    fn describe(&self, out: &mut dyn Sink) {
        self.0.iter().for_each(|b| HexDigits((*b).into(), 2).describe(out));
    }
}

alkyl_vm::display_by_describe!(KeyId);

/// `to_signed_bytes` for the owned `Repr` of a signed format (`$what`):
/// a `key_id` field, a `to_bytes` whose last [`SIGNATURE_LEN`] bytes are
/// the signature's place.
#[cfg(feature = "alloc")]
macro_rules! impl_to_signed_bytes {
    ($repr:ident, $error:ty, $what:literal) => {
        impl $repr {
            #[doc = concat!("Emits the ", $what, " signed: `key_id` becomes the id of `public_key`, and")]
            /// `sign` (the caller's Ed25519) signs the bytes before the
            /// signature.
            ///
            /// # Errors
            #[doc = concat!("As [`", stringify!($repr), "::to_bytes`].")]
            pub fn to_signed_bytes(
                &self,
                public_key: &[u8; 32],
                sign: impl FnOnce(&[u8]) -> [u8; $crate::key::SIGNATURE_LEN],
            ) -> Result<alloc::vec::Vec<u8>, $error> {
                let mut repr = self.clone();
                repr.key_id = $crate::key::KeyId::of(public_key);
                let mut b = repr.to_bytes()?;
                let at = b.len() - $crate::key::SIGNATURE_LEN;
                let signature = sign(&b[..at]);
                b[at..].copy_from_slice(&signature);
                Ok(b)
            }
        }
    };
}
#[cfg(feature = "alloc")]
pub(crate) use impl_to_signed_bytes;

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn key_id_is_sha256_prefix() {
        // SHA-256 of 32 zero bytes starts 66687aadf862bd77.
        assert_eq!(KeyId::of(&[0; 32]).to_string(), "66687aadf862bd77");
    }
}
