//! The 27-character service-provider code of TC260-PG-20252A (digest §5): `00` format,
//! subject type and binding method (`11` for an organisation bound by its USCC), the 18-character
//! Unified Social Credit Code (GB 32100, with its mod-31 check character), and a 5-character
//! service extension.

/// The GB 32100 alphabet: digits and upper-case letters without I, O, S, V, Z.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100 weights for the first 17 characters.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The parts of a well-formed provider code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCode<'a> {
    /// Positions 1-2, the code format (`00`).
    pub format: &'a str,
    /// Position 3, subject type (`1` organisation).
    pub subject_type: char,
    /// Position 4, identity-binding method (`1` USCC).
    pub binding: char,
    /// Positions 5-22, the USCC.
    pub uscc: &'a str,
    /// Positions 23-27, the service extension (`00000`, or role digit + product code).
    pub extension: &'a str,
}

/// What a ContentProducer/ContentPropagator value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// A well-formed code whose USCC check character is right.
    Valid(ProviderCode<'a>),
    /// Not shaped like a code at all: a provider name, which Annex E d)/g) allow.
    Name,
    /// Shaped like a code (27 characters, or starting `00` with only digits/capitals) but wrong;
    /// the text says why.
    BadCode(String),
}

/// Check a provider value: a valid code, a name, or a malformed code.
pub fn check(value: &str) -> Verdict<'_> {
    let bytes = value.as_bytes();
    let code_like = bytes
        .iter()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        && (bytes.len() == 27 || (bytes.starts_with(b"00") && bytes.len() >= 20));
    if !code_like {
        if bytes.len() == 27 && bytes.starts_with(b"00") {
            return Verdict::BadCode(
                "has characters other than digits and upper-case letters".into(),
            );
        }
        return Verdict::Name;
    }
    if bytes.len() != 27 {
        return Verdict::BadCode(format!("is {} characters long, a code has 27", bytes.len()));
    }
    if !value.starts_with("00") {
        return Verdict::BadCode(format!(
            "starts with {:?}, the code format is \"00\"",
            &value[..2]
        ));
    }
    let uscc = &value[4..22];
    if let Err(why) = check_uscc(uscc) {
        return Verdict::BadCode(format!(
            "positions 5-22 ({uscc}) are not a valid USCC: {why}"
        ));
    }
    let extension = &value[22..];
    Verdict::Valid(ProviderCode {
        format: &value[..2],
        subject_type: value.as_bytes()[2] as char,
        binding: value.as_bytes()[3] as char,
        uscc,
        extension,
    })
}

/// Why a string is not a Unified Social Credit Code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsccError {
    /// Not 18 characters (the length found).
    Length(usize),
    /// A character outside the GB 32100 alphabet, at a 1-based position.
    Character(char, usize),
    /// The check character (found, expected).
    Check(char, char),
}

impl std::fmt::Display for UsccError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsccError::Length(n) => write!(f, "{n} characters, a USCC has 18"),
            UsccError::Character(c, at) => write!(
                f,
                "character {c:?} at position {at} is not in the GB 32100 alphabet"
            ),
            UsccError::Check(found, expected) => write!(
                f,
                "check character is {found:?}, the mod-31 check gives {expected:?}"
            ),
        }
    }
}

impl std::error::Error for UsccError {}

/// Validate an 18-character Unified Social Credit Code (GB 32100-2015): alphabet and check
/// character.
pub fn check_uscc(uscc: &str) -> Result<(), UsccError> {
    let b = uscc.as_bytes();
    if b.len() != 18 {
        return Err(UsccError::Length(b.len()));
    }
    let mut sum = 0u32;
    for (i, c) in b.iter().enumerate() {
        let Some(v) = USCC_ALPHABET.iter().position(|a| a == c) else {
            return Err(UsccError::Character(*c as char, i + 1));
        };
        if i < 17 {
            sum += v as u32 * USCC_WEIGHTS[i];
        } else {
            let expected = (31 - sum % 31) % 31;
            if v as u32 != expected {
                return Err(UsccError::Check(
                    *c as char,
                    USCC_ALPHABET[expected as usize] as char,
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_codes_from_the_digest_are_valid() {
        // Digest §5 worked examples (Doubao, Jimeng producer/propagator, Tencent).
        for code in [
            "001191110102MACQD9K64010000",
            "00119144030008867405X210001",
            "00119144030008867405X220001",
            "001191440300708461136T1308L",
            "001191440300708461136T1XGW3",
            "001191110102MAD55U9H0F10002",
        ] {
            assert!(
                matches!(check(code), Verdict::Valid(_)),
                "{code}: {:?}",
                check(code)
            );
        }
        let Verdict::Valid(parts) = check("00119144030008867405X220001") else {
            panic!()
        };
        assert_eq!(parts.uscc, "9144030008867405X2");
        assert_eq!(parts.extension, "20001");
    }

    #[test]
    fn broken_codes_are_reported() {
        // Digest §8: the USCC check breaks when one character changes.
        assert!(matches!(
            check("001191110102MACQD9K64110000"),
            Verdict::BadCode(_)
        ));
        assert!(matches!(
            check("00119111010MACQD9K64010000"),
            Verdict::BadCode(_)
        )); // 26
        assert!(matches!(
            check("0011911101022MACQD9K64010000"),
            Verdict::BadCode(_)
        )); // 28
        assert!(matches!(
            check("011191110102MACQD9K64010000"),
            Verdict::BadCode(_)
        ));
        assert!(matches!(
            check("001191110102macqd9k64010000"),
            Verdict::BadCode(_)
        ));
        assert_eq!(check("doubao"), Verdict::Name);
        assert_eq!(check("MiniMax"), Verdict::Name);
    }
}
