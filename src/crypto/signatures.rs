//! RSA signatures over a digest the caller computed, as Key Vault's sign and verify take them:
//! RS256/384/512 (PKCS#1 v1.5) and PS256/384/512 (PSS, salt as long as the digest).

use super::Secret;
use crate::error::{Error, Result};
use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{self, RsaEncoding, RsaParameters, UnparsedPublicKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
}

/// The names Key Vault uses, in the order the parameter lists them.
pub const SIGNATURE_ALGORITHMS: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];

impl SignatureAlgorithm {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
        }
    }

    fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Rs256 | Self::Ps256 => &digest::SHA256,
            Self::Rs384 | Self::Ps384 => &digest::SHA384,
            Self::Rs512 | Self::Ps512 => &digest::SHA512,
        }
    }

    fn encoding(self) -> &'static dyn RsaEncoding {
        match self {
            Self::Rs256 => &signature::RSA_PKCS1_SHA256,
            Self::Rs384 => &signature::RSA_PKCS1_SHA384,
            Self::Rs512 => &signature::RSA_PKCS1_SHA512,
            Self::Ps256 => &signature::RSA_PSS_SHA256,
            Self::Ps384 => &signature::RSA_PSS_SHA384,
            Self::Ps512 => &signature::RSA_PSS_SHA512,
        }
    }

    fn verification(self) -> &'static RsaParameters {
        match self {
            Self::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
        }
    }

    /// The digest as aws-lc-rs takes it; an error naming `parameter` when its length is not
    /// the algorithm's.
    fn digest(self, parameter: &str, bytes: &[u8]) -> Result<Digest> {
        let algorithm = self.digest_algorithm();
        if bytes.len() != algorithm.output_len() {
            return Err(Error::invalid_argument(
                parameter,
                format!(
                    "{} signs a {}-byte digest; {} bytes were given",
                    self.name(),
                    algorithm.output_len(),
                    bytes.len()
                ),
            ));
        }
        Digest::import_less_safe(bytes, algorithm).map_err(|_| {
            Error::invalid_argument(parameter, "is not a digest of the algorithm's length")
        })
    }
}

/// Signs `digest` with the private key in `pkcs8`.
pub fn sign_digest(
    pkcs8: &Secret,
    algorithm: SignatureAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>> {
    let digest = algorithm.digest("Digest", digest)?;
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8.expose())
        .map_err(|_| Error::internal("a stored private key does not parse"))?;
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign_digest(algorithm.encoding(), &digest, &mut signature)
        .map_err(|_| Error::internal("the signature could not be made"))?;
    Ok(signature)
}

/// Whether `signature` is `algorithm`'s signature of `digest` under the public key (n, e).
pub fn verify_digest(
    modulus: &[u8],
    exponent: &[u8],
    algorithm: SignatureAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<bool> {
    let digest = algorithm.digest("Digest", digest)?;
    let der = super::der::rsa_public_key(modulus, exponent);
    Ok(UnparsedPublicKey::new(algorithm.verification(), &der)
        .verify_digest(&digest, signature)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_digest_and_key() {
        let key = crate::crypto::generate_rsa(2048).unwrap();
        let other = crate::crypto::generate_rsa(2048).unwrap();
        let digest = aws_lc_rs::digest::digest(&digest::SHA256, b"message");
        let wrong = aws_lc_rs::digest::digest(&digest::SHA256, b"other");
        for alg in [SignatureAlgorithm::Rs256, SignatureAlgorithm::Ps256] {
            let sig = sign_digest(&key.pkcs8, alg, digest.as_ref()).unwrap();
            assert!(
                verify_digest(&key.modulus, &key.exponent, alg, digest.as_ref(), &sig).unwrap()
            );
            assert!(
                !verify_digest(&key.modulus, &key.exponent, alg, wrong.as_ref(), &sig).unwrap()
            );
            assert!(
                !verify_digest(&other.modulus, &other.exponent, alg, digest.as_ref(), &sig)
                    .unwrap()
            );
        }
        let e = sign_digest(&key.pkcs8, SignatureAlgorithm::Rs512, digest.as_ref()).unwrap_err();
        assert!(e.message.contains("64-byte digest"), "{e}");
    }
}
