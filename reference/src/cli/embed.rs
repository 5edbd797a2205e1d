//! `aigc-label embed IN -o OUT`: write the implicit label in the format's standard carrier.

use aigc_label::implicit::{embed_path, EmbedOptions};
use aigc_label::io::{Durability, Overwrite};
use aigc_label::Label;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::common::{FieldArgs, ProfileSource};

/// Arguments of `embed`.
#[derive(clap::Args)]
pub struct Args {
    /// The file to label (never modified unless --in-place).
    input: PathBuf,
    /// Where to write the labelled copy.
    #[arg(short, long, required_unless_present = "in_place")]
    output: Option<PathBuf>,
    /// Replace the input file itself (atomically).
    #[arg(long, conflicts_with = "output")]
    in_place: bool,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    force: bool,
    /// Do not force the output to disk before it replaces the target (still atomic against a
    /// killed process; for batch jobs that sync once at the end). Default: fsync first.
    #[arg(long)]
    no_sync: bool,
    /// Write the label even if it breaks Annex E (for making negative test vectors).
    #[arg(long)]
    allow_invalid: bool,
    /// Write a label whose ContentProducer or ProduceID is empty. Legal only where nobody knows
    /// the producer (a platform's Label "2"/"3", Measures Art. 6 cases 2 and 3, which is what
    /// `propagate` writes); otherwise the label carries no provenance.
    #[arg(long)]
    allow_empty: bool,
    /// Write this exact text as the label value instead of the canonical JSON (test vectors).
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["fields", "label"])]
    raw_value: Option<String>,
    /// Sign the label: an SM2 private key in PKCS#8 PEM (`openssl genpkey -algorithm SM2`).
    /// ReservedCode1 receives TC260-PG-202511A SecurityData: an SM3withSM2 signature over
    /// Label, ContentProducer and ProduceID (profile security.signed_fields) and the public key.
    #[arg(long, value_name = "KEY.pem", conflicts_with = "raw_value")]
    sign_key: Option<PathBuf>,
    #[command(flatten)]
    fields: FieldArgs,
}

/// Embed the label; exit 2 on any error, leaving the output as it was.
/// The profile is parsed only if needed: `--fields`, a label with findings, `--sign-key`.
pub fn run(args: Args, profiles: &ProfileSource) -> ExitCode {
    let json = match &args.raw_value {
        Some(raw) => raw.clone(),
        None => match args
            .fields
            .to_label(|| profiles.get(), args.allow_invalid)
            .and_then(|label| {
                refuse_empty_producer(&label, args.allow_empty, profiles)?;
                sign_producer(label, &args, profiles)
            }) {
            Ok(label) => label.to_bare_json(),
            Err(e) => {
                eprintln!("aigc-label: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let output = if args.in_place {
        args.input.clone()
    } else {
        args.output.clone().expect("clap requires it")
    };
    if !args.in_place && same_file(&args.input, &output) {
        eprintln!(
            "aigc-label: {}: the output is the input file; use --in-place to replace it",
            output.display()
        );
        return ExitCode::from(2);
    }
    let overwrite = if args.force || args.in_place {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    match embed_path(
        &args.input,
        &output,
        &json,
        EmbedOptions {
            overwrite,
            durability: if args.no_sync {
                Durability::OsCache
            } else {
                Durability::Sync
            },
        },
    ) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aigc-label: {e}");
            ExitCode::from(2)
        }
    }
}

/// With `--sign-key`, the label with SecurityData in ReservedCode1 (which must not be given too).
fn sign_producer(
    label: aigc_label::Label,
    args: &Args,
    profiles: &ProfileSource,
) -> Result<aigc_label::Label, String> {
    let Some(key) = &args.sign_key else {
        return Ok(label);
    };
    let profile = profiles.get();
    if !label.reserved_code1.is_empty() {
        return Err("--sign-key writes ReservedCode1 itself; do not give it too".into());
    }
    let signer = crate::common::load_signer(key, profile)?;
    signer
        .sign(&label, aigc_label::security::Slot::Producer, profile)
        .map_err(String::from)
}

/// Refuse a label with an empty ContentProducer or ProduceID unless `--allow-empty`: Annex E
/// d)/e) ask for the producer's name or code and its content number, and an empty value is
/// legal only where the producer is unknown (digest §4 open question 2; the profile's
/// `platform.unknown_producer`). The reserved fields may always be empty (digest §3.6).
fn refuse_empty_producer(
    label: &Label,
    allow_empty: bool,
    profiles: &ProfileSource,
) -> Result<(), String> {
    let empty: Vec<&str> = [
        ("ContentProducer", &label.content_producer),
        ("ProduceID", &label.produce_id),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_empty())
    .map(|(k, _)| k)
    .collect();
    if empty.is_empty() || allow_empty {
        return Ok(());
    }
    let unknown_producer: String = profiles
        .get()
        .section("platform.unknown_producer")
        .unwrap_or_else(|_| "empty".to_string());
    Err(format!(
        "refusing to write a label with an empty {}: Annex E d)/e) expect the producer's name or \
         27-character code and its content number (give --producer CODE --produce-id ID, or them \
         in --fields). Empty producer fields are legal only when the producer is unknown: a \
         content platform labelling an upload Label \"2\" (the user declared it AI-generated) or \
         \"3\" (a trace was detected), Measures Art. 6 cases 2 and 3, where the profile writes \
         {unknown_producer:?} (platform.unknown_producer; `aigc-label propagate` does this). \
         ReservedCode1/ReservedCode2 may always be empty. Use --allow-empty to write it anyway",
        empty.join(" and ")
    ))
}

/// Are `a` and `b` the same file (same device and inode: also through a hard link, a symbolic
/// link or `..`)? Two `stat` calls; `canonicalize` cost a `getcwd` and a `readlink` per path
/// component, at every start of `embed`. A missing output is not the input.
#[cfg(unix)]
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => (x.dev(), x.ino()) == (y.dev(), y.ino()),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
