//! Security data in the reserved fields (TC260-PG-202511A): read, verify and write the
//! `SecurityData` object that a producer puts in `ReservedCode1` and a propagator in
//! `ReservedCode2` (digest §3.9).
//!
//! The reserved field holds a JSON *string* whose content is
//! `{"SecurityData":{"Type":"TC260PG","Version":1,"PubSD":[...]}}`. `PubSD` entries are public
//! keys (`"Type":"PubKey"`, `KeyValue` hex) and digital signatures (`"Type":"DS"`, `AlgID`
//! `1.2.156.10197.1.501` = SM3withSM2, `Signature` hex, `TBSData.Type` `"Md"`). The label
//! signature (guide Annex A.1) covers the UTF-8 bytes of the role's fields written as JSON members
//! joined by commas, without braces: `"Label":"1","ContentProducer":"…","ProduceID":"…"`.
//!
//! Everything that real files vary is tolerated: keys uncompressed, compressed, a bare x
//! coordinate (MiniMax pads it with `00`) or a SubjectPublicKeyInfo; signatures DER or raw
//! r‖s; MiniMax's `LabelMataData` for `Md`; Honor's `PubSd` spelling. RSA blocks (Honor) and
//! unknown algorithms are `unsupported`, never `failed`: a reader that cannot check a signature
//! must not call it broken. Which fields are signed, the user id and the accepted spellings
//! are profile values (`security:` in `vectors/profile.yaml`), not constants here.
//!
//! A key carried inside the file proves integrity only: anyone can re-sign a changed label with
//! a key of their own. `pinned` says whether the key is one the profile knows for a producer.
//!
//! Hostile input: the text is bounded (`max_text_bytes`), the number of entries is bounded
//! (`max_entries`, each one a curve operation), hex and DER lengths are bounded before decoding,
//! and nothing here panics on any input.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey};

use crate::label::Label;
use crate::profile::Profile;

/// Why security data could not be parsed, checked or written (a key, a signature, the
/// profile's `security:` section). It carries the message shown to the user; verification
/// results that are not errors are [`Status`] values in the reports instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityError(String);

impl SecurityError {
    /// The message, as [`std::fmt::Display`] prints it.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SecurityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SecurityError {}

/// Serialised as its message (reports and protocol answers carry errors as text).
impl Serialize for SecurityError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl From<String> for SecurityError {
    fn from(what: String) -> Self {
        SecurityError(what)
    }
}

impl From<&str> for SecurityError {
    fn from(what: &str) -> Self {
        SecurityError(what.to_string())
    }
}

/// For the CLI and callers that report errors as text.
impl From<SecurityError> for String {
    fn from(e: SecurityError) -> String {
        e.0
    }
}

/// OID of SM3withSM2 (GM/T 0006), the only signature algorithm this module verifies.
pub const SM3_WITH_SM2: &str = "1.2.156.10197.1.501";

/// The `SecurityData.Type` the guide gives.
pub const SECURITY_DATA_TYPE: &str = "TC260PG";

/// What a reserved field's security data amounts to. The order is the precedence used when
/// several signatures or both reserved fields are combined: the worst finding wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No SecurityData (empty field, or an opaque vendor string), or SecurityData without a
    /// label signature. Not a problem: the reserved fields are optional (Annex E f, i).
    Absent,
    /// SecurityData whose signatures use an algorithm or a signed-content type this reader does
    /// not verify (RSA/SHA-256 in Honor files, a content binding only, an unknown `Type`).
    Unsupported,
    /// Every label signature verifies with its key.
    Verified,
    /// SecurityData that cannot be read: not JSON, a signature without a usable key, a key not
    /// on the curve, a signature that is not DER or r‖s.
    Malformed,
    /// A label signature does not verify: the signed fields were changed after signing, or the
    /// signature was made with another key.
    Failed,
}

impl Status {
    /// The lower-case name, as printed in `read --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Absent => "absent",
            Status::Unsupported => "unsupported",
            Status::Verified => "verified",
            Status::Malformed => "malformed",
            Status::Failed => "failed",
        }
    }
}

/// Which reserved field, i.e. which role wrote the security data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `ReservedCode1`: the generation service provider (producer).
    Producer,
    /// `ReservedCode2`: the content propagation service provider (propagator).
    Propagator,
}

impl Slot {
    /// The Annex E key of the reserved field.
    pub fn field(self) -> &'static str {
        match self {
            Slot::Producer => "ReservedCode1",
            Slot::Propagator => "ReservedCode2",
        }
    }

    fn text(self, label: &Label) -> &str {
        match self {
            Slot::Producer => &label.reserved_code1,
            Slot::Propagator => &label.reserved_code2,
        }
    }
}

