//! Random but valid service-provider codes (TC260-PG-20252A, digest §5): `00`, subject type `1`,
//! binding `1`, an 18-character Unified Social Credit Code with its GB 32100 mod-31 check
//! character, and a 5-character service extension (`00000`, or the role digit `1`/`2` and a
//! product code).
//!
//! Written from the digest, independently of the reference's validator (the unit test checks
//! the digest's worked examples).

use super::rng::Rng;

/// The GB 32100 alphabet: digits and upper-case letters without I, O, S, V, Z (digest §5 L2).
pub const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100 weights of the first 17 characters (digest §5 L2).
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The check character of a USCC's first 17 characters (all in [`USCC_ALPHABET`]).
pub fn uscc_check(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(USCC_WEIGHTS)
        .map(|(c, w)| USCC_ALPHABET.iter().position(|a| a == c).unwrap_or(0) as u32 * w)
        .sum();
    USCC_ALPHABET[((31 - sum % 31) % 31) as usize]
}

/// A random USCC: registration authority `9` (market regulation), type `1` (enterprise), a
/// 6-digit region, a 9-character organisation code, the check character.
pub fn random_uscc(rng: &mut Rng) -> String {
    let mut s = b"91".to_vec();
    s.extend(rng.string(b"0123456789", 6).bytes());
    s.extend(rng.string(USCC_ALPHABET, 9).bytes());
    let check = uscc_check(&s);
    s.push(check);
    String::from_utf8(s).unwrap_or_default()
}

/// A random valid 27-character provider code for `role` (`b'1'` generation, `b'2'`
/// propagation); the extension is `00000` one time in four.
pub fn random_code(rng: &mut Rng, role: u8) -> String {
    let uscc = random_uscc(rng);
    let extension = if rng.below(4) == 0 {
        "00000".to_string()
    } else {
        format!(
            "{}{}",
            role as char,
            rng.string(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4)
        )
    };
    format!("0011{uscc}{extension}")
}

/// A code shaped like a valid one whose USCC check character is wrong.
pub fn bad_check_code(rng: &mut Rng, role: u8) -> String {
    let mut code = random_code(rng, role).into_bytes();
    let right = code[21];
    let mut wrong = right;
    while wrong == right {
        wrong = *rng.pick(USCC_ALPHABET);
    }
    code[21] = wrong;
    String::from_utf8(code).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_worked_examples_have_the_right_check_character() {
        for uscc in [
            "91110102MACQD9K640",
            "9144030008867405X2",
            "91440300708461136T",
            "91110102MAD55U9H0F",
        ] {
            assert_eq!(
                uscc_check(&uscc.as_bytes()[..17]),
                uscc.as_bytes()[17],
                "{uscc}"
            );
        }
        // One character changed: the check no longer matches.
        assert_ne!(uscc_check(b"91110102MACQD9K65"), b'0');
    }

    #[test]
    fn random_codes_are_well_formed_and_bad_ones_are_not() {
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let c = random_code(&mut rng, b'1');
            assert_eq!(c.len(), 27);
            assert!(c.starts_with("0011"));
            let uscc = &c.as_bytes()[4..22];
            assert_eq!(uscc_check(&uscc[..17]), uscc[17]);
            assert!(c[22..] == *"00000" || c.as_bytes()[22] == b'1');
            let b = bad_check_code(&mut rng, b'2');
            let uscc = &b.as_bytes()[4..22];
            assert_ne!(uscc_check(&uscc[..17]), uscc[17]);
        }
    }
}
