//! PINs sealed to the gateway: HPKE (RFC 9180) base mode,
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305. A blob is
//! the encapsulated key (32 bytes) followed by the ciphertext and its tag.
//!
//! The AAD binds a PIN to one payment: `aryl/pin/v1` ‖ chain id (8 bytes,
//! big-endian) ‖ contract (20) ‖ the event's indexed topics (32 each, the
//! tenant for PaymentEvent) ‖ the event's other static arguments (their
//! 32-byte ABI words, `mins`). A blob copied into another payment (other
//! tenant, contract, chain or minutes) does not open.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};

use crate::Result;

const INFO: &[u8] = b"aryl/pin/v1";
pub const ENC_LEN: usize = 32;

/// A new key pair: (secret, public), 32 bytes each.
pub fn keygen() -> ([u8; 32], [u8; 32]) {
    let (sk, pk) = X25519HkdfSha256::gen_keypair();
    (sk.to_bytes().into(), pk.to_bytes().into())
}

/// The public half of `secret`.
pub fn public_of(secret: &[u8; 32]) -> Result<[u8; 32]> {
    let sk = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(secret).map_err(|e| format!("HPKE key: {e}"))?;
    Ok(X25519HkdfSha256::sk_to_pk(&sk).to_bytes().into())
}

/// The AAD of a payment (see the module's notes).
pub fn aad(chain_id: u64, contract: &[u8; 20], topics: &[[u8; 32]], words: &[[u8; 32]]) -> Vec<u8> {
    let mut a = Vec::with_capacity(INFO.len() + 28 + 32 * (topics.len() + words.len()));
    a.extend_from_slice(INFO);
    a.extend_from_slice(&chain_id.to_be_bytes());
    a.extend_from_slice(contract);
    for t in topics.iter().chain(words) {
        a.extend_from_slice(t);
    }
    a
}

/// Seals `pin` to `public` (the payer's side).
pub fn seal(public: &[u8], aad: &[u8], pin: &[u8]) -> Result<Vec<u8>> {
    let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(public).map_err(|e| format!("HPKE public key: {e}"))?;
    let (enc, ct) =
        hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(&OpModeS::Base, &pk, INFO, pin, aad)
            .map_err(|e| format!("HPKE seal: {e}"))?;
    let mut blob = enc.to_bytes().to_vec();
    blob.extend_from_slice(&ct);
    Ok(blob)
}

/// Opens a blob with the gateway's `secret`.
pub fn open(secret: &[u8; 32], aad: &[u8], blob: &[u8]) -> Result<Vec<u8>> {
    if blob.len() < ENC_LEN {
        return Err("sealed PIN too short".into());
    }
    let sk = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(secret).map_err(|e| format!("HPKE key: {e}"))?;
    let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&blob[..ENC_LEN]).map_err(|e| format!("HPKE: {e}"))?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &sk,
        &enc,
        INFO,
        &blob[ENC_LEN..],
        aad,
    )
    .map_err(|_| "the sealed PIN does not open (wrong key or AAD)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_with_its_aad() {
        let (sk, pk) = keygen();
        assert_eq!(public_of(&sk).unwrap(), pk);
        let a = aad(31337, &[1; 20], &[[2; 32]], &[[3; 32]]);
        let blob = seal(&pk, &a, b"1234").unwrap();
        assert_eq!(blob.len(), ENC_LEN + 4 + 16);
        assert_eq!(open(&sk, &a, &blob).unwrap(), b"1234");
        // Another tenant, contract, chain or minutes: refused.
        for other in [
            aad(31337, &[1; 20], &[[9; 32]], &[[3; 32]]),
            aad(31337, &[9; 20], &[[2; 32]], &[[3; 32]]),
            aad(1, &[1; 20], &[[2; 32]], &[[3; 32]]),
            aad(31337, &[1; 20], &[[2; 32]], &[[4; 32]]),
        ] {
            assert!(open(&sk, &other, &blob).is_err());
        }
        let (other_sk, _) = keygen();
        assert!(open(&other_sk, &a, &blob).is_err());
        assert!(open(&sk, &a, &blob[..10]).is_err());
    }
}
