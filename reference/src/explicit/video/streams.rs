//! The input's streams a labelled video keeps besides the labelled one, and the ffmpeg
//! arguments that copy them. Shared by both ways of writing a labelled video (smart rendering's
//! join and the full re-encode), so that they keep the same streams and metadata.
//!
//! Kept, packet for packet: every audio and subtitle stream, every data stream ffmpeg knows the
//! codec of, and in Matroska output the attachments (fonts of ASS subtitles, cover art); with
//! the container's metadata and chapters, and each stream's own metadata (a subtitle's
//! language). Left out, and said in the report: further video streams (the label goes on the
//! first), data streams of no known codec, which ffmpeg cannot write (a QuickTime timecode
//! track, `tmcd`, among them comes back all the same: the muxer writes one from the video
//! stream's `timecode` tag, which is kept), and streams the output container cannot hold (an
//! MKV's ASS subtitles or PCM audio written as MP4), found by a trial copy.

use crate::explicit::Result;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The input's other streams: those copied and those left out.
#[derive(Debug, Clone, Default)]
pub(super) struct OtherStreams {
    /// Input stream indexes copied, in output order after the labelled video (output stream 0).
    pub kept: Vec<u64>,
    /// The streams left out, each in words (`stream 3 (data none)`).
    pub dropped: Vec<String>,
}

impl OtherStreams {
    /// The streams of `input` to copy into `output` (whose extension names its container).
    /// When the containers differ, the kept streams are first copied on their own into a
    /// scratch file of the output's type (a fraction of a second: no decoding), and a stream
    /// the muxer refuses is left out, so that it cannot make the whole write fail.
    pub fn of(input: &Path, output: &Path) -> Result<OtherStreams> {
        let out_ext = super::super::extension(output);
        let listed = Self::listed(&probe(input)?, out_ext == "mkv");
        Ok(listed.storable_in(input, output))
    }

    /// The streams listed in `probe` (ffprobe's JSON, from [`probe`]), before any trial copy.
    pub fn listed(probe: &Value, mkv: bool) -> OtherStreams {
        let mut s = OtherStreams::default();
        let mut videos = 0;
        for st in probe["streams"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let Some(index) = st["index"].as_u64() else {
                continue;
            };
            let codec = st["codec_name"].as_str().unwrap_or("none");
            let keep = match st["codec_type"].as_str().unwrap_or("") {
                "video" => {
                    videos += 1;
                    if videos > 1 {
                        s.dropped.push(format!("stream {index} (video {codec})"));
                    }
                    false
                }
                "audio" | "subtitle" => true,
                "data" if codec != "none" => true,
                "attachment" if mkv => true,
                other => {
                    let tag = st["codec_tag_string"].as_str().unwrap_or("");
                    s.dropped.push(format!("stream {index} ({other} {tag})"));
                    false
                }
            };
            if keep {
                s.kept.push(index);
            }
        }
        s
    }

    /// The listed streams a file of `output`'s type can hold: when the containers differ, the
    /// kept streams are first copied on their own into a scratch file of the output's type
    /// (a fraction of a second: no decoding), and a stream the muxer refuses is left out, so
    /// that it cannot make the whole write fail.
    pub fn storable_in(mut self, input: &Path, output: &Path) -> OtherStreams {
        let out_ext = super::super::extension(output);
        if self.kept.is_empty()
            || super::super::extension(input) == out_ext
            || trial_copy(input, &self.kept, &out_ext)
        {
            return self;
        }
        let mut kept = Vec::new();
        for index in std::mem::take(&mut self.kept) {
            if trial_copy(input, &[index], &out_ext) {
                kept.push(index);
            } else {
                self.dropped
                    .push(format!("stream {index} (not storable in .{out_ext})"));
            }
        }
        self.kept = kept;
        self
    }

    pub fn add_args(&self, cmd: &mut Command, file: usize) {
        for index in &self.kept {
            cmd.args(["-map", &format!("{file}:{index}")]);
        }
        for i in 1..=self.kept.len() {
            cmd.args([format!("-c:{i}"), "copy".into()]);
        }
        cmd.args(["-map_metadata".into(), file.to_string()])
            .args(["-map_metadata:s:v:0".into(), format!("{file}:s:v:0")])
            .args(["-map_chapters".into(), file.to_string()]);
        // With `-map_metadata`, ffmpeg no longer copies the other streams' own metadata: each
        // is mapped from its input stream.
        for (i, index) in self.kept.iter().enumerate() {
            cmd.args([
                format!("-map_metadata:s:{}", i + 1),
                format!("{file}:s:{index}"),
            ]);
        }
    }

    /// `copied N other streams` and, if any, `(not copied: ...)`.
    pub fn describe(&self) -> String {
        let mut s = format!("copied {} other streams", self.kept.len());
        if !self.dropped.is_empty() {
            s.push_str(&format!(" (not copied: {})", self.dropped.join(", ")));
        }
        s
    }
}

/// ffprobe's JSON description of `input`: the container (`format`) and every stream, each with
/// its decoder configuration record (`extradata`, as a hex dump). One run serves both the list
/// of streams to copy and smart rendering's parameters: every ffprobe start costs tens of
/// milliseconds of dynamic linking. No packet is listed, so `-show_data` dumps none.
pub(super) fn probe(input: &Path) -> Result<Value> {
    ffprobe_json(&[
        "-v".as_ref(),
        "error".as_ref(),
        "-of".as_ref(),
        "json".as_ref(),
        "-show_format".as_ref(),
        "-show_streams".as_ref(),
        "-show_data".as_ref(),
        input.as_os_str(),
    ])
}

/// Run ffprobe with `args` (which ask for `-of json`) and parse its output.
pub(super) fn ffprobe_json(args: &[&std::ffi::OsStr]) -> Result<Value> {
    let out = super::super::run_tool("ffprobe", args)?;
    serde_json::from_slice(&out).map_err(|e| format!("ffprobe output: {e}").into())
}

/// ffprobe's hex dump (`00000000: 0164 000d ...  .d..`) back to bytes.
pub(super) fn parse_hexdump(dump: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for line in dump.lines() {
        let Some((_, rest)) = line.split_once(": ") else {
            continue;
        };
        // 8 groups of 4 hex digits, then two spaces and the ASCII column.
        let hex = rest.get(..40).unwrap_or(rest);
        let digits: Vec<u8> = hex.bytes().filter(|b| *b != b' ').collect();
        for pair in digits.chunks_exact(2) {
            let s = std::str::from_utf8(pair).unwrap_or("zz");
            match u8::from_str_radix(s, 16) {
                Ok(b) => out.push(b),
                Err(_) => return out,
            }
        }
    }
    out
}

/// Whether ffmpeg can copy streams `indexes` of `input` into a file of type `ext` (the first
/// second of them, into a scratch file removed afterwards).
fn trial_copy(input: &Path, indexes: &[u64], ext: &str) -> bool {
    let tmp = super::img::temp_path("streams", ext);
    let mut args: Vec<std::ffi::OsString> = ["-v", "error", "-nostdin", "-y", "-i"]
        .iter()
        .map(Into::into)
        .collect();
    args.push(input.into());
    for index in indexes {
        args.push("-map".into());
        args.push(format!("0:{index}").into());
    }
    for a in ["-c", "copy", "-t", "1"] {
        args.push(a.into());
    }
    args.push(tmp.clone().into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let ok = super::super::run_tool("ffmpeg", &refs).is_ok();
    let _ = std::fs::remove_file(&tmp);
    ok
}