/// The profile's `security:` section.
#[derive(Debug, Clone, Deserialize)]
pub struct SecurityPolicy {
    /// The SM2 user id (distinguishing identifier) that enters Z_A.
    pub user_id: String,
    /// Spellings of `TBSData.Type` that mean "the label message of Annex A.1".
    pub label_tbs_types: Vec<String>,
    /// Spellings of `TBSData.Type` for a signature over a content binding (Annex A.2).
    pub binding_tbs_types: Vec<String>,
    /// Spellings of the `PubSD` member.
    pub pubsd_keys: Vec<String>,
    /// Spellings of the `Bindings` member.
    pub binding_keys: Vec<String>,
    /// The fields whose members make up the signed message, per reserved field.
    pub signed_fields: SignedFields,
    /// Longest reserved-field text parsed as SecurityData, in bytes.
    pub max_text_bytes: usize,
    /// Most `PubSD` entries read (each signature costs a curve operation).
    pub max_entries: usize,
    /// Keys known to belong to a producer: a verified key that matches one is `pinned`.
    #[serde(default)]
    pub known_keys: Vec<KnownKey>,
}

/// Which Annex E fields each role signs.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedFields {
    /// Fields signed in `ReservedCode1`.
    #[serde(rename = "ReservedCode1")]
    pub producer: Vec<String>,
    /// Fields signed in `ReservedCode2`.
    #[serde(rename = "ReservedCode2")]
    pub propagator: Vec<String>,
}

/// A public key known to belong to a producer.
#[derive(Debug, Clone, Deserialize)]
pub struct KnownKey {
    /// Who holds the key (provider code or name).
    pub producer: String,
    /// The key in any form `KeyValue` accepts (hex).
    pub key: String,
}

impl SecurityPolicy {
    /// The policy of a profile.
    pub fn of(profile: &Profile) -> Result<SecurityPolicy, SecurityError> {
        profile
            .section("security")
            .map_err(|e| SecurityError(e.to_string()))
    }

    fn fields(&self, slot: Slot) -> &[String] {
        match slot {
            Slot::Producer => &self.signed_fields.producer,
            Slot::Propagator => &self.signed_fields.propagator,
        }
    }
}

/// The security data of one reserved field, as reported by `read --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotReport {
    /// `ReservedCode1` or `ReservedCode2`.
    pub field: &'static str,
    /// What the security data amounts to.
    pub status: Status,
    /// The public key that verified (or failed), as an uncompressed SEC1 point in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The producer the profile knows this key for, when the key is pinned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_to: Option<String>,
    /// The signed message (the role's fields as JSON members), when a label signature was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
    /// The `TBSData.Type` of the label signature as spelled in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tbs_type: Option<String>,
    /// Content bindings (Annex A.2): `not-checked`, with the reason in `detail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bindings: Option<&'static str>,
    /// Why the status is what it is, for a person.
    pub detail: String,
}

/// The security verdict of one label, as reported by `read --json` (`security` per label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityReport {
    /// The worst status of the two reserved fields.
    pub status: Status,
    /// The key of the deciding field (uncompressed SEC1 hex), when one was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Whether that key is one the profile knows for a producer (`security.known_keys`).
    pub pinned: bool,
    /// The signed message of the deciding field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<String>,
    /// Both reserved fields in detail.
    pub fields: Vec<SlotReport>,
}

impl SecurityReport {
    /// The report of a label that could not be read completely: nothing to check.
    pub fn absent(detail: &str) -> SecurityReport {
        SecurityReport {
            status: Status::Absent,
            key: None,
            pinned: false,
            signed: None,
            fields: [Slot::Producer, Slot::Propagator]
                .into_iter()
                .map(|s| SlotReport::new(s, Status::Absent, detail))
                .collect(),
        }
    }
}

impl SlotReport {
    fn new(slot: Slot, status: Status, detail: impl Into<String>) -> SlotReport {
        SlotReport {
            field: slot.field(),
            status,
            key: None,
            pinned_to: None,
            signed: None,
            tbs_type: None,
            bindings: None,
            detail: detail.into(),
        }
    }
}

