//! Who may change a device's apps and call its protected entries: Ed25519
//! keys it trusts (upload envelopes and signed commands alike).
//!
//! An envelope names its signing key by [`KeyId`] (the first 8 bytes of
//! the SHA-256 of the 32-byte public key: `alkyl_protocol::key`) and ends
//! with an Ed25519
//! signature over every byte before it. [`Authority::check`] runs before
//! anything else looks at the payload: no decompression, no parsing of
//! containers for unauthenticated bytes.
//!
//! An authority without keys refuses every change
//! ([`AuthError::MutationsDisabled`]). Development mode
//! ([`Authority::allow_unsigned`]) additionally accepts envelopes whose key
//! id is all zeros, without a signature check; envelopes naming a key are
//! still checked.

use alloc::vec::Vec;

use alkyl_protocol::command::Command;
use alkyl_protocol::envelope::Envelope;
use alkyl_protocol::KeyId;
use alkyl_vm::describe::{Describe, Sink};

/// The identity point, compressed.
const IDENTITY: salty::CompressedY = salty::CompressedY([
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
]);

/// The order of the Ed25519 group, L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Why an envelope was not accepted as authentic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The device trusts no key: it accepts no changes.
    MutationsDisabled,
    /// The envelope names a key the device does not trust.
    UnknownKey(KeyId),
    /// The signature does not verify with the named key.
    BadSignature,
}

impl Describe for AuthError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            AuthError::MutationsDisabled => out.text("no trusted key: changes are disabled"),
            AuthError::UnknownKey(e) => ("unknown key ", e).describe(out),
            AuthError::BadSignature => out.text("bad signature"),
        }
    }
}

alkyl_vm::error_by_texts! {
    /// Why a public key was refused when configuring an [`Authority`].
    pub struct BadPublicKey => "not a valid Ed25519 public key";
}

alkyl_vm::error_by_describe!(AuthError);

/// The keys a device trusts, and whether unsigned envelopes are accepted.
#[derive(Clone, Debug, Default)]
pub struct Authority {
    keys: Vec<(KeyId, salty::PublicKey)>,
    allow_unsigned: bool,
}

impl Authority {
    /// An authority that trusts nothing: every change is refused.
    pub fn read_only() -> Authority {
        Authority::default()
    }

    /// Trusts `public_key` too.
    ///
    /// # Errors
    /// [`BadPublicKey`] for a point that is not a valid key (e.g. of small order).
    pub fn trust(mut self, public_key: &[u8; 32]) -> Result<Authority, BadPublicKey> {
        let key = salty::PublicKey::try_from(public_key).map_err(|_| BadPublicKey)?;
        // Of small order ([8]P is the identity): any signature would do.
        let eight = salty::Scalar::from(8u64);
        if (&eight * &key.compressed.decompressed().map_err(|_| BadPublicKey)?).compressed() == IDENTITY {
            return Err(BadPublicKey);
        }
        self.keys.push((KeyId::of(public_key), key));
        Ok(self)
    }

    /// Development mode: also accept envelopes with [`KeyId::UNSIGNED`].
    pub fn allow_unsigned(mut self) -> Authority {
        self.allow_unsigned = true;
        self
    }

    /// Whether any change can be accepted at all.
    pub fn accepts_changes(&self) -> bool {
        self.allow_unsigned || !self.keys.is_empty()
    }

    /// Whether unsigned envelopes are accepted.
    pub fn allows_unsigned(&self) -> bool {
        self.allow_unsigned
    }

