//! The vector families of an official run: for each carrier of the digest's table (§3.8) that
//! the suite crafts, the label families that a lookup table could otherwise memorise, each with
//! the expectation that follows from its parameters, the digest and the profile's severities.
//!
//! The expected verdict is decided here, before the file exists: a family lists the problem
//! codes its construction introduces (e.g. `missing-field`), and the profile says which of them
//! are errors. Nothing is read back with the reference.

use serde_json::{Map, Value};

use super::carriers::{self, XmpForm, TC260_NS};
use super::code;
use super::rng::Rng;
use crate::vector::{Expect, ExpectStatus, VectorClass, Verdict};
use aigc_label::Profile;

/// Where the label goes (one entry per crafted carrier of digest §3.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// PNG iTXt `XML:com.adobe.xmp`, element form.
    PngXmp,
    /// PNG iTXt `XML:com.adobe.xmp`, attribute form.
    PngXmpAttribute,
    /// PNG `tEXt` keyword `AIGC` (image guide Annex B).
    PngText,
    /// PNG `zTXt` keyword `AIGC`.
    PngZtxt,
    /// PNG `iTXt` keyword `AIGC`.
    PngItxt,
    /// JPEG APP1 XMP.
    JpegXmp,
    /// JPEG Exif UserComment (no key name: wrapped form).
    JpegExif,
    /// WAV top-level `AIGC` chunk.
    WavChunk,
    /// WAV `LIST`/`INFO`/`AIGC` (tool variant).
    WavListInfo,
    /// MP3 ID3v2 `TXXX` description `AIGC`.
    Mp3Txxx,
    /// PDF Info dictionary `/AIGC`.
    PdfInfo,
    /// Markdown YAML front matter `AIGC:`.
    Markdown,
}

/// Every crafted carrier.
pub const CARRIERS: [Carrier; 12] = [
    Carrier::PngXmp,
    Carrier::PngXmpAttribute,
    Carrier::PngText,
    Carrier::PngZtxt,
    Carrier::PngItxt,
    Carrier::JpegXmp,
    Carrier::JpegExif,
    Carrier::WavChunk,
    Carrier::WavListInfo,
    Carrier::Mp3Txxx,
    Carrier::PdfInfo,
    Carrier::Markdown,
];

impl Carrier {
    /// Template name.
    pub fn name(self) -> &'static str {
        match self {
            Carrier::PngXmp => "png-xmp",
            Carrier::PngXmpAttribute => "png-xmp-attribute",
            Carrier::PngText => "png-text",
            Carrier::PngZtxt => "png-ztxt",
            Carrier::PngItxt => "png-itxt",
            Carrier::JpegXmp => "jpeg-xmp",
            Carrier::JpegExif => "jpeg-exif-usercomment",
            Carrier::WavChunk => "wav-aigc-chunk",
            Carrier::WavListInfo => "wav-list-info",
            Carrier::Mp3Txxx => "mp3-id3-txxx",
            Carrier::PdfInfo => "pdf-info",
            Carrier::Markdown => "markdown-front-matter",
        }
    }

    /// Media type sent in the request.
    pub fn media(self) -> &'static str {
        match self {
            Carrier::PngXmp
            | Carrier::PngXmpAttribute
            | Carrier::PngText
            | Carrier::PngZtxt
            | Carrier::PngItxt => "image/png",
            Carrier::JpegXmp | Carrier::JpegExif => "image/jpeg",
            Carrier::WavChunk | Carrier::WavListInfo => "audio/wav",
            Carrier::Mp3Txxx => "audio/mpeg",
            Carrier::PdfInfo => "application/pdf",
            Carrier::Markdown => "text/markdown",
        }
    }

    /// File extension of the instance.
    pub fn extension(self) -> &'static str {
        match self.media() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "audio/wav" => "wav",
            "audio/mpeg" => "mp3",
            "application/pdf" => "pdf",
            _ => "md",
        }
    }

    /// The practice-guide carrier requirement of the modality.
    fn carrier_requirement(self) -> &'static str {
        match self.media() {
            "image/png" | "image/jpeg" => "PG-20259A-carrier",
            "audio/wav" | "audio/mpeg" => "PG-202510A-carrier",
            _ => "PG-20258A-carrier",
        }
    }

    /// Whether the carrier names the key itself (then the guides write the bare object).
    fn names_the_key(self) -> bool {
        self != Carrier::JpegExif
    }

    /// Whether the label sits in an XMP packet with the TC260 namespace.
    fn is_xmp(self) -> bool {
        matches!(
            self,
            Carrier::PngXmp | Carrier::PngXmpAttribute | Carrier::JpegXmp
        )
    }

    /// The carriers the digest lists as alternatives or tool variants (a warning at most).
    fn is_alternative(self) -> bool {
        matches!(
            self,
            Carrier::PngText
                | Carrier::PngZtxt
                | Carrier::PngItxt
                | Carrier::JpegExif
                | Carrier::WavListInfo
        )
    }

    /// A second carrier of the same format, for the two-label families.
    fn second(self) -> Option<Carrier> {
        match self {
            Carrier::PngXmp => Some(Carrier::PngText),
            Carrier::JpegXmp => Some(Carrier::JpegExif),
            Carrier::WavChunk => Some(Carrier::WavListInfo),
            _ => None,
        }
    }

    /// The first carrier of its format (plain files are made once per format).
    fn first_of_format(self) -> bool {
        matches!(
            self,
            Carrier::PngXmp
                | Carrier::JpegXmp
                | Carrier::WavChunk
                | Carrier::Mp3Txxx
                | Carrier::PdfInfo
                | Carrier::Markdown
        )
    }
}

