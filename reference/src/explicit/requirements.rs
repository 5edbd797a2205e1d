//! Every requirement id the explicit-label verdicts name (chapter 5), as constants.
//! `aigc-conform lint` checks [`ALL`] against `vectors/requirements.yaml`, so a misspelt or
//! retired id here is a lint error, not a finding charged to a requirement that does not exist.

/// 5.1 a): a text's explicit label is a text prompt or a general symbol prompt.
pub const GB_5_1_A: &str = "GB-5.1-a";
/// 5.1 b): the text prompt has the AI element and the generation element.
pub const GB_5_1_B: &str = "GB-5.1-b";
/// 5.1 c): the text prompt is at the start, the end or a middle position.
pub const GB_5_1_C: &str = "GB-5.1-c";
/// 5.2 a): an image's explicit label is a text prompt.
pub const GB_5_2_A: &str = "GB-5.2-a";
/// 5.2 b): the image prompt has the AI element and the generation element.
pub const GB_5_2_B: &str = "GB-5.2-b";
/// 5.2 c): the image prompt is at an edge or a corner.
pub const GB_5_2_C: &str = "GB-5.2-c";
/// 5.2 d): the typeface is clearly legible.
pub const GB_5_2_D: &str = "GB-5.2-d";
/// 5.2 e): text height at least 5 % of the image's shortest side.
pub const GB_5_2_E: &str = "GB-5.2-e";
/// 5.3 a): an audio's explicit label is a voice label or a rhythm label.
pub const GB_5_3_A: &str = "GB-5.3-a";
/// 5.3 b): the voice label has the AI element and the generation element.
pub const GB_5_3_B: &str = "GB-5.3-b";
/// 5.3 c): the rhythm label is 短长短短 (Morse "AI").
pub const GB_5_3_C: &str = "GB-5.3-c";
/// 5.3 d): the audio label is at the start, the end or a middle position.
pub const GB_5_3_D: &str = "GB-5.3-d";
/// 5.3 e): the voice label is at a normal speech rate.
pub const GB_5_3_E: &str = "GB-5.3-e";
/// 5.3 f): the rhythm label is clearly distinguishable.
pub const GB_5_3_F: &str = "GB-5.3-f";
/// 5.4 a): a video's explicit label is a text prompt.
pub const GB_5_4_A: &str = "GB-5.4-a";
/// 5.4 b): the video prompt has the AI element and the generation element.
pub const GB_5_4_B: &str = "GB-5.4-b";
/// 5.4 c): the video prompt is on the starting frames.
pub const GB_5_4_C: &str = "GB-5.4-c";
/// 5.4 (placement): within the frame the prompt sits at an edge or a corner.
pub const GB_5_4_E: &str = "GB-5.4-e";
/// 5.4 f): text height at least 5 % of the frame's shortest side.
pub const GB_5_4_F: &str = "GB-5.4-f";
/// 5.4 g): the prompt at the start is shown for at least 2 s.
pub const GB_5_4_G: &str = "GB-5.4-g";

/// All of the above, for the lint.
pub const ALL: &[&str] = &[
    GB_5_1_A, GB_5_1_B, GB_5_1_C, GB_5_2_A, GB_5_2_B, GB_5_2_C, GB_5_2_D, GB_5_2_E, GB_5_3_A,
    GB_5_3_B, GB_5_3_C, GB_5_3_D, GB_5_3_E, GB_5_3_F, GB_5_4_A, GB_5_4_B, GB_5_4_C, GB_5_4_E,
    GB_5_4_F, GB_5_4_G,
];