/// The message a role signs (guide Annex A.1): the fields as JSON members `"Key":"value"`,
/// joined by commas, no braces, no spaces, in the profile's order.
pub fn signed_message(label: &Label, fields: &[String]) -> String {
    let entries = label.entries();
    fields
        .iter()
        .map(|name| {
            let value = entries
                .iter()
                .find(|(k, _)| *k == name.as_str())
                .map(|(_, v)| *v)
                .unwrap_or("");
            format!("{}:{}", json_string(name), json_string(value))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// Check both reserved fields of a label. A profile without a valid `security:` section makes
/// every field `unsupported` (the reader cannot tell what was signed).
pub fn check_label(label: &Label, profile: &Profile) -> SecurityReport {
    let policy = match SecurityPolicy::of(profile) {
        Ok(p) => p,
        Err(e) => {
            let mut r = SecurityReport::absent(e.message());
            for f in &mut r.fields {
                f.status = Status::Unsupported;
            }
            r.status = Status::Unsupported;
            return r;
        }
    };
    let fields: Vec<SlotReport> = [Slot::Producer, Slot::Propagator]
        .into_iter()
        .map(|slot| check_slot(label, slot, &policy))
        .collect();
    let deciding = fields
        .iter()
        .max_by_key(|f| f.status)
        .cloned()
        .expect("two fields");
    SecurityReport {
        status: deciding.status,
        key: deciding.key.clone(),
        pinned: deciding.pinned_to.is_some(),
        signed: deciding.signed.clone(),
        fields,
    }
}

/// Check one reserved field of a label.
pub fn check_slot(label: &Label, slot: Slot, policy: &SecurityPolicy) -> SlotReport {
    let text = slot.text(label).trim();
    let report = |status, detail: String| SlotReport::new(slot, status, detail);
    if text.is_empty() {
        return report(Status::Absent, format!("{} is empty", slot.field()));
    }
    if text.len() > policy.max_text_bytes {
        return if text.contains("SecurityData") {
            report(
                Status::Malformed,
                format!(
                    "{} holds {} bytes, more than the {} read as SecurityData (profile security.max_text_bytes)",
                    slot.field(),
                    text.len(),
                    policy.max_text_bytes
                ),
            )
        } else {
            report(
                Status::Absent,
                format!("{} holds an opaque value, not SecurityData", slot.field()),
            )
        };
    }
    let parsed: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) if text.contains("SecurityData") => {
            return report(
                Status::Malformed,
                format!(
                    "{} mentions SecurityData but is not JSON: {e}",
                    slot.field()
                ),
            )
        }
        Err(_) => {
            return report(
                Status::Absent,
                format!("{} holds an opaque value, not SecurityData", slot.field()),
            )
        }
    };
    let Some(sd) = parsed.as_object().and_then(|o| o.get("SecurityData")) else {
        return report(
            Status::Absent,
            format!(
                "{} is JSON without a SecurityData member (an opaque vendor value)",
                slot.field()
            ),
        );
    };
    let Some(sd) = sd.as_object() else {
        return report(
            Status::Malformed,
            "SecurityData is not a JSON object".into(),
        );
    };
    let Some(sd_type) = sd.get("Type").and_then(Value::as_str) else {
        return report(
            Status::Malformed,
            "SecurityData has no Type string (mandatory in PG-202511A)".into(),
        );
    };
    if !sd.contains_key("Version") {
        return report(
            Status::Malformed,
            "SecurityData has no Version (mandatory in PG-202511A)".into(),
        );
    }
    let bindings = policy
        .binding_keys
        .iter()
        .any(|k| sd.contains_key(k.as_str()));
    let binding_note = |mut r: SlotReport| {
        if bindings {
            r.bindings = Some("not-checked");
            r.detail.push_str(
                "; content bindings (Annex A.2) not checked: the content selection (CntSel) is not defined for this carrier",
            );
        }
        r
    };
    if sd_type != SECURITY_DATA_TYPE {
        return binding_note(report(
            Status::Unsupported,
            format!("SecurityData Type {sd_type:?} is not {SECURITY_DATA_TYPE:?}"),
        ));
    }
    let entries = policy
        .pubsd_keys
        .iter()
        .find_map(|k| sd.get(k.as_str()).map(|v| (k, v)));
    let Some((pubsd_key, entries)) = entries else {
        return binding_note(report(
            Status::Absent,
            "SecurityData without PubSD: no signature to check".into(),
        ));
    };
    let Some(entries) = entries.as_array() else {
        return report(
            Status::Malformed,
            format!("{pubsd_key} is not a JSON array"),
        );
    };
    if entries.len() > policy.max_entries {
        return report(
            Status::Malformed,
            format!(
                "{pubsd_key} has {} entries, more than {} (profile security.max_entries)",
                entries.len(),
                policy.max_entries
            ),
        );
    }
    let mut objects = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        match e.as_object() {
            Some(o) => objects.push(o),
            None => {
                return report(
                    Status::Malformed,
                    format!("{pubsd_key}[{i}] is not a JSON object"),
                )
            }
        }
    }
    let message = signed_message(label, policy.fields(slot));
    let mut best: Option<SlotReport> = None;
    let mut keep = |r: SlotReport| {
        if best.as_ref().is_none_or(|b| r.status > b.status) {
            best = Some(r);
        }
    };
    for (i, entry) in objects.iter().enumerate() {
        if entry.get("Type").and_then(Value::as_str) != Some("DS") {
            continue;
        }
        let alg = entry.get("AlgID").and_then(Value::as_str).unwrap_or("");
        let tbs = entry
            .get("TBSData")
            .and_then(Value::as_object)
            .and_then(|t| t.get("Type"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if alg != SM3_WITH_SM2 {
            keep(report(
                Status::Unsupported,
                format!("{pubsd_key}[{i}]: signature algorithm {alg:?} is not SM3withSM2 ({SM3_WITH_SM2})"),
            ));
            continue;
        }
        if policy.binding_tbs_types.iter().any(|t| t == tbs) {
            keep(report(
                Status::Unsupported,
                format!("{pubsd_key}[{i}]: a signature over a content binding ({tbs}), not over the label"),
            ));
            continue;
        }
        if !policy.label_tbs_types.iter().any(|t| t == tbs) {
            keep(report(
                Status::Unsupported,
                format!("{pubsd_key}[{i}]: signed content type {tbs:?} is not a label message"),
            ));
            continue;
        }
        let mut r = verify_entry(entry, &objects, &message, policy)
            .unwrap_or_else(|why| report(Status::Malformed, format!("{pubsd_key}[{i}]: {why}")));
        r.field = slot.field();
        r.tbs_type = Some(tbs.to_string());
        r.signed = Some(message.clone());
        if r.detail.is_empty() {
            r.detail = format!("{pubsd_key}[{i}]");
        } else if !r.detail.starts_with(pubsd_key.as_str()) {
            r.detail = format!("{pubsd_key}[{i}]: {}", r.detail);
        }
        keep(r);
    }
    binding_note(best.unwrap_or_else(|| {
        report(
            Status::Absent,
            format!("SecurityData without a signature ({pubsd_key} has no DS entry)"),
        )
    }))
}

/// Verify one SM3withSM2 label signature entry against the key it names. `Err` is a reason
/// for `malformed`.
fn verify_entry(
    entry: &Map<String, Value>,
    all: &[&Map<String, Value>],
    message: &str,
    policy: &SecurityPolicy,
) -> Result<SlotReport, SecurityError> {
    let sig_hex = entry
        .get("Signature")
        .and_then(Value::as_str)
        .ok_or("the DS entry has no Signature string")?;
    let signature = parse_signature(sig_hex)?;
    // The key with the same KeyID (a missing KeyID matches a missing KeyID, as MiniMax writes).
    let key_id = entry.get("KeyID");
    let key_entry = all
        .iter()
        .find(|e| {
            e.get("Type").and_then(Value::as_str) == Some("PubKey") && e.get("KeyID") == key_id
        })
        .ok_or_else(|| {
            format!(
                "no PubKey entry with KeyID {}",
                key_id.map(Value::to_string).unwrap_or("(none)".into())
            )
        })?;
    let key_alg = key_entry.get("AlgID").and_then(Value::as_str).unwrap_or("");
    if key_alg != SM3_WITH_SM2 && !key_alg.is_empty() {
        return Err(format!("the key's AlgID {key_alg:?} is not SM2").into());
    }
    let key_hex = key_entry
        .get("KeyValue")
        .and_then(Value::as_str)
        .ok_or("the PubKey entry has no KeyValue string")?;
    let candidates = parse_public_key(key_hex, &policy.user_id)?;
    let mut result = None;
    for key in &candidates {
        if key.verify(message.as_bytes(), &signature).is_ok() {
            result = Some((Status::Verified, key));
            break;
        }
    }
    let (status, key) = result.unwrap_or((Status::Failed, &candidates[0]));
    let key_text = hex(&key.to_sec1_bytes());
    let pinned_to = if status == Status::Verified {
        pinned(key, policy)
    } else {
        None
    };
    let detail = match status {
        Status::Verified => {
            "the signature verifies over the signed fields with this key (integrity; identity only when pinned)".into()
        }
        _ => "the signature does not verify over the signed fields with this key".into(),
    };
    Ok(SlotReport {
        field: "",
        status,
        key: Some(key_text),
        pinned_to,
        signed: None,
        tbs_type: None,
        bindings: None,
        detail,
    })
}

fn pinned(key: &VerifyingKey, policy: &SecurityPolicy) -> Option<String> {
    let mine = key.to_sec1_bytes();
    policy.known_keys.iter().find_map(|k| {
        parse_public_key(&k.key, &policy.user_id)
            .ok()?
            .iter()
            .any(|c| c.to_sec1_bytes() == mine)
            .then(|| k.producer.clone())
    })
}

/// Longest hex text accepted for a key or a signature (an SPKI is 91 bytes, a DER signature 72).
const MAX_HEX_CHARS: usize = 512;

/// The keys a `KeyValue` can denote: one point, or both points for a bare x coordinate (either
/// y may be meant; a signature that verifies under one of them cannot be forged for the other
/// without the private key).
pub fn parse_public_key(key_hex: &str, user_id: &str) -> Result<Vec<VerifyingKey>, SecurityError> {
    let raw = unhex(key_hex).map_err(|e| format!("KeyValue: {e}"))?;
    let sec1 = |bytes: &[u8]| {
        VerifyingKey::from_sec1_bytes(user_id, bytes)
            .map_err(|_| "KeyValue is not a point on the SM2 curve".to_string())
    };
    let bare_x = |x: &[u8]| -> Result<Vec<VerifyingKey>, SecurityError> {
        let keys: Vec<VerifyingKey> = [2u8, 3]
            .iter()
            .filter_map(|p| {
                let mut c = vec![*p];
                c.extend_from_slice(x);
                sec1(&c).ok()
            })
            .collect();
        if keys.is_empty() {
            Err("KeyValue (a bare x coordinate) is not on the SM2 curve".into())
        } else {
            Ok(keys)
        }
    };
    match (raw.len(), raw.first()) {
        (65, Some(4)) | (33, Some(2 | 3)) => Ok(vec![sec1(&raw)?]),
        (64, _) => {
            let mut p = vec![4u8];
            p.extend_from_slice(&raw);
            Ok(vec![sec1(&p)?])
        }
        (33, Some(0)) => bare_x(&raw[1..]), // MiniMax: x padded with a 00 byte
        (32, _) => bare_x(&raw),
        (_, Some(0x30)) => {
            let pk = sm2::PublicKey::from_public_key_der(&raw)
                .map_err(|e| format!("KeyValue is not an SM2 SubjectPublicKeyInfo: {e}"))?;
            VerifyingKey::new(user_id, pk)
                .map(|k| vec![k])
                .map_err(|_| "KeyValue: unusable SM2 key".into())
        }
        (n, _) => Err(format!(
            "KeyValue has {n} bytes: not an uncompressed (65), compressed (33), raw (64), bare-x (32, or 33 with 00) point or an SPKI"
        ).into()),
    }
}

/// A signature as DER `SEQUENCE { r, s }` or raw r‖s (64 bytes).
pub fn parse_signature(sig_hex: &str) -> Result<Signature, SecurityError> {
    let raw = unhex(sig_hex).map_err(|e| format!("Signature: {e}"))?;
    if raw.len() == 64 {
        return Signature::from_slice(&raw).map_err(|_| "Signature r‖s out of range".into());
    }
    if raw.first() == Some(&0x30) {
        return Signature::from_der(&raw)
            .map_err(|_| "Signature is not a valid DER SM2 signature".into());
    }
    Err(format!(
        "Signature has {} bytes: neither DER nor raw r‖s (64)",
        raw.len()
    )
    .into())
}

fn unhex(text: &str) -> Result<Vec<u8>, SecurityError> {
    let text = text.trim();
    if text.len() > MAX_HEX_CHARS {
        return Err(format!("{} hex digits, more than {MAX_HEX_CHARS}", text.len()).into());
    }
    if !text.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|p| match (digit(p[0]), digit(p[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err(SecurityError::from("not hex")),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// An SM2 private key for signing labels.
pub struct LabelSigner {
    key: SigningKey,
}

impl std::fmt::Debug for LabelSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelSigner")
            .field("public", &hex(&self.key.verifying_key().to_sec1_bytes()))
            .finish_non_exhaustive()
    }
}

impl LabelSigner {
    /// A signer from an SM2 private key in PKCS#8 PEM (`openssl genpkey -algorithm SM2`), with
    /// the profile's user id.
    pub fn from_pkcs8_pem(pem: &str, profile: &Profile) -> Result<LabelSigner, SecurityError> {
        let policy = SecurityPolicy::of(profile)?;
        let secret = sm2::SecretKey::from_pkcs8_pem(pem).map_err(|e| {
            format!("not an SM2 private key in PKCS#8 PEM (as `openssl genpkey -algorithm SM2` writes): {e}")
        })?;
        let key = SigningKey::new(&policy.user_id, &secret)
            .map_err(|_| "unusable SM2 private key".to_string())?;
        Ok(LabelSigner { key })
    }

    /// The public key as an uncompressed SEC1 point in hex.
    pub fn public_key_hex(&self) -> String {
        hex(&self.key.verifying_key().to_sec1_bytes())
    }

    /// The SecurityData text for `slot` of `label`: a signature over the role's fields (profile
    /// `security.signed_fields`) and the public key, in the guide's spelling. Deterministic
    /// (RFC 6979 nonces), so the same label and key always give the same text. The text is
    /// compact JSON without spaces, so that as a field value it stays within Annex E j)
    /// (its quotes become the `\"` escapes j) allows when the label is serialised).
    pub fn security_data(
        &self,
        label: &Label,
        slot: Slot,
        profile: &Profile,
    ) -> Result<String, SecurityError> {
        let policy = SecurityPolicy::of(profile)?;
        let message = signed_message(label, policy.fields(slot));
        let signature: Signature = self
            .key
            .try_sign(message.as_bytes())
            .map_err(|e| format!("SM2 signing failed: {e}"))?;
        let der = signature.to_der();
        let pubsd = serde_json::json!([
            {
                "Type": "PubKey",
                "KeyID": "1",
                "AlgID": SM3_WITH_SM2,
                "KeyValue": hex_upper(&self.key.verifying_key().to_sec1_bytes()),
            },
            {
                "Type": "DS",
                "KeyID": "1",
                "AlgID": SM3_WITH_SM2,
                "TBSData": {"Type": "Md"},
                "Signature": hex_upper(der.as_bytes()),
            }
        ]);
        let sd = serde_json::json!({
            "SecurityData": {"Type": SECURITY_DATA_TYPE, "Version": 1, "PubSD": pubsd}
        });
        Ok(sd.to_string())
    }

    /// `label` with its reserved field for `slot` replaced by a fresh signature.
    pub fn sign(
        &self,
        label: &Label,
        slot: Slot,
        profile: &Profile,
    ) -> Result<Label, SecurityError> {
        let text = self.security_data(label, slot, profile)?;
        let mut out = label.clone();
        match slot {
            Slot::Producer => out.reserved_code1 = text,
            Slot::Propagator => out.reserved_code2 = text,
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test key made by `openssl genpkey -algorithm SM2` (OpenSSL 3.0.19).
    const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg+seQyZNHgFRPBg+W
YwH1GiXsHlV+2M/PXX0FBj+j18mhRANCAAQlWKeBnYKgKDkQUdugZsokUhfOXJiV
B88mlV2seg17UlKdBxjnZ+e+F86C8EKoWnN9yG3aQ+/E9v4rBT1hXdMV
-----END PRIVATE KEY-----
";
    /// Its public point, as `openssl pkey -text` prints it (y is odd: compressed prefix 03).
    const X: &str = "2558a7819d82a028391051dba066ca245217ce5c989507cf26955dac7a0d7b52";
    const Y: &str = "529d0718e767e7be17ce82f042a85a737dc86dda43efc4f6fe2b053d615dd315";
    /// `openssl dgst -sm3 -sign KEY -sigopt distid:1234567812345678` over the A.1 message of
    /// [`label`] (made once with the OpenSSL command line; an independent signer).
    const OPENSSL_SIG: &str = "3045022032b200cd86288c0f64970e9066136d6c672fd6fbf762b27d08fcaefa826f0d76022100c91f295c04379f25f2d4985bfc742fa64cf0d8286dcaf36918868307d01ebbed";
    const OPENSSL_R: &str = "32b200cd86288c0f64970e9066136d6c672fd6fbf762b27d08fcaefa826f0d76";
    const OPENSSL_S: &str = "c91f295c04379f25f2d4985bfc742fa64cf0d8286dcaf36918868307d01ebbed";

    fn label() -> Label {
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

    /// SecurityData text with one key and one label signature, spelled as given.
    fn sd(pubsd: &str, key: &str, sig: &str, tbs: &str, alg: &str) -> String {
        format!(
            r#"{{"SecurityData":{{"Type":"TC260PG","Version":1,"{pubsd}":[{{"Type":"DS","AlgID":"{alg}","TBSData":{{"Type":"{tbs}"}},"Signature":"{sig}"}},{{"Type":"PubKey","AlgID":"{alg}","KeyValue":"{key}"}}]}}}}"#
        )
    }

    fn with_rc1(text: String) -> Label {
        Label {
            reserved_code1: text,
            ..label()
        }
    }

    fn status(l: &Label) -> Status {
        check_label(l, &Profile::builtin()).status
    }

    #[test]
    fn message_is_annex_a1_members_without_braces() {
        let p = SecurityPolicy::of(&Profile::builtin()).unwrap();
        assert_eq!(
            signed_message(&label(), &p.signed_fields.producer),
            r#""Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"0123456789abcdef0123456789abcdef""#
        );
    }

    #[test]
    fn openssl_signature_verifies_in_every_key_form() {
        let forms = [
            format!("04{X}{Y}"),
            format!("03{X}"),
            format!("{X}{Y}"),
            X.to_string(),
            format!("00{X}"),
            format!("3059301306072a8648ce3d020106082a811ccf5501822d0342000 4{X}{Y}")
                .replace(' ', ""),
            format!("04{X}{Y}").to_uppercase(),
        ];
        for key in forms {
            let l = with_rc1(sd("PubSD", &key, OPENSSL_SIG, "Md", SM3_WITH_SM2));
            let r = check_label(&l, &Profile::builtin());
            assert_eq!(r.status, Status::Verified, "{key}: {:?}", r.fields[0]);
            assert_eq!(r.key.as_deref(), Some(format!("04{X}{Y}").as_str()));
            assert!(!r.pinned);
        }
    }

    #[test]
    fn raw_r_s_and_minimax_spelling_verify() {
        let raw = format!("{OPENSSL_R}{OPENSSL_S}");
        let l = with_rc1(sd(
            "PubSD",
            &format!("00{X}"),
            &raw,
            "LabelMataData",
            SM3_WITH_SM2,
        ));
        let r = check_label(&l, &Profile::builtin());
        assert_eq!(r.status, Status::Verified, "{:?}", r.fields[0]);
        assert_eq!(r.fields[0].tbs_type.as_deref(), Some("LabelMataData"));
    }

    #[test]
    fn one_changed_character_fails() {
        let good = with_rc1(sd(
            "PubSD",
            &format!("04{X}{Y}"),
            OPENSSL_SIG,
            "Md",
            SM3_WITH_SM2,
        ));
        assert_eq!(status(&good), Status::Verified);
        let mut bad = good.clone();
        bad.produce_id.replace_range(0..1, "1");
        assert_eq!(status(&bad), Status::Failed);
        let mut bad = good.clone();
        bad.content_producer.replace_range(26..27, "1");
        assert_eq!(status(&bad), Status::Failed);
        let mut bad = good;
        bad.label = "2".into();
        assert_eq!(status(&bad), Status::Failed);
        // A changed propagation element is not covered by the producer's signature.
        let mut other = with_rc1(sd(
            "PubSD",
            &format!("04{X}{Y}"),
            OPENSSL_SIG,
            "Md",
            SM3_WITH_SM2,
        ));
        other.propagate_id = "x".into();
        assert_eq!(status(&other), Status::Verified);
    }

    #[test]
    fn wrong_key_fails() {
        let signer = LabelSigner::from_pkcs8_pem(KEY_PEM, &Profile::builtin()).unwrap();
        assert_eq!(signer.public_key_hex(), format!("04{X}{Y}"));
        // The generator point G of SM2 is a valid key that did not make this signature.
        let g = "0432c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0";
        assert_eq!(
            status(&with_rc1(sd("PubSD", g, OPENSSL_SIG, "Md", SM3_WITH_SM2))),
            Status::Failed
        );
    }

    #[test]
    fn unsupported_is_never_failed() {
        let rsa = "1.2.840.113549.1.1.11";
        assert_eq!(
            status(&with_rc1(sd("PubSd", "00ff", "abcd", "Md", rsa))),
            Status::Unsupported
        );
        assert_eq!(
            status(&with_rc1(sd("PubSD", "00ff", "abcd", "Md", "1.2.3.4"))),
            Status::Unsupported
        );
        let other_type = r#"{"SecurityData":{"Type":"HonorSD","Version":"1"}}"#;
        assert_eq!(status(&with_rc1(other_type.into())), Status::Unsupported);
        let binding_only = sd(
            "PubSD",
            &format!("04{X}{Y}"),
            OPENSSL_SIG,
            "Bnd",
            SM3_WITH_SM2,
        );
        assert_eq!(status(&with_rc1(binding_only)), Status::Unsupported);
    }

    #[test]
    fn absent_and_opaque_values() {
        for text in [
            "",
            "e862483430d978cbf828b8b24296ef9328d843a0",
            r#"{"Type":"1","Version":"1.0"}"#,
            "-183015675558052179",
            "L-abc",
        ] {
            assert_eq!(status(&with_rc1(text.into())), Status::Absent, "{text}");
        }
        let no_sig = r#"{"SecurityData":{"Type":"TC260PG","Version":1,"Bindings":[]}}"#;
        let r = check_label(&with_rc1(no_sig.into()), &Profile::builtin());
        assert_eq!(r.status, Status::Absent);
        assert_eq!(r.fields[0].bindings, Some("not-checked"));
    }

    #[test]
    fn malformed_security_data() {
        let key = format!("04{X}{Y}");
        let cases = [
            r#"{"SecurityData":{"Type":"TC260PG","#.to_string(),
            r#"{"SecurityData":"TC260PG"}"#.to_string(),
            r#"{"SecurityData":{"Version":1}}"#.to_string(),
            r#"{"SecurityData":{"Type":"TC260PG"}}"#.to_string(),
            r#"{"SecurityData":{"Type":"TC260PG","Version":1,"PubSD":{}}}"#.to_string(),
            r#"{"SecurityData":{"Type":"TC260PG","Version":1,"PubSD":[1]}}"#.to_string(),
            sd("PubSD", &key, "zz", "Md", SM3_WITH_SM2),
            sd("PubSD", &key, "3000", "Md", SM3_WITH_SM2),
            sd("PubSD", &key, &"00".repeat(64), "Md", SM3_WITH_SM2),
            sd("PubSD", "04ffff", OPENSSL_SIG, "Md", SM3_WITH_SM2),
            sd(
                "PubSD",
                &format!("04{X}{X}"),
                OPENSSL_SIG,
                "Md",
                SM3_WITH_SM2,
            ),
            sd("PubSD", &"ab".repeat(300), OPENSSL_SIG, "Md", SM3_WITH_SM2),
            // A signature whose key has another KeyID.
            sd("PubSD", &key, OPENSSL_SIG, "Md", SM3_WITH_SM2).replacen(
                r#""Type":"PubKey""#,
                r#""Type":"PubKey","KeyID":"2""#,
                1,
            ),
        ];
        for text in cases {
            let r = check_label(&with_rc1(text.clone()), &Profile::builtin());
            assert_eq!(r.status, Status::Malformed, "{text}: {:?}", r.fields[0]);
        }
    }

    #[test]
    fn hostile_sizes_are_bounded() {
        let p = Profile::builtin();
        let policy = SecurityPolicy::of(&p).unwrap();
        let entry = format!(
            r#"{{"Type":"DS","AlgID":"{SM3_WITH_SM2}","TBSData":{{"Type":"Md"}},"Signature":"{OPENSSL_SIG}"}}"#
        );
        let many = format!(
            r#"{{"SecurityData":{{"Type":"TC260PG","Version":1,"PubSD":[{}]}}}}"#,
            vec![entry; policy.max_entries + 1].join(",")
        );
        assert_eq!(status(&with_rc1(many)), Status::Malformed);
        let huge = format!(
            r#"{{"SecurityData":{{"Type":"TC260PG","Version":1,"X":"{}"}}}}"#,
            "a".repeat(policy.max_text_bytes)
        );
        assert_eq!(status(&with_rc1(huge)), Status::Malformed);
        let deep = format!(
            "{{\"SecurityData\":{}{}",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        assert_eq!(status(&with_rc1(deep)), Status::Malformed);
        assert_eq!(status(&with_rc1("a".repeat(1 << 20))), Status::Absent);
    }

    #[test]
    fn reference_signatures_round_trip_and_are_deterministic() {
        let p = Profile::builtin();
        let signer = LabelSigner::from_pkcs8_pem(KEY_PEM, &p).unwrap();
        let signed = signer.sign(&label(), Slot::Producer, &p).unwrap();
        assert_eq!(signed, signer.sign(&label(), Slot::Producer, &p).unwrap());
        assert!(signed
            .reserved_code1
            .chars()
            .all(crate::label::annex_e_j_char));
        let r = check_label(&signed, &p);
        assert_eq!(r.status, Status::Verified, "{:?}", r.fields);
        assert_eq!(r.fields[1].status, Status::Absent);
        let both = signer.sign(&signed, Slot::Propagator, &p).unwrap();
        let r = check_label(&both, &p);
        assert_eq!(
            r.fields.iter().map(|f| f.status).collect::<Vec<_>>(),
            [Status::Verified, Status::Verified]
        );
        assert_eq!(
            r.fields[1].signed.as_deref(),
            Some(
                r#""Label":"1","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"0123456789abcdef0123456789abcdef""#
            )
        );
        let mut tampered = both;
        tampered.propagate_id.push('0');
        let r = check_label(&tampered, &p);
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.fields[0].status, Status::Verified);
        assert!(LabelSigner::from_pkcs8_pem("not a key", &p).is_err());
    }

    #[test]
    fn pinned_keys_come_from_the_profile() {
        let text = Profile::builtin().document().to_string();
        assert!(text.contains("known_keys"));
        let yaml = format!(
            "{}\n",
            crate::profile::BUILTIN_PROFILE.replace(
                "known_keys: []",
                &format!("known_keys:\n    - {{producer: TestProducer, key: \"03{X}\"}}")
            )
        );
        let p = Profile::parse(&yaml).unwrap();
        let l = with_rc1(sd(
            "PubSD",
            &format!("00{X}"),
            OPENSSL_SIG,
            "Md",
            SM3_WITH_SM2,
        ));
        let r = check_label(&l, &p);
        assert_eq!(r.status, Status::Verified);
        assert!(r.pinned);
        assert_eq!(r.fields[0].pinned_to.as_deref(), Some("TestProducer"));
    }
}