/// A label family: what is varied, and what it makes of the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A well-formed label (random Label 1/2/3, codes, IDs, order, spacing, wrapping).
    Valid,
    /// `Label` outside 1/2/3.
    LabelOutOfEnum,
    /// One of the five required keys absent.
    MissingField,
    /// One or both ReservedCode keys absent.
    MissingReserved,
    /// A required element as a JSON/YAML number instead of a string.
    WrongType,
    /// A 27-character producer code whose USCC check character is wrong.
    BadCheckCode,
    /// An eighth key.
    ExtraField,
    /// The TC260 prefix bound to another namespace URI.
    WrongNamespace,
    /// The label JSON under a key that does not contain AIGC.
    OtherKey,
    /// Two carriers, two different labels.
    ConflictingLabels,
    /// Two carriers, the same label.
    IdenticalCopies,
    /// No label at all.
    Unlabeled,
}

impl Family {
    /// Template name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Valid => "valid",
            Family::LabelOutOfEnum => "label-out-of-enum",
            Family::MissingField => "missing-field",
            Family::MissingReserved => "missing-reserved",
            Family::WrongType => "wrong-type",
            Family::BadCheckCode => "bad-check-code",
            Family::ExtraField => "extra-field",
            Family::WrongNamespace => "wrong-namespace",
            Family::OtherKey => "other-key",
            Family::ConflictingLabels => "conflicting-labels",
            Family::IdenticalCopies => "identical-copies",
            Family::Unlabeled => "unlabeled",
        }
    }

    fn class(self) -> VectorClass {
        match self {
            Family::Valid | Family::Unlabeled => VectorClass::Positive,
            Family::MissingReserved
            | Family::BadCheckCode
            | Family::ExtraField
            | Family::IdenticalCopies => VectorClass::Boundary,
            _ => VectorClass::Negative,
        }
    }

    /// The families instantiated for `carrier` (with how many instances each).
    pub fn for_carrier(carrier: Carrier) -> Vec<(Family, usize)> {
        let mut f = vec![
            (Family::Valid, 2),
            (Family::LabelOutOfEnum, 1),
            (Family::MissingField, 1),
            (Family::MissingReserved, 1),
            (Family::WrongType, 1),
            (Family::BadCheckCode, 1),
            (Family::ExtraField, 1),
        ];
        if carrier.is_xmp() {
            f.push((Family::WrongNamespace, 1));
            f.push((Family::OtherKey, 1));
        }
        if carrier == Carrier::PngText {
            f.push((Family::OtherKey, 1));
        }
        if carrier.second().is_some() {
            f.push((Family::ConflictingLabels, 1));
            f.push((Family::IdenticalCopies, 1));
        }
        if carrier.first_of_format() {
            f.push((Family::Unlabeled, 1));
        }
        f
    }
}

