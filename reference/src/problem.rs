//! Problems found in a label or a file: a stable code, a severity from the interpretation
//! profile and a message. Shared by [`crate::label`], [`crate::implicit`] and
//! [`crate::profile`] (which gives each code its severity and builds problems with
//! [`Problem::new`]); this module depends on none of them.

use serde::Serialize;
use std::fmt;

/// How bad a problem is. The verdict of a label is `invalid` as soon as one problem is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, no deviation from the standard.
    Info,
    /// A deviation from a soft rule (宜, "mainly") or from the practice guides.
    Warning,
    /// A deviation from a mandatory rule (应) of Annex E or 6.1.
    Error,
}

/// Stable problem codes. A code is never renamed or reused; its severity is read from the
/// profile (`severities:` in `vectors/profile.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemCode {
    /// The value is not JSON at all (Annex E b).
    NotJson,
    /// The JSON is not an object (Annex E b).
    NotObject,
    /// An object has the same key twice.
    DuplicateKey,
    /// One of Label, ContentProducer, ProduceID, ContentPropagator, PropagateID is missing.
    MissingField,
    /// ReservedCode1 or ReservedCode2 is missing (their content is optional; the key is printed).
    MissingReservedField,
    /// A key that Annex E does not define.
    UnknownField,
    /// A value that is not a JSON string (Annex E c-i: 类型为字符串).
    NonStringValue,
    /// `Label` is not "1", "2" or "3".
    LabelValue,
    /// A value has characters outside Annex E j) (a "mainly" rule).
    Charset,
    /// ContentProducer or ProduceID is the empty string.
    EmptyField,
    /// The provider is given by name rather than code (allowed).
    ProviderName,
    /// A 27-character provider code whose structure or USCC check fails.
    ProviderCodeInvalid,
    /// `{"AIGC":{...}}` inside a carrier that already names the key AIGC.
    WrappedInNamedKey,
    /// A bare object inside a carrier with no key name of its own (EXIF UserComment).
    BareInUnnamedCarrier,
    /// `{"AIGC":"<json string>"}`: the object is carried as an escaped string.
    WrappedValueIsString,
    /// NUL or other padding after the JSON text.
    TrailingPadding,
    /// The pre-standard Tencent schema (ServiceProvider/ServiceUser/Time/ContentId).
    LegacySchema,
    /// More than one label in one file, all with the same values (6.1 c).
    DuplicateLabel,
    /// More than one label in one file with different values (6.1 c).
    ConflictingLabels,
    /// An XMP property named AIGC in a namespace other than the TC260 one.
    XmpWrongNamespace,
    /// The seven elements as separate XMP properties instead of one JSON value.
    XmpFieldsAsProperties,
    /// The label sits in an alternative or tool-specific carrier rather than the guide's one.
    NonstandardCarrier,
    /// EXIF UserComment without the 8-byte character-code header, or with an unknown one.
    ExifCharset,
    /// The key name of the carrier is AIGC in another case (`aigc`).
    KeyCase,
    // ---- TC260-PG-202511A security data (crate::security) ----
    /// A label signature in ReservedCode1/2 does not verify over the signed fields.
    SecuritySignatureFailed,
    /// SecurityData in ReservedCode1/2 that cannot be read (not JSON, no usable key, bad encoding).
    SecurityDataMalformed,
    // ---- file-level problems of the container (crate::implicit) ----
    /// The file ends inside its image data (a JPEG without EOI after its entropy-coded data):
    /// the label may be intact while the picture is cut short.
    TruncatedEntropyData,
}

impl ProblemCode {
    /// The stable kebab-case code, as printed in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotJson => "not-json",
            Self::NotObject => "not-object",
            Self::DuplicateKey => "duplicate-key",
            Self::MissingField => "missing-field",
            Self::MissingReservedField => "missing-reserved-field",
            Self::UnknownField => "unknown-field",
            Self::NonStringValue => "non-string-value",
            Self::LabelValue => "label-value",
            Self::Charset => "charset",
            Self::EmptyField => "empty-field",
            Self::ProviderName => "provider-name",
            Self::ProviderCodeInvalid => "provider-code-invalid",
            Self::WrappedInNamedKey => "wrapped-in-named-key",
            Self::BareInUnnamedCarrier => "bare-in-unnamed-carrier",
            Self::WrappedValueIsString => "wrapped-value-is-string",
            Self::TrailingPadding => "trailing-padding",
            Self::LegacySchema => "legacy-schema",
            Self::DuplicateLabel => "duplicate-label",
            Self::ConflictingLabels => "conflicting-labels",
            Self::XmpWrongNamespace => "xmp-wrong-namespace",
            Self::XmpFieldsAsProperties => "xmp-fields-as-properties",
            Self::NonstandardCarrier => "nonstandard-carrier",
            Self::ExifCharset => "exif-charset",
            Self::KeyCase => "key-case",
            Self::SecuritySignatureFailed => "security-signature-failed",
            Self::SecurityDataMalformed => "security-data-malformed",
            Self::TruncatedEntropyData => "truncated-entropy-data",
        }
    }

    /// Every code, for documentation and for checking that the profile covers them all.
    pub const ALL: [ProblemCode; 27] = [
        Self::NotJson,
        Self::NotObject,
        Self::DuplicateKey,
        Self::MissingField,
        Self::MissingReservedField,
        Self::UnknownField,
        Self::NonStringValue,
        Self::LabelValue,
        Self::Charset,
        Self::EmptyField,
        Self::ProviderName,
        Self::ProviderCodeInvalid,
        Self::WrappedInNamedKey,
        Self::BareInUnnamedCarrier,
        Self::WrappedValueIsString,
        Self::TrailingPadding,
        Self::LegacySchema,
        Self::DuplicateLabel,
        Self::ConflictingLabels,
        Self::XmpWrongNamespace,
        Self::XmpFieldsAsProperties,
        Self::NonstandardCarrier,
        Self::ExifCharset,
        Self::KeyCase,
        Self::SecuritySignatureFailed,
        Self::SecurityDataMalformed,
        Self::TruncatedEntropyData,
    ];
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One deviation found while reading or validating a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable code.
    pub code: ProblemCode,
    /// Severity, from the profile.
    pub severity: Severity,
    /// What exactly was wrong, for a person.
    pub message: String,
}
