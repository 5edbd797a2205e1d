//! Official runs (issue 10.4): fresh, seeded instances of the implicit-label read vectors, so
//! that answers cannot be memorised by vector id or looked up by input hash.
//!
//! `aigc-conform run --official [--seed N]` replaces the golden read vectors of the implicit
//! areas (`implicit/annex-e`, `implicit/png`, `implicit/formats`) by instances generated here
//! from templates ([`templates`]): random but valid producer codes ([`code`]), random IDs, field
//! orders, spacing, wrapping, carrier choice and placement, fresh pixel and sample content and
//! sizes ([`carriers`]), and opaque ids (`official-<hex>`) in the requests. Every instance's
//! expectation comes from its template's parameters, the digest and the profile's severities,
//! never from reading the instance back. The other vectors (explicit labels, platform, label
//! and propagate ops, security, robustness) stay golden in official runs; the report's
//! `certification.scope` lists which families were instantiated.
//!
//! The seed (random when not given) is recorded in the report; the same seed with the same
//! suite version gives the same instances byte for byte ([`rng`] fixes the algorithm).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::vector::{Op, Suite, Vector};
use aigc_label::Profile;

pub mod carriers;
pub mod code;
pub mod rng;
pub mod templates;
pub mod threshold;

use rng::Rng;
use templates::{Carrier, Family, CARRIERS};

/// The areas (folders below `vectors/`) whose `read` vectors an official run instantiates.
pub const INSTANTIATED_AREAS: [&str; 3] = ["implicit/annex-e", "implicit/png", "implicit/formats"];

/// Whether a golden vector is replaced by fresh instances in an official run: a read vector of
/// an instantiated area whose media type the generator crafts. (Read vectors of other formats
/// stay golden, and the report says so.)
pub fn is_instantiated(v: &Vector) -> bool {
    v.op == Op::Read
        && INSTANTIATED_AREAS
            .iter()
            .any(|a| v.manifest.starts_with(Path::new(a)))
        && v.media
            .as_deref()
            .is_some_and(|m| CARRIERS.iter().any(|c| c.media() == m))
}

/// What an official run ran instead of the golden vectors (recorded in the report).
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    /// The seed.
    pub seed: u64,
    /// Golden areas whose read vectors were replaced.
    pub instantiated_areas: Vec<String>,
    /// `family/carrier` templates instantiated.
    pub templates: Vec<String>,
    /// Instances generated.
    pub instances: usize,
    /// Golden vectors replaced.
    pub golden_replaced: usize,
    /// Golden vectors kept as they are.
    pub golden_kept: usize,
    /// What stays golden, in words.
    pub kept: String,
}

/// The instances of every template for `seed`, written into `dir` (created), as vectors whose
/// inputs are those files.
pub fn generate(
    profile: &Profile,
    seed: u64,
    dir: &Path,
) -> Result<(Vec<Vector>, Vec<String>), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut master = Rng::new(seed);
    let mut vectors = Vec::new();
    let mut templates = Vec::new();
    for carrier in CARRIERS {
        for (family, copies) in Family::for_carrier(carrier) {
            templates.push(format!("{}/{}", family.name(), carrier.name()));
            for _ in 0..copies {
                let mut rng = master.fork();
                let id = format!("official-{:016x}", master.next_u64());
                vectors.push(instance(
                    &mut rng, &id, carrier, family, profile, &dir, seed,
                )?);
            }
        }
    }
    // Near-threshold explicit labels (threshold.rs): after the implicit families, so that their
    // instances stay what they were for a seed.
    for side in threshold::SIDES {
        templates.push(format!("threshold/{}", side.name()));
        let mut rng = master.fork();
        let id = format!("official-{:016x}", master.next_u64());
        vectors.push(threshold_instance(
            &mut rng, &id, side, profile, &dir, seed,
        )?);
    }
    // Opaque ids, in an order that says nothing about the template.
    master.shuffle(&mut vectors);
    Ok((vectors, templates))
}