/// The seven Annex E keys in the printed order, with the element letter of each.
const KEYS: [(&str, &str); 7] = [
    ("Label", "E-c"),
    ("ContentProducer", "E-d"),
    ("ProduceID", "E-e"),
    ("ReservedCode1", "E-f"),
    ("ContentPropagator", "E-g"),
    ("PropagateID", "E-h"),
    ("ReservedCode2", "E-i"),
];

/// Keys whose absence is `missing-field` (profile), the rest are the reserved ones.
const REQUIRED: [&str; 5] = [
    "Label",
    "ContentProducer",
    "ProduceID",
    "ContentPropagator",
    "PropagateID",
];

/// Characters of fresh IDs: inside Annex E j)'s repertoire and safe in every carrier's syntax.
const ID_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.";

/// A random content ID (hex most of the time, as generators write; sometimes wider).
fn random_id(rng: &mut Rng) -> String {
    if rng.coin() {
        let n = *rng.pick(&[16usize, 32, 40, 64]);
        rng.string(b"0123456789abcdef", n)
    } else {
        let n = rng.range(8, 48);
        // First character a letter or digit, so that no value starts with a YAML indicator.
        let first = rng.string(&ID_CHARS[..62], 1);
        first + &rng.string(ID_CHARS, n - 1)
    }
}

/// A label being built: the key/value pairs in the order they will be written.
pub type Fields = Vec<(String, Value)>;

/// A fresh well-formed label.
pub(crate) fn valid_fields(rng: &mut Rng) -> Fields {
    let label = rng.pick(&["1", "2", "3"]).to_string();
    let producer = if rng.below(6) == 0 {
        // Annex E d): a name is allowed instead of the code.
        rng.pick(&["MiniMax", "doubao", "picwish", "Kling", "ExampleAI"])
            .to_string()
    } else {
        code::random_code(rng, b'1')
    };
    let produce_id = random_id(rng);
    // Annex E note 1: at first write the propagation elements repeat the production ones.
    let first_write = rng.coin();
    let propagator = if first_write {
        producer.clone()
    } else {
        code::random_code(rng, b'2')
    };
    let propagate_id = if first_write {
        produce_id.clone()
    } else {
        random_id(rng)
    };
    let values = [
        label,
        producer,
        produce_id,
        String::new(),
        propagator,
        propagate_id,
        String::new(),
    ];
    KEYS.iter()
        .zip(values)
        .map(|((k, _), v)| (k.to_string(), Value::String(v)))
        .collect()
}

/// How a JSON label is spelt.
fn json_text(rng: &mut Rng, fields: &Fields, wrapped: bool) -> String {
    let style = rng.below(3);
    let (open, sep, colon, close, indent) = match style {
        0 => ("{", ",", ":", "}", ""),
        1 => ("{", ", ", ": ", "}", ""),
        _ => ("{\n", ",\n", ": ", "\n}", "  "),
    };
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{indent}{}{colon}{v}", Value::String(k.clone())))
        .collect();
    let inner = format!("{open}{}{close}", body.join(sep));
    if wrapped {
        format!("{{\"AIGC\": {inner}}}")
    } else {
        inner
    }
}

/// YAML scalar for a front-matter value: quoted unless a plain scalar is safely a string;
/// numbers (the wrong-type family) stay plain, so YAML reads them as numbers.
fn yaml_scalar(rng: &mut Rng, v: &Value) -> String {
    match v {
        Value::String(s) => {
            let plain_safe = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars().all(|c| c.is_ascii_alphanumeric())
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
                );
            match rng.below(3) {
                0 if plain_safe => s.clone(),
                1 => format!("\"{s}\""),
                _ => format!("'{s}'"),
            }
        }
        other => other.to_string(),
    }
}

/// The front matter (between the fences) with an `AIGC:` mapping, and maybe a title.
fn front_matter(rng: &mut Rng, fields: &Fields, key: &str) -> String {
    let indent = " ".repeat(*rng.pick(&[2usize, 4]));
    let mut out = String::new();
    let title_first = rng.coin();
    if title_first {
        out.push_str("title: 'Report'\n");
    }
    out.push_str(&format!("{key}:\n"));
    for (k, v) in fields {
        out.push_str(&format!("{indent}{k}: {}\n", yaml_scalar(rng, v)));
    }
    if !title_first && rng.coin() {
        out.push_str("lang: zh-CN\n");
    }
    out
}

