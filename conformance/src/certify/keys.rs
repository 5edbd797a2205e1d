//! SM2 key pairs for signing reports: `aigc-conform keygen --out DIR` writes
//! `report-signing.key` (PKCS#8 PEM, mode 0600) and `report-signing.pub` (SubjectPublicKeyInfo
//! PEM), the formats `openssl genpkey -algorithm SM2` / `openssl pkey -pubout` use.

use sm2::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The SM2 distinguishing identifier (GB/T 35276 default `1234567812345678`) used for
/// report signatures, recorded in every signature file.
pub const USER_ID: &str = "1234567812345678";
/// File name of the private key.
pub const PRIVATE_KEY_FILE: &str = "report-signing.key";
/// File name of the public key.
pub const PUBLIC_KEY_FILE: &str = "report-signing.pub";

/// A fresh secret key from the OS random source (`/dev/urandom`); rejection-sampled into the
/// scalar range by the crate.
pub fn generate() -> Result<sm2::SecretKey, String> {
    let mut f = std::fs::File::open("/dev/urandom")
        .map_err(|e| format!("/dev/urandom: {e} (keygen needs the OS random source)"))?;
    for _ in 0..64 {
        let mut buf = [0u8; 32];
        f.read_exact(&mut buf)
            .map_err(|e| format!("/dev/urandom: {e}"))?;
        if let Ok(k) = sm2::SecretKey::from_slice(&buf) {
            return Ok(k);
        }
    }
    Err("could not draw an SM2 private key".into())
}

/// Write a new key pair into `dir` (created); refuses to overwrite an existing private key.
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (private, public) = (dir.join(PRIVATE_KEY_FILE), dir.join(PUBLIC_KEY_FILE));
    if private.exists() {
        return Err(format!(
            "{} exists; refusing to overwrite a signing key",
            private.display()
        ));
    }
    let secret = generate()?;
    let pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("encoding the private key: {e}"))?;
    let pub_pem = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("encoding the public key: {e}"))?;
    write_private(&private, pem.as_bytes())?;
    std::fs::write(&public, pub_pem).map_err(|e| format!("{}: {e}", public.display()))?;
    Ok((private, public))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Load a private key (PKCS#8 PEM).
pub fn load_private(path: &Path) -> Result<sm2::SecretKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    sm2::SecretKey::from_pkcs8_pem(&text).map_err(|e| {
        format!(
            "{}: not an SM2 private key in PKCS#8 PEM: {e}",
            path.display()
        )
    })
}

/// Load a public key (SubjectPublicKeyInfo PEM).
pub fn load_public(path: &Path) -> Result<sm2::PublicKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    sm2::PublicKey::from_public_key_pem(&text)
        .map_err(|e| format!("{}: not an SM2 public key in PEM: {e}", path.display()))
}

/// Uncompressed SEC1 encoding of a public key, hex.
pub fn public_hex(key: &sm2::PublicKey) -> String {
    crate::vector::hex(&key.to_sec1_bytes())
}
