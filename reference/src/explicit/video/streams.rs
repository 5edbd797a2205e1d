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
        let mut s = Self::probe(input, out_ext == "mkv")?;
        if s.kept.is_empty() || super::super::extension(input) == out_ext {
            return Ok(s);
        }
        if trial_copy(input, &s.kept, &out_ext) {
            return Ok(s);
        }
        // One by one: which of them the output cannot hold.
        let mut kept = Vec::new();
        for index in std::mem::take(&mut s.kept) {
            if trial_copy(input, &[index], &out_ext) {
                kept.push(index);
            } else {
                s.dropped
                    .push(format!("stream {index} (not storable in .{out_ext})"));
            }
        }
        s.kept = kept;
        Ok(s)
    }

    /// Classify the streams of `input` by type (one ffprobe run).
    fn probe(input: &Path, mkv: bool) -> Result<OtherStreams> {
        let out = super::super::run_tool(
            "ffprobe",
            &[
                "-v".as_ref(),
                "error".as_ref(),
                "-of".as_ref(),
                "json".as_ref(),
                "-show_entries".as_ref(),
                "stream=index,codec_type,codec_name,codec_tag_string".as_ref(),
                input.as_os_str(),
            ],
        )?;
        let v: Value = serde_json::from_slice(&out).map_err(|e| format!("ffprobe output: {e}"))?;
        let mut s = OtherStreams::default();
        let mut videos = 0;
        for st in v["streams"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let Some(index) = st["index"].as_u64() else {
                continue;
            };
            let codec = st["codec_name"].as_str().unwrap_or("none");
            let keep = match st["codec_type"].as_str().unwrap_or("") {
                "video" => {
                    // The first one is the stream being labelled (mapped by the caller).
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
        Ok(s)
    }

    /// Append to `cmd` the output options that copy the kept streams from ffmpeg input number
    /// `file` (the input file itself; the labelled video must already be mapped as output
    /// stream 0), with the container's metadata and chapters and every stream's own metadata,
    /// the labelled video's included. Each kept stream gets its own `-c:N copy`, so the
    /// caller's codec options for the video stay in force.
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
