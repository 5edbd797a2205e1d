//! Errors of the codec. Every error about file content says where (byte offset) and what.

use std::fmt;
use std::io;

/// What went wrong while reading or writing a file's label.
#[derive(Debug)]
pub enum CodecError {
    /// The file's structure is broken at `offset`: truncated, impossible length, bad magic...
    Corrupt {
        /// Byte offset in the file where the problem was found.
        offset: u64,
        /// What was wrong.
        what: String,
    },
    /// A size or count in the file exceeds one of the limits in [`crate::limits`].
    Limit {
        /// Byte offset of the field that declared the size.
        offset: u64,
        /// What was too large.
        what: String,
    },
    /// The file is not in a format this codec handles, or the operation is not supported.
    Unsupported(String),
    /// An I/O error of the operating system.
    Io(io::Error),
}

impl CodecError {
    /// Shorthand for a [`CodecError::Corrupt`].
    pub fn corrupt(offset: u64, what: impl Into<String>) -> Self {
        CodecError::Corrupt {
            offset,
            what: what.into(),
        }
    }

    /// Shorthand for a [`CodecError::Limit`].
    pub fn limit(offset: u64, what: impl Into<String>) -> Self {
        CodecError::Limit {
            offset,
            what: what.into(),
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Corrupt { offset, what } => write!(f, "corrupt at byte {offset}: {what}"),
            CodecError::Limit { offset, what } => write!(f, "refused at byte {offset}: {what}"),
            CodecError::Unsupported(what) => write!(f, "unsupported: {what}"),
            CodecError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                write!(
                    f,
                    "truncated: the file ends before a structure it announces"
                )
            }
            CodecError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CodecError {}

impl From<io::Error> for CodecError {
    fn from(e: io::Error) -> Self {
        CodecError::Io(e)
    }
}

/// Result alias of the codec.
pub type Result<T> = std::result::Result<T, CodecError>;
