//! The Annex E file-metadata label: its seven fields, canonical serialisation and tolerant
//! parsing with diagnostics.
//!
//! Everything format-specific (where the JSON sits in a PNG, an MP4, ...) lives in
//! [`crate::implicit`]; this module only knows the JSON text and the rules of GB 45438-2025
//! Annex E. Problems carry stable codes (see [`ProblemCode`]) whose severities come from the
//! interpretation profile (`vectors/profile.yaml`), so that policy is data, not code.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::Serialize;
use serde_json::Value;
use std::fmt;

pub use crate::problem::{Problem, ProblemCode, Severity};
use crate::profile::Profile;
use crate::provider_code;

/// The seven Annex E element keys, in the order Annex E b) prints them.
pub const FIELD_NAMES: [&str; 7] = [
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
];

/// The allowed values of the `Label` element (Annex E c): is / possibly / suspected AI.
pub const LABEL_VALUES: [&str; 3] = ["1", "2", "3"];

/// One complete label: the seven Annex E elements, all strings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Label {
    /// `Label`: "1" is, "2" possibly, "3" suspected AI-generated.
    #[serde(rename = "Label")]
    pub label: String,
    /// `ContentProducer`: name or 27-character code of the generation service provider.
    #[serde(rename = "ContentProducer")]
    pub content_producer: String,
    /// `ProduceID`: the producer's number for this content.
    #[serde(rename = "ProduceID")]
    pub produce_id: String,
    /// `ReservedCode1`: producer's security/integrity data (optional content).
    #[serde(rename = "ReservedCode1", default)]
    pub reserved_code1: String,
    /// `ContentPropagator`: name or code of the content propagation service provider.
    #[serde(rename = "ContentPropagator")]
    pub content_propagator: String,
    /// `PropagateID`: the propagator's number for this content.
    #[serde(rename = "PropagateID")]
    pub propagate_id: String,
    /// `ReservedCode2`: propagator's security/integrity data (optional content).
    #[serde(rename = "ReservedCode2", default)]
    pub reserved_code2: String,
}

impl Label {
    /// The field values in Annex E order, paired with their keys.
    pub fn entries(&self) -> [(&'static str, &str); 7] {
        [
            (FIELD_NAMES[0], &self.label),
            (FIELD_NAMES[1], &self.content_producer),
            (FIELD_NAMES[2], &self.produce_id),
            (FIELD_NAMES[3], &self.reserved_code1),
            (FIELD_NAMES[4], &self.content_propagator),
            (FIELD_NAMES[5], &self.propagate_id),
            (FIELD_NAMES[6], &self.reserved_code2),
        ]
    }

    /// Mutable access to a field by its Annex E key.
    pub fn field_mut(&mut self, key: &str) -> Option<&mut String> {
        Some(match key {
            "Label" => &mut self.label,
            "ContentProducer" => &mut self.content_producer,
            "ProduceID" => &mut self.produce_id,
            "ReservedCode1" => &mut self.reserved_code1,
            "ContentPropagator" => &mut self.content_propagator,
            "PropagateID" => &mut self.propagate_id,
            "ReservedCode2" => &mut self.reserved_code2,
            _ => return None,
        })
    }

    /// Canonical bare form: compact JSON, all seven keys, Annex E order, all strings.
    ///
    /// This is what the reference writes into carriers that name the key themselves
    /// (XMP `TC260:AIGC`, MP4 key `AIGC`, ...), as the practice guides do.
    pub fn to_bare_json(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push('{');
        for (i, (k, v)) in self.entries().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(k).expect("string serialises"));
            out.push(':');
            out.push_str(&serde_json::to_string(v).expect("string serialises"));
        }
        out.push('}');
        out
    }

    /// Canonical wrapped form `{"AIGC":{...}}`, for carriers that have no key name of their own
    /// (EXIF UserComment), as Annex E b) prints it.
    pub fn to_wrapped_json(&self) -> String {
        format!("{{\"AIGC\":{}}}", self.to_bare_json())
    }

    /// Checks the values against Annex E and returns the problems found (an empty list means
    /// the label is fully conformant).
    pub fn validate(&self, profile: &Profile) -> Vec<Problem> {
        self.annex_e_findings()
            .into_iter()
            .map(|(code, message)| Problem::new(profile, code, message))
            .collect()
    }

    /// What [`Label::validate`] finds, before the profile gives each finding its severity: a
    /// caller with a clean label never needs the profile (the CLI's `embed` then does not parse
    /// it at start-up).
    pub fn annex_e_findings(&self) -> Vec<(ProblemCode, String)> {
        let mut problems = Vec::new();
        if !LABEL_VALUES.contains(&self.label.as_str()) {
            problems.push((
                ProblemCode::LabelValue,
                format!(
                    "Label is {:?}; Annex E c) allows only \"1\", \"2\" or \"3\"",
                    self.label
                ),
            ));
        }
        for (key, value) in self.entries() {
            if let Some(bad) = value.chars().find(|c| !annex_e_j_char(*c)) {
                problems.push((ProblemCode::Charset,
                    format!(
                        "{key} contains {bad:?} (U+{:04X}); Annex E j) says values consist mainly of \
                         printable ASCII without space, '\"' and '\\'",
                        bad as u32
                    ),
                ));
            }
        }
        for key in ["ContentProducer", "ProduceID"] {
            let value = self
                .entries()
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v);
            if value == Some("") {
                problems.push((ProblemCode::EmptyField,
                    format!("{key} is empty; Annex E d)/e) expect the producer's name or code and its content number"),
                ));
            }
        }
        for (key, value) in [
            ("ContentProducer", &self.content_producer),
            ("ContentPropagator", &self.content_propagator),
        ] {
            if value.is_empty() {
                continue;
            }
            match provider_code::check(value) {
                provider_code::Verdict::Valid(_) => {}
                provider_code::Verdict::Name => problems.push((ProblemCode::ProviderName,
                    format!("{key} {value:?} is a name, not a 27-character provider code (allowed: Annex E says name or code)"),
                )),
                provider_code::Verdict::BadCode(why) => problems.push((ProblemCode::ProviderCodeInvalid,
                    format!("{key} {value:?} looks like a provider code but {why}"),
                )),
            }
        }
        problems
    }
}

