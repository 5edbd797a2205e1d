//! One label per file (GB 45438-2025 6.1 c), decided once for every segment format.
//!
//! A segment format (PNG chunks, JPEG segments, GIF blocks, RIFF chunks...) describes its
//! file as a [`Layout`]: the byte range of every unit, the part each unit plays for the label
//! ([`Role`]) and where a new carrier would go. [`Layout::plan`] applies the rule: the first
//! standard carrier (before [`Layout::eligible_end`]) gets the label; every other carrier loses
//! its label (rewritten without it, or dropped when the label was all it held); when no
//! standard carrier is eligible a new one is inserted at [`Layout::insert_at`]. [`rewrite`]
//! then copies every kept unit in contiguous runs, byte for byte, and asks the format
//! ([`UnitWriter`]) only for the units that change. Box formats (MP4, HEIF), whose labels move
//! offsets that must be patched, and formats with one carrier (Ogg, FLV) keep their own writers.

use crate::error::{CodecError, Result};
use crate::io::{CopyRun, Input, Output};

/// The part a unit plays for the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not a label carrier: copied byte for byte.
    Keep,
    /// Not a label carrier, but the format rewrites it whenever it writes a label (a WebP
    /// `VP8X` chunk gains the XMP flag).
    Amend,
    /// The standard carrier (an XMP packet...): the first eligible one gets the label.
    Standard {
        /// Whether it holds a label now.
        has_label: bool,
    },
    /// A non-standard carrier that holds a label and nothing else: dropped.
    LabelOnly,
    /// A non-standard structure that holds a label among other data (EXIF UserComment):
    /// rewritten without the label when it has one.
    Mixed {
        /// Whether it holds a label now.
        has_label: bool,
    },
}

/// What the rewriter does with one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Copied byte for byte.
    Copy,
    /// Rewritten by the format, label-independent ([`Role::Amend`]).
    Amend,
    /// Rewritten with the label set (the first standard carrier).
    Label,
    /// Rewritten without its label.
    Strip,
    /// Left out.
    Drop,
}

/// One unit of a segment format: a byte range of the input and its role.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    /// Offset of the unit in the input.
    pub offset: u64,
    /// Its length, header and padding included.
    pub len: u64,
    /// Its part in the label.
    pub role: Role,
}

/// A file as a list of units, with the two places the rule needs.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Every unit in file order; bytes between units are not copied.
    pub units: Vec<Unit>,
    /// Where a new carrier goes (before `units[insert_at]`; `units.len()`: after the last).
    /// `None`: the format found no place for one, which is an error when one is needed.
    pub insert_at: Option<usize>,
    /// Standard carriers at this index or later do not get the label (PNG: XMP after the
    /// image data); `usize::MAX` when every carrier is eligible.
    pub eligible_end: usize,
}

/// Where the label goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Into the existing standard carrier `units[i]`.
    Existing(usize),
    /// Into a new carrier written before `units[i]` (or at the end when `i == units.len()`).
    New(usize),
}

impl Layout {
    /// A layout whose every standard carrier is eligible.
    pub fn new() -> Layout {
        Layout {
            units: Vec::new(),
            insert_at: None,
            eligible_end: usize::MAX,
        }
    }

    /// Add a unit.
    pub fn push(&mut self, offset: u64, len: u64, role: Role) {
        self.units.push(Unit { offset, len, role });
    }

    /// Add a unit, preceded by a kept unit for the bytes between the last unit's end (or
    /// `start`, for the first) and `offset` (JPEG fill bytes, padding): nothing undescribed is
    /// lost.
    pub fn push_after_gap(&mut self, start: u64, offset: u64, len: u64, role: Role) {
        let end = self.units.last().map_or(start, |u| u.offset + u.len);
        if offset > end {
            self.push(end, offset - end, Role::Keep);
        }
        self.push(offset, len, role);
    }

    /// Where the label goes (6.1 c): the first eligible standard carrier, else a new one.
    pub fn target(&self) -> Result<Target> {
        let existing = self
            .units
            .iter()
            .take(self.eligible_end)
            .position(|u| matches!(u.role, Role::Standard { .. }));
        match (existing, self.insert_at) {
            (Some(i), _) => Ok(Target::Existing(i)),
            (None, Some(i)) => Ok(Target::New(i)),
            (None, None) => Err(CodecError::corrupt(
                self.units.first().map_or(0, |u| u.offset),
                "no place to insert the label (a mandatory structure is missing)",
            )),
        }
    }

    /// What happens to `units[i]` when the label goes to `target`.
    pub fn action(&self, i: usize, target: Target) -> Action {
        if target == Target::Existing(i) {
            return Action::Label;
        }
        match self.units[i].role {
            Role::Keep | Role::Standard { has_label: false } | Role::Mixed { has_label: false } => {
                Action::Copy
            }
            Role::Amend => Action::Amend,
            Role::Standard { has_label: true } | Role::Mixed { has_label: true } => Action::Strip,
            Role::LabelOnly => Action::Drop,
        }
    }
}

