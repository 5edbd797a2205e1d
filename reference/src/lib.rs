//! Reference encoder/decoder for GB 45438-2025 (网络安全技术 人工智能生成合成内容标识方法).
//!
//! Two tiers. The codec tier (always built): [`label`], [`problem`], [`profile`],
//! [`implicit`], [`media`], [`platform`], [`io`], [`limits`], [`provider_code`]. The explicit
//! tier (feature `explicit`, on by default): [`explicit`] and [`payload`], which need the
//! image/audio crates and external tools. The entry points are re-exported here.
//!
//! - [`label`]: the Annex E label, canonical JSON, tolerant parsing with diagnostics;
//! - [`problem`]: problem codes, severities and problems, shared by every module;
//! - [`media`]: a file's modality and payload method, read from the format registry;
//! - [`provider_code`]: the 27-character service-provider code (TC260-PG-20252A);
//! - [`profile`]: every interpretation the standard leaves open, loaded from `vectors/profile.yaml`;
//! - [`implicit`]: the file-metadata label in every container format (read and write);
//! - [`payload`]: what a label must not change, fingerprinted per format family;
//! - [`platform`]: the propagation platform role (Measures Art. 6);
//! - [`protocol`]: the conformance adapter protocol's requests and responses, as types;
//! - [`security`]: SecurityData in the reserved fields (TC260-PG-202511A): SM2 verify and sign;
//! - [`explicit`]: the perceivable prompt per modality (chapter 5): renderers and measuring detectors;
//! - [`tool`]: external tools (ffmpeg, tesseract, qpdf...) under the caller's time limit, bounded;
//! - [`io`] and [`limits`]: bounded streaming I/O and atomic writes shared by all formats;
//! - `fuzzing` (feature `fuzzing`): the invariants the fuzz targets and the fuzz smoke test check.
#![forbid(unsafe_code)]

pub mod copy;
pub mod error;
#[cfg(feature = "explicit")]
pub mod explicit;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod implicit;
pub mod io;
pub mod label;
pub mod limits;
pub mod media;
#[cfg(feature = "explicit")]
pub mod payload;
pub mod platform;
pub mod problem;
pub mod profile;
pub mod protocol;
pub mod provider_code;
pub mod security;
#[cfg(feature = "explicit")]
pub mod tool;

// The entry points, for callers that need no more (a platform reading labels, the bindings).
pub use error::CodecError;
pub use implicit::{
    embed_bytes, embed_path, read_bytes, read_path, EmbedOptions, FileError, Format, ReadReport,
    Verdict, FORMATS,
};
pub use label::Label;
pub use media::{Modality, PayloadMethod};
pub use problem::{Problem, ProblemCode, Severity};
pub use profile::{Profile, ProfileError};
