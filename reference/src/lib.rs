//! Reference encoder/decoder for GB 45438-2025 (网络安全技术 人工智能生成合成内容标识方法).
//!
//! - [`label`]: the Annex E label, canonical JSON, tolerant parsing with diagnostics;
//! - [`provider_code`]: the 27-character service-provider code (TC260-PG-20252A);
//! - [`profile`]: every interpretation the standard leaves open, loaded from `vectors/profile.yaml`;
//! - [`implicit`]: the file-metadata label in every container format (read and write);
//! - [`payload`]: what a label must not change, fingerprinted per format family;
//! - [`platform`]: the propagation platform role (Measures Art. 6);
//! - [`security`]: SecurityData in the reserved fields (TC260-PG-202511A): SM2 verify and sign;
//! - [`explicit`]: the perceivable prompt per modality (chapter 5): renderers and measuring detectors;
//! - [`io`] and [`limits`]: bounded streaming I/O and atomic writes shared by all formats;
//! - [`fuzzing`]: the invariants the fuzz targets and the fuzz smoke test check.
#![forbid(unsafe_code)]

pub mod error;
pub mod explicit;
pub mod fuzzing;
pub mod implicit;
pub mod io;
pub mod label;
pub mod limits;
pub mod payload;
pub mod platform;
pub mod profile;
pub mod provider_code;
pub mod security;

pub use label::{Label, Problem, ProblemCode, Severity};
pub use profile::Profile;