/// One planned instance: the file bytes and what must be read from them.
pub struct Planned {
    /// File content.
    pub bytes: Vec<u8>,
    /// Requirements.
    pub requirements: Vec<String>,
    /// Kind of case.
    pub class: VectorClass,
    /// What it is, for people (in the report, never in the request).
    pub description: String,
    /// Expectations.
    pub expect: Expect,
}

/// What the profile makes of a problem code: `Ok(true)` for an error.
fn is_error(profile: &Profile, code: &str) -> Result<bool, String> {
    profile
        .document()
        .get("severities")
        .and_then(|s| s.get(code))
        .and_then(|c| c.get("severity"))
        .and_then(Value::as_str)
        .map(|s| s == "error")
        .ok_or_else(|| format!("the profile has no severity for problem code {code}"))
}

/// The label encoded for `carrier` (the text, or for Markdown the front matter).
fn encode(rng: &mut Rng, carrier: Carrier, fields: &Fields, codes: &mut Vec<&str>) -> String {
    if carrier == Carrier::Markdown {
        return front_matter(rng, fields, "AIGC");
    }
    let wrapped = rng.below(4) == 0;
    if carrier.names_the_key() && wrapped {
        codes.push("wrapped-in-named-key");
    }
    let wrapped = if carrier.names_the_key() {
        wrapped
    } else {
        // Unnamed carrier: wrapped as the image guide's Annex B, bare one time in four.
        let bare = rng.below(4) == 0;
        if bare {
            codes.push("bare-in-unnamed-carrier");
        }
        !bare
    };
    json_text(rng, fields, wrapped)
}

/// The carrier's bytes (chunk, segment or whole file part) for one label text.
enum Part {
    Png(Vec<u8>),
    Jpeg(Vec<u8>),
    Wav(Vec<u8>),
}

fn carrier_part(
    rng: &mut Rng,
    carrier: Carrier,
    text: &str,
    namespace: &str,
    form: XmpForm,
) -> Option<Part> {
    Some(match carrier {
        Carrier::PngXmp | Carrier::PngXmpAttribute => {
            let form = if carrier == Carrier::PngXmpAttribute && form == XmpForm::Element {
                XmpForm::Attribute
            } else {
                form
            };
            Part::Png(carriers::png_itxt(
                "XML:com.adobe.xmp",
                &carriers::xmp_packet(rng, text, namespace, form),
            ))
        }
        Carrier::PngText => Part::Png(carriers::png_text("AIGC", text)),
        Carrier::PngZtxt => Part::Png(carriers::png_ztxt("AIGC", text)),
        Carrier::PngItxt => Part::Png(carriers::png_itxt("AIGC", text)),
        Carrier::JpegXmp => Part::Jpeg(carriers::jpeg_xmp(&carriers::xmp_packet(
            rng, text, namespace, form,
        ))),
        Carrier::JpegExif => Part::Jpeg(carriers::jpeg_exif_user_comment(text, rng.coin())),
        Carrier::WavChunk => Part::Wav(carriers::riff_chunk(b"AIGC", text.as_bytes())),
        Carrier::WavListInfo => Part::Wav(carriers::wav_list_info(text)),
        _ => return None,
    })
}

