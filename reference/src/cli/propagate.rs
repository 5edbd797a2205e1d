//! `aigc-label propagate IN -o OUT`: the content platform role (Measures Art. 6).

use aigc_label::io::Overwrite;
use aigc_label::platform::{propagate_path, PlatformInfo};
use aigc_label::Profile;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `propagate`.
#[derive(clap::Args)]
pub struct Args {
    /// The published file.
    input: PathBuf,
    /// Where to write the file with the platform's propagation elements.
    #[arg(short, long)]
    output: PathBuf,
    /// The platform's code or name (ContentPropagator).
    #[arg(long, value_name = "CODE")]
    propagator: String,
    /// The platform's content number (PropagateID).
    #[arg(long, value_name = "ID")]
    propagate_id: String,
    /// The platform's security data (ReservedCode2).
    #[arg(long, value_name = "TEXT")]
    reserved2: Option<String>,
    /// Sign the platform's elements: an SM2 private key in PKCS#8 PEM. ReservedCode2 receives
    /// TC260-PG-202511A SecurityData over Label, ContentPropagator and PropagateID (profile
    /// security.signed_fields).
    #[arg(long, value_name = "KEY.pem", conflicts_with = "reserved2")]
    sign_key: Option<PathBuf>,
    /// The uploader declared the content AI-generated (Art. 6(2)).
    #[arg(long)]
    user_declared: bool,
    /// An explicit label or other trace was detected by the platform, in words (Art. 6(3)).
    /// Without it, the reference looks for an explicit label itself where it can.
    #[arg(long, value_name = "WHAT")]
    trace: Option<String>,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    force: bool,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
}

/// Decide and write; print the notice.
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    let mut platform = PlatformInfo {
        content_propagator: args.propagator.clone(),
        propagate_id: args.propagate_id.clone(),
        reserved_code2: args.reserved2.clone(),
    };
    let trace = args
        .trace
        .clone()
        .or_else(|| aigc_label::explicit::detect_trace(&args.input, profile));
    if let Some(key) = &args.sign_key {
        match signed_reserved2(key, &args, &platform, trace.as_deref(), profile) {
            Ok(rc2) => platform.reserved_code2 = rc2,
            Err(e) => {
                eprintln!("aigc-label: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    match propagate_path(
        &args.input,
        &args.output,
        &platform,
        args.user_declared,
        trace.as_deref(),
        overwrite,
        profile,
    ) {
        Ok(d) if args.json => {
            crate::outln!("{}", serde_json::to_string(&d).expect("json"));
            ExitCode::SUCCESS
        }
        Ok(d) => {
            crate::outln!(
                "notice: {:?}{}",
                d.notice,
                d.notice_text.map(|t| format!(" ({t})")).unwrap_or_default()
            );
            crate::outln!("reason: {}", d.reason);
            if let Some(l) = d.label {
                crate::outln!("label written: {}", l.to_bare_json());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("aigc-label: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--sign-key`: decide first (the signed Label is the one the platform writes), then sign the
/// label that decision writes. `propagate_path` decides again with the same inputs, so the
/// signed fields are exactly the written ones. `None` when no label is written.
fn signed_reserved2(
    key: &std::path::Path,
    args: &Args,
    platform: &PlatformInfo,
    trace: Option<&str>,
    profile: &Profile,
) -> Result<Option<String>, String> {
    let signer = crate::common::load_signer(key, profile)?;
    let report =
        aigc_label::implicit::read_path(&args.input, profile).map_err(|e| e.to_string())?;
    let decision =
        aigc_label::platform::decide(&report, platform, args.user_declared, trace, profile)?;
    match decision.label {
        Some(label) => signer
            .security_data(&label, aigc_label::security::Slot::Propagator, profile)
            .map(Some)
            .map_err(String::from),
        None => Ok(None),
    }
}