/// What a format writes for the units that change.
pub(crate) trait UnitWriter {
    /// Write a standard carrier holding the label `json`: `unit` rewritten, or a new carrier
    /// when `unit` is `None`.
    fn label(
        &self,
        input: &mut Input,
        out: &mut Output,
        unit: Option<&Unit>,
        json: &str,
    ) -> Result<()>;
    /// Write `unit` without its label.
    fn strip(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()>;
    /// Write a [`Role::Amend`] unit.
    fn amend(&self, _input: &mut Input, _out: &mut Output, unit: &Unit) -> Result<()> {
        Err(CodecError::corrupt(
            unit.offset,
            "this format does not amend units",
        ))
    }
}

/// Write the units of `layout` with exactly one label: unchanged units in contiguous runs,
/// the others through `writer`. Bytes before the first unit and after the last are the
/// caller's.
pub(crate) fn rewrite(
    layout: &Layout,
    input: &mut Input,
    out: &mut Output,
    writer: &dyn UnitWriter,
    json: &str,
) -> Result<()> {
    let target = layout.target()?;
    let mut run = CopyRun::default();
    for (i, unit) in layout.units.iter().enumerate() {
        if target == Target::New(i) {
            run.flush(input, out)?;
            writer.label(input, out, None, json)?;
        }
        match layout.action(i, target) {
            Action::Copy => run.add(input, out, unit.offset, unit.len)?,
            Action::Drop => {}
            changed => {
                run.flush(input, out)?;
                match changed {
                    Action::Label => writer.label(input, out, Some(unit), json)?,
                    Action::Strip => writer.strip(input, out, unit)?,
                    _ => writer.amend(input, out, unit)?,
                }
            }
        }
    }
    run.flush(input, out)?;
    if target == Target::New(layout.units.len()) {
        writer.label(input, out, None, json)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: Role = Role::Keep;
    const S: Role = Role::Standard { has_label: false };
    const SL: Role = Role::Standard { has_label: true };
    const F: Role = Role::LabelOnly;
    const M: Role = Role::Mixed { has_label: false };
    const ML: Role = Role::Mixed { has_label: true };

    /// The rule of 6.1 c), one row per situation: the roles of a file's units, where a new
    /// carrier may go, which carriers are eligible; the expected target and actions.
    #[test]
    fn one_label_policy() {
        use Action::*;
        #[allow(clippy::type_complexity)]
        let table: &[(&str, &[Role], Option<usize>, usize, Target, &[Action])] = &[
            (
                "no carrier: insert",
                &[K, K],
                Some(1),
                usize::MAX,
                Target::New(1),
                &[Copy, Copy],
            ),
            (
                "insert at the end",
                &[K, K],
                Some(2),
                usize::MAX,
                Target::New(2),
                &[Copy, Copy],
            ),
            (
                "empty carrier gets it",
                &[K, S, K],
                Some(1),
                usize::MAX,
                Target::Existing(1),
                &[Copy, Label, Copy],
            ),
            (
                "first of two carriers",
                &[SL, K, SL],
                Some(0),
                usize::MAX,
                Target::Existing(0),
                &[Label, Copy, Strip],
            ),
            (
                "later unlabelled carrier kept",
                &[S, S],
                None,
                usize::MAX,
                Target::Existing(0),
                &[Label, Copy],
            ),
            (
                "label-only carriers dropped",
                &[F, K, F],
                Some(1),
                usize::MAX,
                Target::New(1),
                &[Drop, Copy, Drop],
            ),
            (
                "mixed stripped only if labelled",
                &[ML, M, S],
                None,
                usize::MAX,
                Target::Existing(2),
                &[Strip, Copy, Label],
            ),
            (
                "carrier past the payload is not eligible",
                &[K, K, SL],
                Some(1),
                2,
                Target::New(1),
                &[Copy, Copy, Strip],
            ),
            (
                "amended units",
                &[Role::Amend, K],
                Some(2),
                usize::MAX,
                Target::New(2),
                &[Amend, Copy],
            ),
        ];
        for (what, roles, insert_at, eligible_end, target, actions) in table {
            let mut layout = Layout::new();
            for (i, role) in roles.iter().enumerate() {
                layout.push(i as u64 * 10, 10, *role);
            }
            layout.insert_at = *insert_at;
            layout.eligible_end = *eligible_end;
            let got = layout.target().unwrap();
            assert_eq!(got, *target, "{what}");
            let got: Vec<Action> = (0..roles.len()).map(|i| layout.action(i, got)).collect();
            assert_eq!(got, *actions, "{what}");
        }
        // Nowhere to put the label: an error, never an unlabelled output.
        let mut layout = Layout::new();
        layout.push(8, 10, K);
        assert!(layout.target().is_err());
    }

    /// The rewriter copies kept units in runs and writes only what changes, in file order.
    #[test]
    fn rewrite_copies_runs_and_writes_changes() {
        struct Tags;
        impl UnitWriter for Tags {
            fn label(
                &self,
                _: &mut Input,
                out: &mut Output,
                u: Option<&Unit>,
                json: &str,
            ) -> Result<()> {
                use std::io::Write;
                Ok(write!(
                    out,
                    "[{}:{json}]",
                    u.map_or("new".into(), |u| u.offset.to_string())
                )?)
            }
            fn strip(&self, _: &mut Input, out: &mut Output, u: &Unit) -> Result<()> {
                use std::io::Write;
                Ok(write!(out, "[strip {}]", u.offset)?)
            }
        }
        let input_bytes = b"aabbccddee".to_vec();
        let run = |layout: &Layout| {
            let mut input = Input::from_bytes(input_bytes.clone());
            let mut out = Output::memory();
            rewrite(layout, &mut input, &mut out, &Tags, "L").unwrap();
            String::from_utf8(out.into_bytes().unwrap()).unwrap()
        };
        let mut layout = Layout::new();
        for (i, role) in [K, SL, F, K, ML].into_iter().enumerate() {
            layout.push(i as u64 * 2, 2, role);
        }
        assert_eq!(run(&layout), "aa[2:L]dd[strip 8]");
        layout.units[1].role = K;
        layout.insert_at = Some(1);
        assert_eq!(run(&layout), "aa[new:L]bbdd[strip 8]");
    }
}