/// Assemble a file from label texts (already encoded) for `carriers`.
fn assemble(
    rng: &mut Rng,
    carrier: Carrier,
    texts: &[(Carrier, String)],
    namespace: &str,
    form: XmpForm,
    other_key: bool,
) -> Vec<u8> {
    match carrier {
        Carrier::Mp3Txxx => {
            let key = if other_key { "comment" } else { "AIGC" };
            let frames: Vec<(&str, &str)> = texts.iter().map(|(_, t)| (key, t.as_str())).collect();
            carriers::mp3(rng, &frames)
        }
        Carrier::PdfInfo => {
            let mut entries: Vec<(&str, &str)> =
                texts.iter().map(|(_, t)| ("AIGC", t.as_str())).collect();
            if rng.coin() {
                entries.push(("Producer", "aigc-conform official generator"));
            }
            rng.shuffle(&mut entries);
            carriers::pdf(rng, &entries)
        }
        Carrier::Markdown => {
            let fm = texts.first().map(|(_, t)| t.as_str());
            carriers::markdown(rng, fm)
        }
        _ => {
            let mut parts = Vec::new();
            for (c, text) in texts {
                if other_key && *c == Carrier::PngText {
                    // A tEXt keyword without AIGC (E a): not a label.
                    parts.push(Part::Png(carriers::png_text("Comment", text)));
                } else if let Some(p) = carrier_part(rng, *c, text, namespace, form) {
                    parts.push(p);
                }
            }
            let bytes: Vec<Vec<u8>> = parts
                .into_iter()
                .map(|p| match p {
                    Part::Png(b) | Part::Jpeg(b) | Part::Wav(b) => b,
                })
                .collect();
            match carrier.media() {
                "image/png" => carriers::png(rng, &bytes),
                "image/jpeg" => carriers::jpeg(rng, &bytes),
                _ => carriers::wav(rng, &bytes),
            }
        }
    }
}

