//! What kind of media a file is: its modality (chapter 5) and how its payload is compared.
//!
//! Both answers come from the format registry ([`crate::implicit::FORMATS`]; the registry
//! implements `Modality::detect`, so this module depends on nothing but errors): every
//! [`Format`](crate::implicit::Format) states its [`Modality`] and its [`PayloadMethod`], so a
//! format's identity (magic, extensions, modality, payload) is written once, in its module.
//! The explicit tier and the payload fingerprint read it from here. A few media have an
//! explicit label but no implicit carrier in this reference (plain text, raw Y4M video, raw
//! AAC); they are listed in [`BARE_MEDIA`], the one other place that knows magic numbers.

use serde::Serialize;

use crate::error::CodecError;

/// The modality of a file (chapter 5: each has its own explicit-label rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// Plain text or Markdown (5.1).
    Text,
    /// PNG, JPEG, WebP, GIF, TIFF, HEIF (5.2).
    Image,
    /// WAV, MP3, AAC/M4A, FLAC, Ogg (5.3).
    Audio,
    /// Y4M, MP4/MOV, MKV/WebM, AVI, FLV (5.4).
    Video,
}

/// How the payload of a format is fingerprinted (see `crate::payload`): what a viewer or
/// player gets, which a label must not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMethod {
    /// The decoded pixels, by the `image` crate.
    DecodedImage,
    /// Every decoded frame, by ffmpeg (formats the `image` crate decodes differently or not).
    DecodedFrames,
    /// The primary image, decoded by libheif.
    HeifPrimaryImage,
    /// The compressed packets of every stream, as ffmpeg's demuxer delivers them.
    Packets,
    /// Every page rendered by poppler.
    RenderedPages,
    /// Every part of a ZIP package except the metadata parts a label may add or change.
    PackageParts {
        /// Part names left out of the comparison.
        metadata_parts: &'static [&'static str],
    },
    /// The text after the front matter.
    TextBody,
}

impl PayloadMethod {
    /// The short name reported with a comparison (`pixels`, `packets`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PayloadMethod::DecodedImage
            | PayloadMethod::DecodedFrames
            | PayloadMethod::HeifPrimaryImage => "pixels",
            PayloadMethod::Packets => "packets",
            PayloadMethod::RenderedPages => "pages",
            PayloadMethod::PackageParts { .. } => "parts",
            PayloadMethod::TextBody => "body",
        }
    }
}

/// A medium with an explicit label but no implicit-label module in this reference.
#[derive(Debug)]
pub struct BareMedium {
    /// A short name, for messages.
    pub name: &'static str,
    /// The first bytes of such a file (empty: no magic number).
    pub magic: &'static [u8],
    /// File extensions (lower case, no dot).
    pub extensions: &'static [&'static str],
    /// Its modality.
    pub modality: Modality,
}

/// Media known by their modality only.
pub static BARE_MEDIA: &[BareMedium] = &[
    BareMedium {
        name: "y4m",
        magic: b"YUV4MPEG2",
        extensions: &["y4m"],
        modality: Modality::Video,
    },
    BareMedium {
        name: "text",
        magic: b"",
        extensions: &["txt", "text"],
        modality: Modality::Text,
    },
    BareMedium {
        name: "aac",
        magic: b"",
        extensions: &["aac"],
        modality: Modality::Audio,
    },
];

/// Why a file's modality could not be told.
#[derive(Debug)]
pub struct ModalityError {
    /// The file.
    pub path: std::path::PathBuf,
    /// What went wrong.
    pub error: CodecError,
}

impl std::fmt::Display for ModalityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error {
            CodecError::Io(e) => write!(f, "{}: {e}", self.path.display()),
            CodecError::Unsupported(what) => write!(f, "{}: {what}", self.path.display()),
            other => write!(f, "{}: {other}", self.path.display()),
        }
    }
}

impl std::error::Error for ModalityError {}

impl Modality {
    /// Parse `text`, `image`, `audio`, `video`.
    pub fn parse(s: &str) -> Option<Modality> {
        Some(match s {
            "text" => Modality::Text,
            "image" => Modality::Image,
            "audio" => Modality::Audio,
            "video" => Modality::Video,
            _ => return None,
        })
    }
}
