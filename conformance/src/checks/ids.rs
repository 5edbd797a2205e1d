//! Every requirement id the harness's code names (blame candidates, the chapter-5 prefix), as
//! constants. `aigc-conform lint` checks each one against `vectors/requirements.yaml`
//! ([`crate::lint::check_code_ids`]), so a misspelt or retired id in code is a lint error, not a
//! failure silently charged to a requirement that does not exist.

/// 5.3 c): the audio rhythm prompt 短长短短.
pub const GB_5_3_C: &str = "GB-5.3-c";
/// 6.1 a): the implicit label is in the file's metadata.
pub const GB_6_1_A: &str = "GB-6.1-a";
/// 6.1 c): one label per file.
pub const GB_6_1_C: &str = "GB-6.1-c";
/// Annex E c): Label.
pub const E_C: &str = "E-c";
/// Annex E d): ContentProducer.
pub const E_D: &str = "E-d";
/// Annex E e): ProduceID.
pub const E_E: &str = "E-e";
/// Annex E f): ReservedCode1.
pub const E_F: &str = "E-f";
/// Annex E g): ContentPropagator.
pub const E_G: &str = "E-g";
/// Annex E h): PropagateID.
pub const E_H: &str = "E-h";
/// Annex E i): ReservedCode2.
pub const E_I: &str = "E-i";
/// Measures Art. 6 case 1: verified metadata, notice "is".
pub const CAC_6_1: &str = "CAC-6-1";
/// Measures Art. 6 case 2: declared by the user, notice "possibly".
pub const CAC_6_2: &str = "CAC-6-2";
/// Measures Art. 6 case 3: traces only, notice "suspected".
pub const CAC_6_3: &str = "CAC-6-3";
/// Measures Art. 6 ¶2: the platform adds its propagation elements.
pub const CAC_6_P2: &str = "CAC-6-p2";
/// Measures Art. 10 ¶2: the producer's elements are kept.
pub const CAC_10_2: &str = "CAC-10-2";
/// TC260-PG-202511A: the security data in the reserved fields verifies.
pub const PG_202511A_SIG: &str = "PG-202511A-sig";

/// Annex E b): the value's JSON format.
pub const E_B: &str = "E-b";
/// 6.1 b): the label follows Annex E (the mandatory home of every problem the profile grades
/// as an error that no Annex E item names).
pub const GB_6_1_B: &str = "GB-6.1-b";
/// Suite requirement: a stricter reader than the profile is an observation.
pub const SUITE_PROFILE_READING: &str = "SUITE-profile-reading";
/// Suite requirement: damaged files are answered with an error, never "unlabeled" or a crash.
pub const SUITE_DAMAGED_INPUT: &str = "SUITE-damaged-input";

/// Every id above (lint walks this list).
pub const ALL: &[&str] = &[
    GB_5_3_C,
    GB_6_1_A,
    GB_6_1_C,
    E_C,
    E_D,
    E_E,
    E_F,
    E_G,
    E_H,
    E_I,
    CAC_6_1,
    CAC_6_2,
    CAC_6_3,
    CAC_6_P2,
    CAC_10_2,
    PG_202511A_SIG,
    E_B,
    GB_6_1_B,
    SUITE_PROFILE_READING,
    SUITE_DAMAGED_INPUT,
];

/// Prefix of the chapter-5 (explicit label) requirements the output's explicit check judges.
pub const EXPLICIT_PREFIX: &str = "GB-5.";