/// Plan one instance of `family` in `carrier`.
pub fn plan(
    rng: &mut Rng,
    carrier: Carrier,
    family: Family,
    profile: &Profile,
) -> Result<Planned, String> {
    let mut fields = valid_fields(rng);
    let mut codes: Vec<&str> = Vec::new();
    let mut requirements: Vec<String> = Vec::new();
    let mut what = String::new();
    let mut namespace = TC260_NS.to_string();
    let mut form = XmpForm::Element;
    if carrier.is_alternative() {
        codes.push("nonstandard-carrier");
    }
    match family {
        Family::Unlabeled => requirements.push("GB-6.1-a".into()),
        Family::Valid => {
            requirements.extend(
                [
                    "GB-6.1-b",
                    "E-b",
                    "E-d",
                    "E-e",
                    "E-g",
                    "E-h",
                    "PG-20252A-code",
                ]
                .map(String::from),
            );
        }
        Family::LabelOutOfEnum => {
            let v = rng
                .pick(&["0", "4", "5", "9", "AIGC", "true", "yes", "11"])
                .to_string();
            what = format!("Label {v:?}");
            fields[0].1 = Value::String(v);
            codes.push("label-value");
            requirements.push("E-c".into());
        }
        Family::MissingField => {
            let key = *rng.pick(&REQUIRED);
            what = format!("{key} absent");
            fields.retain(|(k, _)| k != key);
            codes.push("missing-field");
            requirements.extend(["E-b".to_string(), element(key).into()]);
        }
        Family::MissingReserved => {
            let which = rng.below(3);
            fields.retain(|(k, _)| match which {
                0 => k != "ReservedCode1",
                1 => k != "ReservedCode2",
                _ => !k.starts_with("ReservedCode"),
            });
            what = "a ReservedCode key absent".into();
            codes.push("missing-reserved-field");
            requirements.extend(["E-f", "E-i"].map(String::from));
        }
        Family::WrongType => {
            let i = rng.below(fields.len());
            let key = fields[i].0.clone();
            let i = if key.starts_with("ReservedCode") {
                0
            } else {
                i
            };
            let key = fields[i].0.clone();
            let n = if key == "Label" {
                rng.range(1, 3) as u64
            } else {
                rng.next_u64() % 1_000_000_000 + 1
            };
            fields[i].1 = Value::from(n);
            what = format!("{key} as the number {n}");
            codes.push("non-string-value");
            requirements.push(element(&key).into());
        }
        Family::BadCheckCode => {
            let bad = code::bad_check_code(rng, b'1');
            fields[1].1 = Value::String(bad.clone());
            if rng.coin() {
                fields[4].1 = Value::String(bad);
            }
            what = "a producer code whose USCC check character is wrong".into();
            codes.push("provider-code-invalid");
            requirements.push("PG-20252A-code".into());
        }
        Family::ExtraField => {
            let key = rng
                .pick(&["Model", "Version", "Tool", "Region"])
                .to_string();
            let value = random_id(rng);
            let at = rng.below(fields.len() + 1);
            fields.insert(at, (key.clone(), Value::String(value)));
            what = format!("an eighth key {key}");
            codes.push("unknown-field");
            requirements.push("E-b".into());
        }
        Family::WrongNamespace => {
            namespace = rng
                .pick(&[
                    "http://ns.adobe.com/xap/1.0/tc/",
                    "http://www.tc260.org.cn/ns/AIGC/2.0/",
                    "http://example.com/ns/AIGC/1.0/",
                    "http://www.tc260.org.cn/ns/aigc/",
                ])
                .to_string();
            what = format!("TC260 bound to {namespace}");
            codes.push("xmp-wrong-namespace");
            requirements.push(carrier.carrier_requirement().into());
        }
        Family::OtherKey => {
            form = XmpForm::OtherProperty;
            what = "the label JSON under a key without AIGC".into();
            requirements.push("E-a".into());
        }
        Family::ConflictingLabels | Family::IdenticalCopies => {
            requirements.extend(["GB-6.1-c".to_string(), carrier.carrier_requirement().into()]);
        }
    }
    if !requirements
        .iter()
        .any(|r| r == carrier.carrier_requirement())
    {
        requirements.push(carrier.carrier_requirement().into());
    }
    // Random field order (JSON object order is not semantic, digest 3.2), one time in two.
    if rng.coin() {
        rng.shuffle(&mut fields);
    }
    let mut texts = vec![(carrier, encode(rng, carrier, &fields, &mut codes))];
    let mut expected_labels = vec![fields.clone()];
    if let (Family::ConflictingLabels | Family::IdenticalCopies, Some(second)) =
        (family, carrier.second())
    {
        let other = if family == Family::ConflictingLabels {
            let mut o = valid_fields(rng);
            // Different in at least the ProduceID (fresh) and maybe the Label.
            o[2].1 = Value::String(random_id(rng));
            o
        } else {
            fields.clone()
        };
        texts.push((second, encode(rng, second, &other, &mut codes)));
        expected_labels.push(other);
        codes.push(if family == Family::ConflictingLabels {
            "conflicting-labels"
        } else {
            "duplicate-label"
        });
        what = format!("labels in {} and {}", carrier.name(), second.name());
    }
    let bytes = if family == Family::Unlabeled {
        assemble(rng, carrier, &[], TC260_NS, form, false)
    } else {
        assemble(
            rng,
            carrier,
            &texts,
            &namespace,
            form,
            family == Family::OtherKey,
        )
    };
    let verdict = match family {
        Family::Unlabeled | Family::OtherKey => Verdict::Unlabeled,
        Family::ConflictingLabels => Verdict::Conflict,
        Family::IdenticalCopies => {
            let dup = profile
                .document()
                .get("implicit")
                .and_then(|i| i.get("identical_copies_are_duplicate"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !dup {
                return Err("profile implicit.identical_copies_are_duplicate is not true: the identical-copies family has no expectation".into());
            }
            verdict_of(profile, &codes)?
        }
        _ => verdict_of(profile, &codes)?,
    };
    let labels = (verdict == Verdict::Valid).then(|| {
        expected_labels
            .iter()
            .map(|f| f.iter().cloned().collect::<Map<String, Value>>())
            .collect()
    });
    let description = format!(
        "official instance of {}/{}{}",
        family.name(),
        carrier.name(),
        if what.is_empty() {
            String::new()
        } else {
            format!(": {what}")
        }
    );
    Ok(Planned {
        bytes,
        requirements,
        class: family.class(),
        description,
        expect: Expect {
            status: Some(ExpectStatus::Ok),
            verdict: Some(verdict),
            labels,
            // A provider code that breaks PG-20252A leaves the label valid (a name, Annex E d):
            // what shows that a reader checks the code is the problem it reports.
            problems: (verdict == Verdict::Valid && codes.contains(&"provider-code-invalid"))
                .then(|| vec!["provider-code-invalid".to_string()]),
            ..Expect::default()
        },
    })
}

/// `invalid` if a code the template introduced is an error in the profile, else `valid`.
fn verdict_of(profile: &Profile, codes: &[&str]) -> Result<Verdict, String> {
    for c in codes {
        if is_error(profile, c)? {
            return Ok(Verdict::Invalid);
        }
    }
    Ok(Verdict::Valid)
}

/// The Annex E element requirement of a key.
fn element(key: &str) -> &'static str {
    KEYS.iter()
        .find(|(k, _)| *k == key)
        .map_or("E-b", |(_, e)| e)
}
