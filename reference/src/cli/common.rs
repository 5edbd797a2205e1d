//! Helpers shared by the subcommands: the profile, label fields from flags, error output.

use aigc_label::label::{parse_label_text, CarrierKind};
use aigc_label::{Label, Profile, Severity};
use std::path::Path;

/// The profile in force: `--profile FILE`, read at start-up (a bad file is reported before any
/// work, whatever the command), or the one compiled in, parsed when a command first asks for
/// it. Parsing the built-in YAML was a third of a small `embed`'s CPU time, and embedding a
/// clean label never consults the profile (severities only matter once something is wrong).
pub struct ProfileSource {
    given: Option<Profile>,
    builtin: std::sync::OnceLock<Profile>,
}

impl ProfileSource {
    /// `--profile FILE` (loaded now, errors returned) or the built-in profile (loaded lazily).
    pub fn new(path: Option<&Path>) -> Result<ProfileSource, String> {
        let given = match path {
            // `Profile::load` reads the file once, bounded: a FIFO or a sparse giant given as
            // --profile is refused before the YAML parser sees anything.
            Some(p) => Some(Profile::load(p)?),
            None => None,
        };
        Ok(ProfileSource {
            given,
            builtin: std::sync::OnceLock::new(),
        })
    }

    /// The profile (the built-in one is parsed on the first call; a unit test of the library
    /// guarantees it parses).
    pub fn get(&self) -> &Profile {
        match &self.given {
            Some(p) => p,
            None => self.builtin.get_or_init(Profile::builtin),
        }
    }
}

/// The seven fields as flags, shared by `embed` and the other writing commands.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct FieldArgs {
    /// All seven fields as JSON (bare or wrapped in {"AIGC": ...}); single-field flags override it.
    #[arg(long, value_name = "JSON")]
    pub fields: Option<String>,
    /// Label: 1 (is AI-generated), 2 (possibly), 3 (suspected).
    #[arg(long)]
    pub label: Option<String>,
    /// ContentProducer: the generation service provider's 27-character code or name.
    #[arg(long, value_name = "CODE")]
    pub producer: Option<String>,
    /// ProduceID: the producer's number for this content.
    #[arg(long, value_name = "ID")]
    pub produce_id: Option<String>,
    /// ReservedCode1: producer's security data (optional).
    #[arg(long, value_name = "TEXT")]
    pub reserved1: Option<String>,
    /// ContentPropagator (default: the producer, per Annex E note 1).
    #[arg(long, value_name = "CODE")]
    pub propagator: Option<String>,
    /// PropagateID (default: the ProduceID, per Annex E note 1).
    #[arg(long, value_name = "ID")]
    pub propagate_id: Option<String>,
    /// ReservedCode2: propagator's security data (optional).
    #[arg(long, value_name = "TEXT")]
    pub reserved2: Option<String>,
}

impl FieldArgs {
    /// Build the label; refuse one with Annex E errors unless `allow_invalid`. `profile` is
    /// called only if the label needs it (`--fields` to parse, or Annex E findings to weigh).
    pub fn to_label<'p>(
        &self,
        profile: impl Fn() -> &'p Profile,
        allow_invalid: bool,
    ) -> Result<Label, String> {
        let mut label = match &self.fields {
            Some(json) => {
                let parsed = parse_label_text(json, CarrierKind::NamedKey, profile());
                match parsed.label {
                    Some(l) => l,
                    None => {
                        let why: Vec<String> =
                            parsed.problems.iter().map(|p| p.message.clone()).collect();
                        return Err(format!("--fields: {}", why.join("; ")));
                    }
                }
            }
            None => Label::default(),
        };
        let given_propagator = self.propagator.is_some() || self.fields.is_some();
        let given_propagate_id = self.propagate_id.is_some() || self.fields.is_some();
        for (value, key) in [
            (&self.label, "Label"),
            (&self.producer, "ContentProducer"),
            (&self.produce_id, "ProduceID"),
            (&self.reserved1, "ReservedCode1"),
            (&self.propagator, "ContentPropagator"),
            (&self.propagate_id, "PropagateID"),
            (&self.reserved2, "ReservedCode2"),
        ] {
            if let Some(v) = value {
                *label.field_mut(key).expect("known key") = v.clone();
            }
        }
        if self.fields.is_none() && self.label.is_none() {
            return Err("give the label with --fields JSON or --label 1|2|3 (with --producer and --produce-id)".into());
        }
        if !given_propagator {
            label.content_propagator = label.content_producer.clone();
        }
        if !given_propagate_id {
            label.propagate_id = label.produce_id.clone();
        }
        let findings = label.annex_e_findings();
        let errors: Vec<String> = if findings.is_empty() {
            Vec::new()
        } else {
            let profile = profile();
            findings
                .into_iter()
                .filter(|(code, _)| profile.severity(*code) == Severity::Error)
                .map(|(code, message)| format!("{message} ({code})"))
                .collect()
        };
        if !errors.is_empty() && !allow_invalid {
            return Err(format!(
                "refusing to write an invalid label: {} (use --allow-invalid to write it anyway)",
                errors.join("; ")
            ));
        }
        Ok(label)
    }
}

/// An SM2 signing key from a PKCS#8 PEM file (`--sign-key`), read with a size bound.
pub fn load_signer(
    path: &Path,
    profile: &Profile,
) -> Result<aigc_label::security::LabelSigner, String> {
    use std::io::Read;
    let mut text = String::new();
    aigc_label::io::open_regular_file(path)
        .and_then(|f| f.take(64 * 1024).read_to_string(&mut text))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    aigc_label::security::LabelSigner::from_pkcs8_pem(&text, profile)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Refuse an input path that is not a regular file (a FIFO would block, a device never end),
/// before it reaches code that opens it itself (image decoders, ffmpeg): the message names it.
pub fn regular_input(path: &Path) -> Result<(), String> {
    aigc_label::io::check_regular_input(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Print to stdout without panicking when the reader has gone away (`| head`): output errors
/// end the output quietly instead of aborting with a panic.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// `println!` through [`out`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::common::out(&format!("{}\n", format_args!($($arg)*))) };
}