fn instance(
    rng: &mut Rng,
    id: &str,
    carrier: Carrier,
    family: Family,
    profile: &Profile,
    dir: &Path,
    seed: u64,
) -> Result<Vector, String> {
    let planned = templates::plan(rng, carrier, family, profile)?;
    let file = format!("{id}.{}", carrier.extension());
    let path = dir.join(&file);
    std::fs::write(&path, &planned.bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Vector {
        id: id.to_string(),
        requirements: planned.requirements,
        class: planned.class,
        bug_class: Some(format!("official:{}", family.name())),
        provenance: format!(
            "aigc-conform official generator (seed {seed}, template {}/{})",
            family.name(),
            carrier.name()
        ),
        description: planned.description,
        op: Op::Read,
        media: Some(carrier.media().to_string()),
        input: file,
        request: Default::default(),
        expect: planned.expect,
        // The template already derives the verdict from the profile's grades (templates.rs).
        profile_choice: Vec::new(),
        blame: Default::default(),
        // Absolute: `Vector::input_path` joins it to the suite root, which keeps it as is.
        manifest: dir.join("official-instances.yaml"),
        line: 0,
    })
}

fn threshold_instance(
    rng: &mut Rng,
    id: &str,
    side: threshold::Side,
    profile: &Profile,
    dir: &Path,
    seed: u64,
) -> Result<Vector, String> {
    let fields = templates::valid_fields(rng);
    let planned = threshold::plan(rng, side, &fields, profile)?;
    let file = format!("{id}.png");
    let path = dir.join(&file);
    std::fs::write(&path, &planned.bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Vector {
        id: id.to_string(),
        requirements: vec!["GB-5.2-e".into()],
        class: planned.class,
        bug_class: Some(format!("official:threshold-{}", side.name())),
        provenance: format!(
            "aigc-conform official generator (seed {seed}, template threshold/{})",
            side.name()
        ),
        description: planned.description,
        op: Op::Label,
        media: Some("image/png".into()),
        input: file,
        request: planned.request,
        expect: planned.expect,
        profile_choice: Vec::new(),
        blame: Default::default(),
        manifest: dir.join("official-instances.yaml"),
        line: 0,
    })
}

/// Replace the instantiated golden vectors of `suite` by fresh instances (written into `dir`),
/// keeping every other vector; returns the scope to record.
pub fn instantiate(
    suite: &mut Suite,
    profile: &Profile,
    seed: u64,
    dir: &Path,
) -> Result<Scope, String> {
    let (instances, templates) = generate(profile, seed, dir)?;
    let before = suite.vectors.len();
    suite.vectors.retain(|v| !is_instantiated(v));
    let kept = suite.vectors.len();
    let scope = Scope {
        seed,
        instantiated_areas: INSTANTIATED_AREAS.iter().map(|s| s.to_string()).collect(),
        templates,
        instances: instances.len(),
        golden_replaced: before - kept,
        golden_kept: kept,
        kept: "golden: explicit labels (besides the near-threshold image instances), platform, label and propagate ops, security (SM2 signatures), \
               robustness, and the implicit read vectors of formats the generator does not craft \
               (WebP, GIF, TIFF, HEIC, FLAC, Ogg, M4A, MP4/MOV, MKV/WebM, FLV, AVI, DOCX)"
            .into(),
    };
    suite.vectors.extend(instances);
    Ok(scope)
}

/// `--official` requires the bubblewrap sandbox (issue 10.5): the path of `bwrap` on PATH, or
/// an error saying how to get it. (The isolation itself is wired by `--isolation`.)
pub fn official_requires_isolation() -> Result<PathBuf, String> {
    crate::adapter::resolve_program("bwrap").ok_or_else(|| {
        "an official run needs bubblewrap isolation, and `bwrap` is not on PATH: install the Debian package `bubblewrap` (scripts/install-deps.sh does), or run without --official for a practice run".to_string()
    })
}