/// Is `c` in the Annex E j) repertoire: GB 18030 code positions 0x21, 0x23-0x5B, 0x5D-0x7E?
/// (The escaped quote `\"` that j) also allows is a JSON escape, so at the value level a `"`
/// is the escaped quote and is allowed too.)
pub fn annex_e_j_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e' | '"')
}

/// Whether the carrier that held the JSON names the key itself (XMP `TC260:AIGC`, MP4 key
/// `AIGC`, ...) or is an unnamed container (EXIF UserComment), which decides whether the
/// bare or the wrapped form is expected (digest §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CarrierKind {
    /// The carrier names the field `AIGC`; the bare object is expected.
    NamedKey,
    /// The carrier has no key name; the wrapped `{"AIGC":{...}}` form is expected.
    Unnamed,
}

/// The result of parsing one label value as found in a file.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedLabel {
    /// The values as found: every key of the inner object, in file order; non-string values
    /// are kept as their JSON text. Empty when the text was not a JSON object.
    pub fields: Vec<(String, Value)>,
    /// The complete label when all seven keys are present with string values.
    pub label: Option<Label>,
    /// Everything that deviates from Annex E, each with its severity.
    pub problems: Vec<Problem>,
}

impl ParsedLabel {
    /// True when no problem is an error.
    pub fn is_valid(&self) -> bool {
        self.label.is_some() && !self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

/// JSON object entries in file order, keeping duplicates (serde_json's `Value` would keep
/// only the last one, hiding the `duplicate-key` problem).
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parse one label value as found in a carrier, tolerating every form seen in the wild and
/// recording each deviation as a problem.
///
/// Accepted shapes: the bare object, the wrapped `{"AIGC": {...}}`, the wrapped object whose
/// value is a JSON string, any JSON whitespace and key order, trailing NUL padding.
pub fn parse_label_text(text: &str, carrier: CarrierKind, profile: &Profile) -> ParsedLabel {
    let mut problems = Vec::new();
    let trimmed_padding = text.trim_end_matches(['\0', ' ', '\t', '\r', '\n']);
    if trimmed_padding.len() != text.len() && text[trimmed_padding.len()..].contains('\0') {
        problems.push(Problem::new(
            profile,
            ProblemCode::TrailingPadding,
            "NUL padding after the JSON text",
        ));
    }
    let text = trimmed_padding.trim_start_matches('\u{feff}');
    let outer = match entries_of(text) {
        Ok(e) => e,
        Err(msg) => {
            let code = if serde_json::from_str::<Value>(text).is_ok() {
                ProblemCode::NotObject
            } else {
                ProblemCode::NotJson
            };
            problems.push(Problem::new(
                profile,
                code,
                format!("not a JSON object: {msg}"),
            ));
            return ParsedLabel {
                fields: Vec::new(),
                label: None,
                problems,
            };
        }
    };

    // Wrapped form: a single key "AIGC" (any case) whose value is an object or a JSON string.
    let mut inner = outer;
    let is_wrapped = inner.len() == 1 && inner[0].0.eq_ignore_ascii_case("AIGC");
    if is_wrapped {
        let (key, value) = inner.pop().expect("one entry");
        if key != "AIGC" {
            problems.push(Problem::new(
                profile,
                ProblemCode::KeyCase,
                format!("wrapper key is {key:?}, Annex E a)/b) print \"AIGC\""),
            ));
        }
        let inner_text = match &value {
            Value::String(s) => {
                problems.push(Problem::new(
                    profile,
                    ProblemCode::WrappedValueIsString,
                    "the AIGC member holds the label as an escaped JSON string, not as an object",
                ));
                s.clone()
            }
            other => other.to_string(),
        };
        inner = match entries_of(&inner_text) {
            Ok(e) => e,
            Err(msg) => {
                problems.push(Problem::new(
                    profile,
                    ProblemCode::NotObject,
                    format!("inside \"AIGC\": not a JSON object: {msg}"),
                ));
                return ParsedLabel {
                    fields: Vec::new(),
                    label: None,
                    problems,
                };
            }
        };
        if carrier == CarrierKind::NamedKey {
            problems.push(Problem::new(
                profile,
                ProblemCode::WrappedInNamedKey,
                "wrapped {\"AIGC\":{...}} inside a carrier that already names the key AIGC; the guides write the bare object",
            ));
        }
    } else if carrier == CarrierKind::Unnamed {
        problems.push(Problem::new(
            profile,
            ProblemCode::BareInUnnamedCarrier,
            "bare object in a carrier with no key name; Annex E b) prints {\"AIGC\": {...}}",
        ));
    }

    problems.extend(check_entries(&inner, profile));
    let label = label_from_entries(&inner);
    if let Some(l) = &label {
        problems.extend(l.validate(profile));
    }
    ParsedLabel {
        fields: inner,
        label,
        problems,
    }
}

fn entries_of(text: &str) -> serde_json::Result<Vec<(String, Value)>> {
    serde_json::from_str::<Entries>(text).map(|Entries(e)| e)
}

const LEGACY_KEYS: [&str; 4] = ["ServiceProvider", "ServiceUser", "Time", "ContentId"];

fn check_entries(entries: &[(String, Value)], profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in entries {
        if seen.contains(&k.as_str()) {
            problems.push(Problem::new(
                profile,
                ProblemCode::DuplicateKey,
                format!("key {k:?} appears more than once"),
            ));
        }
        seen.push(k);
        if !FIELD_NAMES.contains(&k.as_str()) {
            if LEGACY_KEYS.contains(&k.as_str()) {
                continue;
            }
            problems.push(Problem::new(
                profile,
                ProblemCode::UnknownField,
                format!("key {k:?} is not an Annex E element"),
            ));
        } else if !v.is_string() {
            problems.push(Problem::new(
                profile,
                ProblemCode::NonStringValue,
                format!(
                    "{k} is {v} (a JSON {}), Annex E requires a string",
                    json_type(v)
                ),
            ));
        }
    }
    if entries
        .iter()
        .any(|(k, _)| LEGACY_KEYS.contains(&k.as_str()))
    {
        problems.push(Problem::new(
            profile,
            ProblemCode::LegacySchema,
            "pre-standard schema (ServiceProvider/ServiceUser/Time/ContentId), not the Annex E elements",
        ));
    }
    for key in FIELD_NAMES {
        if !entries.iter().any(|(k, _)| k == key) {
            let code = if key.starts_with("Reserved") {
                ProblemCode::MissingReservedField
            } else {
                ProblemCode::MissingField
            };
            problems.push(Problem::new(profile, code, format!("{key} is missing")));
        }
    }
    problems
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A label from the entries when every mandatory key is present. Non-string values are kept as
/// their JSON text so that comparisons and reports still show them; missing reserved fields
/// become "".
fn label_from_entries(entries: &[(String, Value)]) -> Option<Label> {
    let mut label = Label::default();
    let mut found = [false; 7];
    for (k, v) in entries {
        if let Some(i) = FIELD_NAMES.iter().position(|f| f == k) {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            *label.field_mut(k).expect("known key") = text;
            found[i] = true;
        }
    }
    let mandatory = [0usize, 1, 2, 4, 5];
    mandatory.iter().all(|i| found[*i]).then_some(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j() -> Label {
        Label {
            label: "1".into(),
            content_producer: "001191110102MACQD9K64010000".into(),
            produce_id: "0123456789abcdef0123456789abcdef".into(),
            reserved_code1: String::new(),
            content_propagator: "001191110102MACQD9K64010000".into(),
            propagate_id: "0123456789abcdef0123456789abcdef".into(),
            reserved_code2: String::new(),
        }
    }

    fn codes(p: &ParsedLabel) -> Vec<&'static str> {
        p.problems.iter().map(|p| p.code.as_str()).collect()
    }

    #[test]
    fn canonical_form_matches_annex_e_b_layout() {
        // Annex E b) key order, compact, strings only (checked against digest §3.2 / §8 `J`).
        assert_eq!(
            j().to_bare_json(),
            r#"{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"0123456789abcdef0123456789abcdef","ReservedCode1":"","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"0123456789abcdef0123456789abcdef","ReservedCode2":""}"#
        );
        assert!(j()
            .to_wrapped_json()
            .starts_with(r#"{"AIGC":{"Label":"1","#));
    }

    #[test]
    fn bare_and_wrapped_parse_to_the_same_label() {
        let p = Profile::builtin();
        let bare = parse_label_text(&j().to_bare_json(), CarrierKind::NamedKey, &p);
        assert!(bare.is_valid(), "{:?}", bare.problems);
        assert!(bare.problems.is_empty());
        let wrapped = parse_label_text(&j().to_wrapped_json(), CarrierKind::NamedKey, &p);
        assert_eq!(wrapped.label, bare.label);
        assert_eq!(codes(&wrapped), ["wrapped-in-named-key"]);
        let in_exif = parse_label_text(&j().to_wrapped_json(), CarrierKind::Unnamed, &p);
        assert!(in_exif.problems.is_empty());
    }

    #[test]
    fn whitespace_order_and_padding_are_tolerated() {
        let p = Profile::builtin();
        let text = "{ \"PropagateID\": \"x\", \"Label\" : \"2\",\n \"ContentProducer\":\"doubao\", \"ProduceID\":\"a\", \"ContentPropagator\":\"b\", \"ReservedCode1\":\"\", \"ReservedCode2\":\"\" }\0\0";
        let parsed = parse_label_text(text, CarrierKind::NamedKey, &p);
        assert_eq!(parsed.label.as_ref().unwrap().label, "2");
        assert_eq!(
            codes(&parsed),
            ["trailing-padding", "provider-name", "provider-name"]
        );
        assert!(parsed.is_valid());
    }

    #[test]
    fn annex_e_violations_are_errors() {
        let p = Profile::builtin();
        let number = parse_label_text(
            &j().to_bare_json().replace("\"Label\":\"1\"", "\"Label\":1"),
            CarrierKind::NamedKey,
            &p,
        );
        assert!(codes(&number).contains(&"non-string-value"));
        assert!(!number.is_valid());
        for bad in ["0", "4", "AIGC", ""] {
            let t = j()
                .to_bare_json()
                .replace("\"Label\":\"1\"", &format!("\"Label\":\"{bad}\""));
            let parsed = parse_label_text(&t, CarrierKind::NamedKey, &p);
            assert_eq!(codes(&parsed), ["label-value"], "{bad}");
        }
        let dup = parse_label_text(
            &j().to_bare_json()
                .replace("{\"Label\":\"1\",", "{\"Label\":\"1\",\"Label\":\"2\","),
            CarrierKind::NamedKey,
            &p,
        );
        assert!(codes(&dup).contains(&"duplicate-key"));
        let missing = parse_label_text(
            r#"{"Label":"1","ContentProducer":"x"}"#,
            CarrierKind::NamedKey,
            &p,
        );
        assert!(missing.label.is_none());
        assert_eq!(
            codes(&missing)
                .iter()
                .filter(|c| **c == "missing-field")
                .count(),
            3
        );
        assert_eq!(
            codes(&parse_label_text(
                "{'Label':'1'}",
                CarrierKind::NamedKey,
                &p
            )),
            ["not-json"]
        );
        assert_eq!(
            codes(&parse_label_text("[1]", CarrierKind::NamedKey, &p)),
            ["not-object"]
        );
    }

    #[test]
    fn charset_is_a_warning() {
        let p = Profile::builtin();
        let mut l = j();
        l.content_producer = "豆包".into();
        let parsed = parse_label_text(&l.to_bare_json(), CarrierKind::NamedKey, &p);
        assert!(codes(&parsed).contains(&"charset"));
        assert!(parsed.is_valid());
        assert!(
            annex_e_j_char('/')
                && annex_e_j_char('_')
                && !annex_e_j_char(' ')
                && !annex_e_j_char('\\')
        );
    }

    #[test]
    fn legacy_tencent_schema_is_recognised_not_accepted() {
        let p = Profile::builtin();
        let parsed = parse_label_text(
            r#"{"AIGC":{"ServiceProvider":"x","ServiceUser":"y","Time":"1","ContentId":"z"}}"#,
            CarrierKind::Unnamed,
            &p,
        );
        assert!(codes(&parsed).contains(&"legacy-schema"));
        assert!(!parsed.is_valid());
    }
}