    /// The ids of the trusted keys.
    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.iter().map(|(id, _)| *id)
    }

    /// Checks that `envelope` (structurally checked) is authentic.
    ///
    /// # Errors
    /// [`AuthError`].
    pub fn check<T: AsRef<[u8]>>(&self, envelope: &Envelope<T>) -> Result<(), AuthError> {
        self.check_signed(envelope.key_id(), envelope.signed_bytes(), envelope.signature())
    }

    /// Checks a signed command (`alkyl_protocol::command`): the same rules
    /// as [`Authority::check`].
    ///
    /// # Errors
    /// [`AuthError`].
    pub fn check_command(&self, command: &Command<'_>) -> Result<(), AuthError> {
        self.check_signed(command.key_id(), command.signed_bytes(), command.signature())
    }

    fn check_signed(&self, id: KeyId, signed: &[u8], signature: [u8; 64]) -> Result<(), AuthError> {
        if !self.accepts_changes() {
            return Err(AuthError::MutationsDisabled);
        }
        if id == KeyId::UNSIGNED && self.allow_unsigned {
            return Ok(());
        }
        let (_, key) = self.keys.iter().find(|(k, _)| *k == id).ok_or(AuthError::UnknownKey(id))?;
        // S must be below the group order (RFC 8032, 5.1.7): one message,
        // one signature.
        let s: &[u8; 32] = signature[32..].try_into().map_err(|_| AuthError::BadSignature)?;
        if !s.iter().rev().lt(ORDER.iter().rev()) {
            return Err(AuthError::BadSignature);
        }
        key.verify(signed, &salty::Signature::from(&signature)).map_err(|_| AuthError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{install_envelope, signed, TEST_SEED};

    fn key() -> ed25519_compact::KeyPair {
        ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(TEST_SEED))
    }

    #[test]
    fn read_only_refuses_everything() {
        let bytes = signed(install_envelope("a", 1), &key());
        let env = Envelope::new_checked(&bytes[..]).unwrap();
        assert_eq!(Authority::read_only().check(&env), Err(AuthError::MutationsDisabled));
    }

    #[test]
    fn signed_envelopes() {
        let kp = key();
        let auth = Authority::read_only().trust(&kp.pk).unwrap();
        let bytes = signed(install_envelope("a", 1), &kp);
        auth.check(&Envelope::new_checked(&bytes[..]).unwrap()).unwrap();

        // Any flipped bit before the signature, or in it, breaks it.
        for i in [0usize, 8, 20, 32, bytes.len() - 65, bytes.len() - 64, bytes.len() - 1] {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            if let Ok(env) = Envelope::new_checked(&t[..]) {
                assert_ne!(auth.check(&env), Ok(()), "bit flip at {i} accepted");
            }
        }
        // Another key, not trusted.
        let other = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9; 32]));
        let bytes = signed(install_envelope("a", 1), &other);
        let env = Envelope::new_checked(&bytes[..]).unwrap();
        assert_eq!(auth.check(&env), Err(AuthError::UnknownKey(KeyId::of(&other.pk))));
        // An id of a trusted key with someone else's signature.
        let mut forged = bytes.clone();
        forged[alkyl_protocol::envelope::field::KEY_ID].copy_from_slice(&KeyId::of(&kp.pk).0);
        let forged = {
            let mut e = Envelope::new_unchecked(forged);
            let sig = other.sk.sign(e.signed_bytes(), None);
            e.set_signature(&sig);
            e.into_inner()
        };
        assert_eq!(auth.check(&Envelope::new_checked(&forged[..]).unwrap()), Err(AuthError::BadSignature));
    }

    #[test]
    fn unsigned_only_in_development_mode() {
        let bytes = install_envelope("a", 1).to_bytes().unwrap();
        let env = Envelope::new_checked(&bytes[..]).unwrap();
        let kp = key();
        let strict = Authority::read_only().trust(&kp.pk).unwrap();
        assert_eq!(strict.check(&env), Err(AuthError::UnknownKey(KeyId::UNSIGNED)));
        let dev = Authority::read_only().allow_unsigned();
        assert!(dev.accepts_changes());
        dev.check(&env).unwrap();
        // A signed envelope is still checked in development mode.
        let mut bad = signed(install_envelope("a", 1), &kp);
        let n = bad.len();
        bad[n - 1] ^= 1;
        let dev = dev.trust(&kp.pk).unwrap();
        assert_eq!(dev.check(&Envelope::new_checked(&bad[..]).unwrap()), Err(AuthError::BadSignature));
    }

    #[test]
    fn invalid_public_keys_are_refused() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(Authority::read_only().trust(&identity).err(), Some(BadPublicKey));
    }

    /// The y coordinates of the points of small order (libsodium's
    /// blocklist: 0, 1, the two of order 8, p - 1, and the non-canonical
    /// p and p + 1), either sign of x.
    const SMALL_ORDER: [[u8; 32]; 7] = [
        [0; 32],
        [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
            0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
        ],
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
            0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
        ],
        [
            0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ],
        [
            0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ],
        [
            0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ],
    ];

    /// What ed25519-compact (the runtime's Ed25519 before salty) accepts.
    fn compact_accepts(pk: &[u8; 32]) -> bool {
        ed25519_compact::PublicKey::new(*pk).validate().is_ok()
    }

    #[test]
    fn public_keys_are_accepted_as_ed25519_compact_accepts_them() {
        for y in SMALL_ORDER {
            for sign in [0, 0x80] {
                let mut pk = y;
                pk[31] |= sign;
                assert!(!compact_accepts(&pk), "{pk:02x?}");
                assert_eq!(Authority::read_only().trust(&pk).err(), Some(BadPublicKey), "{pk:02x?}");
            }
        }
        // Random encodings: about half are points, none of small order.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut points = 0;
        for _ in 0..500 {
            let mut pk = [0u8; 32];
            for b in pk.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            let ok = Authority::read_only().trust(&pk).is_ok();
            assert_eq!(ok, compact_accepts(&pk), "{pk:02x?}");
            points += ok as usize;
        }
        assert!((150..350).contains(&points), "{points}");
    }

    #[test]
    fn signatures_with_s_beyond_the_group_order_are_refused() {
        let kp = key();
        let auth = Authority::read_only().trust(&kp.pk).unwrap();
        let bytes = signed(install_envelope("a", 1), &kp);
        // S + L: the same point equation, another encoding.
        let mut t = bytes.clone();
        let n = t.len();
        let mut carry = 0u16;
        for (b, l) in t[n - 32..].iter_mut().zip(ORDER) {
            let v = *b as u16 + l as u16 + carry;
            *b = v as u8;
            carry = v >> 8;
        }
        assert_eq!(carry, 0);
        let s_plus_l = ed25519_compact::Signature::from_slice(&t[n - 64..]).unwrap();
        assert!(kp.pk.verify(&t[..n - 64], &s_plus_l).is_err());
        let env = Envelope::new_checked(&t[..]).unwrap();
        assert_eq!(auth.check(&env), Err(AuthError::BadSignature));
        auth.check(&Envelope::new_checked(&bytes[..]).unwrap()).unwrap();
    }
}
