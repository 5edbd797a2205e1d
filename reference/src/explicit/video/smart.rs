//! Smart rendering: re-encode only the GOPs the label overlaps, copy every later packet.
//!
//! A label shown for the first `--duration` seconds changes only the frames before that time.
//! This module decodes the frames up to the first keyframe at or after the label's end (a closed
//! GOP start: an H.264 IDR, an H.265 IDR or CRA without leading pictures), labels them, encodes
//! them again with the input's codec, profile, level, size, pixel format, frame rate, time scale
//! and reordering depth, and joins them to the untouched rest of the stream: every later video
//! packet and every audio, subtitle and data packet is copied byte for byte (and, in Matroska,
//! the attachments: fonts of ASS subtitles, cover art), as [`super::streams`] chooses them for
//! both ways of rendering.
//!
//! How the join decodes: the re-encoded head and the copied tail need their own parameter sets.
//! - H.264: the head is encoded with x264's `sps-id` set to an id the input does not use, and the
//!   output's `avcC` lists the input's SPS/PPS *and* the head's (ISO/IEC 14496-15 allows several
//!   in one record). Each slice names its PPS by id, so both halves decode, and the IDR at the
//!   join activates the input's SPS again.
//! - H.265: x265 cannot renumber its parameter sets, so the head is encoded with the input's
//!   x265 options (read from the encoder's SEI) and the join is made only when the head's
//!   VPS/SPS/PPS come out byte-identical to the input's; otherwise the file is fully re-encoded.
//!
//! How the halves are joined:
//! - An MP4/MOV written as the same kind of file is joined in place by [`super::mp4join`]: the
//!   input, copied by the kernel, with the head's samples in place of the ones they replace and
//!   its `moov` rebuilt (the video's tables, the merged `avcC`, every chunk offset). Nothing
//!   but the video's first GOPs changes: the interleaving, every other track, the metadata.
//! - Anything else (Matroska, MP4 to MOV, a layout that module declines, with its reason in
//!   the report) by ffmpeg's concat demuxer: with `auto_convert 0` and `-c copy` it passes
//!   packets through unchanged (no Annex B conversion), and `inpoint` = `duration` = the
//!   keyframe's time makes its timestamp shift exactly zero for the tail. The one thing the
//!   CLI cannot do, writing a two-parameter-set `avcC`, is done by patching the small head
//!   file's sample entry before that join.
//!
//! Either way the result is checked, not trusted, and any difference makes `mark` fall back
//! (the in-place join to the concat join, the concat join to a full re-encode): the in-place
//! join reads back every sample it listed; after the concat join the tail's timestamps and key
//! flags are compared with the input's (read from the sample tables by [`super::timeline`]
//! for an MP4/MOV of the plain layout ffmpeg writes, else by ffprobe).
//!
//! Why the ffmpeg CLI and not the libraries: the crate keeps no FFmpeg binding (none builds
//! without the C headers, which this project does not require), and the CLI gives exact control
//! where it matters (the encoder's options, the concat join above).
//!
//! Time: on a 2-core machine each ffmpeg or ffprobe start costs about 65 ms of CPU, most of it
//! the dynamic linker resolving symbols of some 200 libraries, so the number of runs on the
//! critical path matters as much as their work. The decoder of the head starts at once, with
//! one ffprobe run describing the streams; the head's frames pass through this process with
//! only the rows under the label copied (`splice` moves the rest from pipe to pipe); an MP4 is
//! joined without another ffmpeg run, and its check needs none.
//!
//! Anything not proven safe falls back to the full re-encode, with the reason in `--json`:
//! other codecs or containers, non-4:2:0 or high bit depth, interlacing, variable frame rate,
//! edit lists that discard frames, open GOPs or reordering across the cut, a video shorter than
//! the label.

use crate::explicit::{Fallback, Result};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::super::image::Anchor;
use super::streams::{ffprobe_json, parse_hexdump, OtherStreams};
use super::{avc, mp4join, timeline};
use super::{MarkReport, Rendering};

/// The result of trying smart rendering.
pub(super) enum Outcome {
    /// Written; the report says what was re-encoded and copied.
    Done(MarkReport),
    /// Not possible or not proven safe: why, in words (the caller re-encodes everything).
    Fallback(String),
}

/// What `mark` asked for.
pub(super) struct Job<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub text: &'a str,
    pub anchor: Anchor,
    pub min_ratio: f64,
    pub duration_s: Option<f64>,
    pub profile: &'a crate::Profile,
    pub overwrite: super::super::WriteMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    H264,
    Hevc,
}

/// One video packet as ffprobe lists it, in decoding order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packet {
    pts: i64,
    /// Decoding time; Matroska stores none.
    dts: Option<i64>,
    key: bool,
    /// Byte position in the file and size, as the demuxer reports them.
    pos: Option<u64>,
    size: u64,
}

/// The facts about the input's first video stream smart rendering depends on.
struct Probe {
    codec: Codec,
    profile: String,
    level: i64,
    width: u64,
    height: u64,
    /// Stream time base (num, den).
    tb: (i64, i64),
    /// Frame rate (num, den).
    fps: (i64, i64),
    /// `avcC` / `hvcC` record.
    config: Vec<u8>,
    codec_tag: String,
    colour: Vec<(&'static str, String)>,
    /// ffprobe's `has_b_frames`: the decoder's reordering delay in frames.
    has_b_frames: i64,
    /// ISO BMFF (MP4/MOV): packet positions are the samples' byte offsets.
    mp4: bool,
}

/// Remove a temporary directory when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("aigc-label-smart-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Try smart rendering. `Err` only for errors the full re-encode would hit as well (an existing
/// output without `--force`, a missing ffmpeg); everything else is a [`Outcome::Fallback`].
pub(super) fn mark(job: &Job) -> Result<Outcome> {
    if job.overwrite.overwrite == crate::io::Overwrite::Refuse && job.output.exists() {
        return Err(format!(
            "{}: exists (use --force to replace it)",
            job.output.display()
        )
        .into());
    }
    let Some(duration) = job.duration_s else {
        return Ok(Outcome::Fallback(
            "the label is on every frame (no --duration): nothing can be copied".into(),
        ));
    };
    let out_ext = super::super::extension(job.output);
    if !matches!(out_ext.as_str(), "mp4" | "m4v" | "mov" | "mkv") {
        return Ok(Outcome::Fallback(format!(
            "output .{out_ext}: smart rendering writes MP4, MOV or MKV"
        )));
    }
    // Every ffmpeg or ffprobe start costs tens of milliseconds of dynamic linking (about 65 ms
    // of CPU for ffmpeg 5.1 on Debian 12), so what does not depend on the probe starts at
    // once: the decoder of the head, which decodes until it is stopped after the head's
    // frames.
    let decoder = Running::decoder(job.input)?;
    // An H.264 MP4/MOV describes itself in its `moov` (see `avc`, `timeline`): no ffprobe run
    // before the encoder can start. The other streams matter only to the concat join, which
    // an MP4 needs only when the in-place join declines.
    if let Some((probe, packets)) = moov_probe(job.input) {
        let others = Box::new(|| OtherStreams::of(job.input, job.output));
        return mark_known(job, duration, probe, packets, Underway { decoder, others });
    }
    // Otherwise one ffprobe run describes the streams (then, for another container, trial
    // copies: the concat join waits for those). Meanwhile the packets are read from the
    // sample tables of an MP4/MOV, or by a second ffprobe run.
    std::thread::scope(|s| {
        let (probe_tx, probe_rx) = std::sync::mpsc::channel();
        let others = s.spawn(move || {
            let probe = super::streams::probe(job.input)?;
            let listed = OtherStreams::listed(&probe, out_ext == "mkv");
            let _ = probe_tx.send(probe);
            Ok(listed.storable_in(job.input, job.output))
        });
        let others: Box<dyn FnOnce() -> Result<OtherStreams>> = Box::new(move || {
            others
                .join()
                .map_err(|_| "finding the streams to copy failed")?
        });
        mark_probed(job, duration, probe_rx, Underway { decoder, others })
    })
}

/// What [`mark`] starts before the probe says what to do: the head's decoder, and what finds
/// the other streams to copy (a thread already at work, or a call when asked).
struct Underway<'s> {
    decoder: Running,
    others: Box<dyn FnOnce() -> Result<OtherStreams> + 's>,
}

/// A child process that is killed and reaped when dropped: smart rendering starts some before
/// it knows it will use them, and none may outlive the request.
struct Running(std::process::Child);

impl Running {
    /// ffmpeg decoding the input's first video stream to Y4M on its stdout, every frame, until
    /// it is stopped. One decoding thread: the encoder, not the decoder, sets the pace, and the
    /// encoder gets the other core.
    fn decoder(input: &Path) -> Result<Running> {
        Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-threads", "1", "-i"])
            .arg(input)
            .args(super::DECODE_TO_Y4M)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map(Running)
            .map_err(|e| super::super::missing_tool("ffmpeg", &e).into())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// [`mark`] once the output is known to be possible: `described` brings ffprobe's description
/// of the streams.
fn mark_probed(
    job: &Job,
    duration: f64,
    described: std::sync::mpsc::Receiver<Value>,
    underway: Underway,
) -> Result<Outcome> {
    let packets = video_packets(job.input)?;
    let Ok(described) = described.recv() else {
        // The ffprobe run failed: its error says why.
        (underway.others)()?;
        return Err("finding the streams to copy failed".into());
    };
    let probe = match video_params(&described) {
        Ok(p) => p,
        Err(why) => return Ok(Outcome::Fallback(why.0)),
    };
    let packets = match packets {
        Ok((tb, _)) if tb.0 as i128 * probe.tb.1 as i128 != tb.1 as i128 * probe.tb.0 as i128 => {
            return Ok(Outcome::Fallback(format!(
                "the sample tables' time base {}/{} is not ffprobe's {}/{}",
                tb.0, tb.1, probe.tb.0, probe.tb.1
            )))
        }
        Ok((_, packets)) => packets,
        Err(why) => return Ok(Outcome::Fallback(why.0)),
    };
    mark_known(job, duration, probe, packets, underway)
}

/// [`mark`] once the video stream and its packets are known.
fn mark_known(
    job: &Job,
    duration: f64,
    probe: Probe,
    packets: Vec<Packet>,
    underway: Underway,
) -> Result<Outcome> {
    let cut = match find_cut(&packets, probe.tb, probe.fps, duration) {
        Ok(c) => c,
        Err(why) => return Ok(Outcome::Fallback(why.0)),
    };
    let (first, key) = two_packets(job.input, &probe, &packets[0], &packets[cut])?;
    let nal_len = match nal_length_size(probe.codec, &probe.config) {
        Some(n) => n,
        None => return Ok(Outcome::Fallback("unreadable decoder configuration".into())),
    };
    if let Err(why) = check_random_access(probe.codec, &key, nal_len) {
        return Ok(Outcome::Fallback(why.0));
    }
    // x264 writes its options in an SEI of the first picture; x265 (through ffmpeg) in an SEI
    // stored with the parameter sets in hvcC.
    let options = encoder_options(&first).or_else(|| encoder_options(&probe.config));
    let dir = TempDir::new()?;
    match render(
        job,
        &probe,
        &packets,
        cut,
        options.as_deref(),
        &dir.0,
        underway,
    )? {
        Ok(report) => Ok(Outcome::Done(report)),
        Err(why) => Ok(Outcome::Fallback(why.0)),
    }
}

fn ratio(s: &str) -> Option<(i64, i64)> {
    let (n, d) = s.split_once('/')?;
    let (n, d) = (n.parse().ok()?, d.parse().ok()?);
    (n > 0 && d > 0).then_some((n, d))
}

/// The packets of samples read from an MP4/MOV's sample tables.
fn packets_of_samples(samples: &[timeline::SampleTime]) -> Vec<Packet> {
    samples
        .iter()
        .map(|s| Packet {
            pts: s.pts,
            dts: Some(s.dts),
            key: s.key,
            pos: Some(s.pos),
            size: s.size,
        })
        .collect()
}

/// The first video stream's packets in decoding order, with its time base: read from the
/// sample tables of an MP4/MOV of the plain layout (see [`timeline`]), else by ffprobe. The
/// inner `Err` is a reason to fall back.
#[allow(clippy::type_complexity)]
fn video_packets(input: &Path) -> Result<std::result::Result<((i64, i64), Vec<Packet>), Fallback>> {
    if let Some(t) = timeline::file_video_track_times(input) {
        return Ok(Ok(((1, t.timescale), packets_of_samples(&t.samples))));
    }
    let v = ffprobe_json(&[
        "-v".as_ref(),
        "error".as_ref(),
        "-of".as_ref(),
        "json".as_ref(),
        "-select_streams".as_ref(),
        "v:0".as_ref(),
        "-show_entries".as_ref(),
        "stream=time_base:packet=pts,dts,flags,pos,size".as_ref(),
        input.as_os_str(),
    ])?;
    let Some(tb) = v["streams"][0]["time_base"].as_str().and_then(ratio) else {
        return Ok(Err("no video stream with a time base".into()));
    };
    Ok(packets_of(&v).map(|p| (tb, p)))
}

/// The first video stream's parameters and packets, read from the `moov` of an MP4/MOV whose
/// first track is H.264 video of the kind smart rendering handles (8-bit 4:2:0 in the limited
/// range, frames, a constant frame rate, a profile and colour values [`avc`] names, the plain
/// layout [`timeline`] reads); `None` for anything else, which ffprobe then describes (and
/// gives the reason to fall back, if there is one).
fn moov_probe(input: &Path) -> Option<(Probe, Vec<Packet>)> {
    use crate::implicit::bmff::children;
    let layout = timeline::file_layout(input)?;
    let moov = &layout.moov;
    let top = children(moov, 0..moov.len(), 0, 0).ok()?;
    let kids = children(moov, top.first()?.body(), 0, 1).ok()?;
    let (index, _, mdia_kids) = timeline::video_trak(moov, &kids)?;
    // The concat join matches streams by index: the video must be the first track.
    if kids.iter().position(|b| &b.kind == b"trak") != Some(index) {
        return None;
    }
    let track = avc::describe(moov, &mdia_kids)?;
    let times = timeline::video_track_times(moov)?;
    if !track.progressive_420_8bit || track.full_range || times.samples.len() < 2 {
        return None;
    }
    // Constant frame rate: every sample lasts as long as the first.
    let tick = times.samples[1].dts - times.samples[0].dts;
    let constant = times
        .samples
        .windows(2)
        .all(|w| w[1].dts - w[0].dts == tick)
        && times.last_duration == tick;
    if !constant || tick <= 0 {
        return None;
    }
    let gcd = |mut a: i64, mut b: i64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let g = gcd(times.timescale, tick);
    let packets = packets_of_samples(&times.samples);
    let probe = Probe {
        codec: Codec::H264,
        profile: track.profile,
        level: track.level,
        width: track.width,
        height: track.height,
        tb: (1, times.timescale),
        fps: (times.timescale / g, tick / g),
        config: track.config,
        codec_tag: track.codec_tag,
        colour: track.colour,
        // Only read where decoding times are missing (Matroska).
        has_b_frames: 0,
        mp4: true,
    };
    Some((probe, packets))
}

/// The first video stream's parameters, from ffprobe's description of the streams
/// ([`super::streams::probe`]); `Err` is a reason to fall back.
fn video_params(v: &Value) -> std::result::Result<Probe, Fallback> {
    let fmt = v["format"]["format_name"].as_str().unwrap_or("");
    if !(fmt.contains("mp4") || fmt.contains("mov") || fmt.contains("matroska")) {
        return Err(format!("container {fmt:?}: smart rendering reads MP4, MOV or MKV").into());
    }
    let Some(s) = v["streams"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["codec_type"] == "video"))
    else {
        return Err("no video stream".into());
    };
    // The concat join matches streams by index: the head holds just the video, at index 0.
    if s["index"] != 0 {
        return Err("the video is not the file's first stream".into());
    }
    let codec = match s["codec_name"].as_str() {
        Some("h264") => Codec::H264,
        Some("hevc") => Codec::Hevc,
        other => {
            return Err(format!(
                "codec {}: smart rendering handles H.264 and H.265",
                other.unwrap_or("unknown")
            )
            .into())
        }
    };
    if s["pix_fmt"] != "yuv420p" {
        return Err(format!(
            "pixel format {}: smart rendering handles 8-bit 4:2:0 (yuv420p)",
            s["pix_fmt"]
        )
        .into());
    }
    if let Some(f) = s["field_order"].as_str() {
        if f != "progressive" {
            return Err(format!("field order {f}: interlaced video").into());
        }
    }
    let Some(tb) = s["time_base"].as_str().and_then(ratio) else {
        return Err("no time base".into());
    };
    let (Some(fps), Some(avg)) = (
        s["r_frame_rate"].as_str().and_then(ratio),
        s["avg_frame_rate"].as_str().and_then(ratio),
    ) else {
        return Err("no frame rate".into());
    };
    if fps.0 * avg.1 != avg.0 * fps.1 {
        return Err(format!(
            "variable frame rate ({}/{} nominal, {}/{} average)",
            fps.0, fps.1, avg.0, avg.1
        )
        .into());
    }
    let config = s["extradata"]
        .as_str()
        .map(parse_hexdump)
        .unwrap_or_default();
    if config.first() != Some(&1) {
        return Err("the decoder configuration is not an avcC/hvcC record".into());
    }
    let mut colour = Vec::new();
    for (key, opt) in [
        ("color_range", "-color_range"),
        ("color_space", "-colorspace"),
        ("color_transfer", "-color_trc"),
        ("color_primaries", "-color_primaries"),
    ] {
        if let Some(val) = s[key].as_str().filter(|v| *v != "unknown") {
            colour.push((opt, val.to_string()));
        }
    }
    let probe = Probe {
        mp4: fmt.contains("mp4") || fmt.contains("mov"),
        codec,
        profile: s["profile"].as_str().unwrap_or("").to_string(),
        level: s["level"].as_i64().unwrap_or(0),
        width: s["width"].as_u64().unwrap_or(0),
        height: s["height"].as_u64().unwrap_or(0),
        tb,
        fps,
        config,
        codec_tag: s["codec_tag_string"].as_str().unwrap_or("").to_string(),
        colour,
        has_b_frames: s["has_b_frames"].as_i64().unwrap_or(0),
    };
    Ok(probe)
}

/// Every video packet's timestamps and key flag, in decoding order, from ffprobe's JSON.
fn packets_of(v: &Value) -> std::result::Result<Vec<Packet>, Fallback> {
    let list = v["packets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if list.len() as u64 > crate::limits::MAX_VIDEO_FRAMES {
        return Err(format!("more than {} frames", crate::limits::MAX_VIDEO_FRAMES).into());
    }
    let num = |x: &Value| {
        x.as_i64()
            .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
    };
    let mut packets = Vec::with_capacity(list.len());
    for (i, p) in list.iter().enumerate() {
        let Some(pts) = num(&p["pts"]) else {
            return Err(format!("packet {i} has no presentation time").into());
        };
        let flags = p["flags"].as_str().unwrap_or("");
        if flags.contains('D') {
            return Err("an edit list discards frames (packets flagged discard)".into());
        }
        packets.push(Packet {
            pts,
            dts: num(&p["dts"]),
            key: flags.contains('K'),
            pos: num(&p["pos"]).and_then(|x| u64::try_from(x).ok()),
            size: num(&p["size"])
                .and_then(|x| u64::try_from(x).ok())
                .unwrap_or(0),
        });
    }
    if packets.is_empty() {
        return Err("no video packets".into());
    }
    Ok(packets)
}

/// The index (decoding order) of the packet the copy starts at: the first keyframe at or after
/// the label's end that starts a closed GOP, with the frames before it on a constant-rate grid
/// from time 0. Errors are reasons to fall back.
fn find_cut(
    packets: &[Packet],
    tb: (i64, i64),
    fps: (i64, i64),
    duration_s: f64,
) -> std::result::Result<usize, Fallback> {
    let min_pts = packets.iter().map(|p| p.pts).min().unwrap_or(0);
    if min_pts != 0 {
        return Err(format!(
            "the first frame's time is {min_pts} ticks, not 0 (edit list or offset start)"
        )
        .into());
    }
    // Seconds of a tick count, exactly enough for comparisons at frame granularity.
    let secs = |t: i64| t as f64 * tb.0 as f64 / tb.1 as f64;
    let mut cut = None;
    for (i, p) in packets.iter().enumerate() {
        if !p.key || i == 0 || secs(p.pts) + 1e-9 < duration_s {
            continue;
        }
        // Closed at the cut: everything before it in decoding order is shown before it, and
        // nothing after it is shown before it (no leading pictures, no reordering across).
        let before_ok = packets[..i].iter().all(|q| q.pts < p.pts);
        let after_ok = packets[i..].iter().all(|q| q.pts >= p.pts);
        if before_ok && after_ok {
            cut = Some(i);
            break;
        }
    }
    let Some(cut) = cut else {
        return Err(format!(
            "no keyframe starting a closed GOP at or after {duration_s} s (the label covers the \
             whole video, or GOPs are open)"
        )
        .into());
    };
    // The re-encoded frames get constant-rate times (frame i at i / fps); the input's must be
    // on that grid (within one tick of rounding), or label timing and the join would move.
    let mut head: Vec<i64> = packets[..cut].iter().map(|p| p.pts).collect();
    head.sort_unstable();
    for (i, pts) in head.iter().enumerate() {
        // i / fps in ticks = i * fps.den * tb.den / (fps.num * tb.num)
        let num = i as i128 * fps.1 as i128 * tb.1 as i128;
        let den = fps.0 as i128 * tb.0 as i128;
        let expect = (num + den / 2) / den;
        if (*pts as i128 - expect).abs() > 1 {
            return Err(format!(
                "frame {i} is at {pts} ticks, not on the constant frame-rate grid ({expect})"
            )
            .into());
        }
    }
    let n = head.len() as i128;
    let end = (n * fps.1 as i128 * tb.1 as i128 + (fps.0 as i128 * tb.0 as i128) / 2)
        / (fps.0 as i128 * tb.0 as i128);
    if (packets[cut].pts as i128 - end).abs() > 1 {
        return Err("the keyframe is not one frame after the last re-encoded frame".into());
    }
    Ok(cut)
}

/// Largest packet read into memory (a 4K intra frame is a few MiB).
const MAX_PACKET: u64 = 64 << 20;

/// The data of the first packet and of the cut packet: read from the file at the sample's
/// offset in MP4/MOV, else with ffprobe (one packet each).
fn two_packets(
    input: &Path,
    probe: &Probe,
    first: &Packet,
    key: &Packet,
) -> Result<(Vec<u8>, Vec<u8>)> {
    if probe.mp4 {
        use std::io::{Seek, SeekFrom};
        let mut f = std::fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let mut read = |p: &Packet| -> Vec<u8> {
            let (Some(pos), size) = (p.pos, p.size.min(MAX_PACKET)) else {
                return Vec::new();
            };
            let mut buf = vec![0; size as usize];
            match f
                .seek(SeekFrom::Start(pos))
                .and_then(|_| f.read_exact(&mut buf))
            {
                Ok(()) => buf,
                Err(_) => Vec::new(),
            }
        };
        return Ok((read(first), read(key)));
    }
    let tb = probe.tb;
    let t = key.pts as f64 * tb.0 as f64 / tb.1 as f64;
    let intervals = format!("%+#1,{t:.6}%+#1");
    let v = ffprobe_json(&[
        "-v".as_ref(),
        "error".as_ref(),
        "-of".as_ref(),
        "json".as_ref(),
        "-select_streams".as_ref(),
        "v:0".as_ref(),
        "-read_intervals".as_ref(),
        intervals.as_ref(),
        "-show_packets".as_ref(),
        "-show_data".as_ref(),
        input.as_os_str(),
    ])?;
    let mut a = Vec::new();
    let mut b = Vec::new();
    for p in v["packets"].as_array().into_iter().flatten() {
        let pts = p["pts"].as_i64();
        let data = || p["data"].as_str().map(parse_hexdump).unwrap_or_default();
        if pts == Some(first.pts) && a.is_empty() {
            a = data();
        }
        if pts == Some(key.pts) && b.is_empty() {
            b = data();
        }
    }
    Ok((a, b))
}

/// Bytes per NAL length prefix from an avcC/hvcC record.
fn nal_length_size(codec: Codec, config: &[u8]) -> Option<usize> {
    let b = match codec {
        Codec::H264 => *config.get(4)?,
        Codec::Hevc => *config.get(21)?,
    };
    Some((b & 3) as usize + 1)
}

/// The NAL units of a length-prefixed packet.
fn nal_units(data: &[u8], len_size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + len_size <= data.len() {
        let n = data[i..i + len_size]
            .iter()
            .fold(0usize, |a, b| (a << 8) | *b as usize);
        i += len_size;
        if n == 0 || i + n > data.len() {
            break;
        }
        out.push(&data[i..i + n]);
        i += n;
    }
    out
}

/// The cut packet must be a random access point that needs nothing before it and resets the
/// picture order: an H.264 IDR; an H.265 IDR or BLA (leading pictures are already excluded by
/// the timestamps).
fn check_random_access(
    codec: Codec,
    data: &[u8],
    len_size: usize,
) -> std::result::Result<(), Fallback> {
    if data.is_empty() {
        return Err("could not read the keyframe's data".into());
    }
    for nal in nal_units(data, len_size) {
        let Some(&h) = nal.first() else { continue };
        match codec {
            Codec::H264 => match h & 0x1f {
                5 => return Ok(()),
                1..=4 => {
                    return Err(
                        "the keyframe after the label is not an IDR picture (open GOP)".into(),
                    )
                }
                _ => {}
            },
            Codec::Hevc => match (h >> 1) & 0x3f {
                // IDR and BLA reset the picture order count; a CRA in mid-stream does not, so
                // the copied pictures' order relative to the new head would not be proven.
                16..=20 => return Ok(()),
                21 => {
                    return Err(
                        "the keyframe after the label is a CRA picture (open-GOP style random \
                         access): the order across the join is not proven"
                            .into(),
                    )
                }
                0..=15 => return Err("the keyframe after the label is not an IRAP picture".into()),
                _ => {}
            },
        }
    }
    Err("no picture found in the keyframe's data".into())
}

/// The encoder's option string from its SEI (x264 and x265 write `options: ...`), prefixed
/// with the encoder's name (`x264 ` or `x265 `).
fn encoder_options(data: &[u8]) -> Option<String> {
    let at = data.windows(9).position(|w| w == b"options: ")?;
    let before = &data[at.saturating_sub(200)..at];
    let name = if before.windows(4).any(|w| w == b"x265") {
        "x265"
    } else if before.windows(4).any(|w| w == b"x264") {
        "x264"
    } else {
        return None;
    };
    let rest = &data[at + 9..];
    // The string ends at its NUL (x264) or at the SEI's RBSP stop bit (x265).
    let end = rest
        .iter()
        .position(|b| *b == 0 || *b == 0x80)
        .unwrap_or(rest.len());
    Some(format!("{name} {}", String::from_utf8_lossy(&rest[..end])))
}

fn option_map(options: &str) -> Vec<(&str, Option<&str>)> {
    options
        .split_whitespace()
        .map(|t| match t.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (t, None),
        })
        .collect()
}

/// The SPS list, the PPS list and the trailing bytes of an avcC record.
struct AvccSets<'a> {
    sps: Vec<&'a [u8]>,
    pps: Vec<&'a [u8]>,
    tail: &'a [u8],
}

/// Split an avcC record into its parameter sets.
fn avcc_sets(config: &[u8]) -> Option<AvccSets<'_>> {
    let mut i = 5;
    let n_sps = (*config.get(i)? & 0x1f) as usize;
    i += 1;
    let mut sps = Vec::new();
    for _ in 0..n_sps {
        let len = u16::from_be_bytes([*config.get(i)?, *config.get(i + 1)?]) as usize;
        sps.push(config.get(i + 2..i + 2 + len)?);
        i += 2 + len;
    }
    let n_pps = *config.get(i)? as usize;
    i += 1;
    let mut pps = Vec::new();
    for _ in 0..n_pps {
        let len = u16::from_be_bytes([*config.get(i)?, *config.get(i + 1)?]) as usize;
        pps.push(config.get(i + 2..i + 2 + len)?);
        i += 2 + len;
    }
    Some(AvccSets {
        sps,
        pps,
        tail: config.get(i..)?,
    })
}

/// The first unsigned Exp-Golomb value after `skip` bytes of a NAL unit (emulation prevention
/// bytes removed): the id of an SPS (skip 4: header, profile, constraints, level) or PPS (1).
fn first_ue(nal: &[u8], skip: usize) -> Option<u32> {
    let mut rbsp = Vec::new();
    let mut zeros = 0;
    for &b in nal.iter().skip(1) {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        rbsp.push(b);
    }
    let bits = rbsp.get(skip - 1..)?;
    let bit = |i: usize| bits.get(i / 8).map(|b| (b >> (7 - i % 8)) & 1);
    let mut lz = 0;
    while bit(lz)? == 0 {
        lz += 1;
        if lz > 31 {
            return None;
        }
    }
    let mut v = 0u32;
    for k in 0..lz {
        v = (v << 1) | bit(lz + 1 + k)? as u32;
    }
    Some((1u32 << lz) - 1 + v)
}

/// The avcC with `extra`'s SPS and PPS appended to `base`'s (both must use the same length
/// size).
fn merge_avcc(base: &[u8], extra: &[u8]) -> Option<Vec<u8>> {
    let AvccSets {
        sps: sps_a,
        pps: pps_a,
        tail: tail_a,
    } = avcc_sets(base)?;
    let AvccSets {
        sps: sps_b,
        pps: pps_b,
        ..
    } = avcc_sets(extra)?;
    if base.get(4)? & 3 != extra.get(4)? & 3 || sps_a.len() + sps_b.len() > 31 {
        return None;
    }
    let mut out = base[..5].to_vec();
    out.push(0xe0 | (sps_a.len() + sps_b.len()) as u8);
    for s in sps_a.iter().chain(&sps_b) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s);
    }
    out.push((pps_a.len() + pps_b.len()).min(255) as u8);
    for s in pps_a.iter().chain(&pps_b) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s);
    }
    out.extend_from_slice(tail_a);
    Some(out)
}

/// VPS/SPS/PPS NAL units of an hvcC record, in order.
fn hvcc_sets(config: &[u8]) -> Option<Vec<&[u8]>> {
    let mut i = 22;
    let n_arrays = *config.get(i)? as usize;
    i += 1;
    let mut out = Vec::new();
    for _ in 0..n_arrays {
        let t = config.get(i)? & 0x3f;
        let n = u16::from_be_bytes([*config.get(i + 1)?, *config.get(i + 2)?]) as usize;
        i += 3;
        for _ in 0..n {
            let len = u16::from_be_bytes([*config.get(i)?, *config.get(i + 1)?]) as usize;
            let nal = config.get(i + 2..i + 2 + len)?;
            if (32..=34).contains(&t) {
                out.push(nal);
            }
            i += 2 + len;
        }
    }
    Some(out)
}

/// An ISO BMFF box: (type, start, header length, end).
type BoxSpan = ([u8; 4], usize, usize, usize);

/// Boxes of an ISO BMFF byte range.
fn boxes(data: &[u8], from: usize, to: usize) -> Option<Vec<BoxSpan>> {
    let mut out = Vec::new();
    let mut i = from;
    while i + 8 <= to {
        let size = u32::from_be_bytes(data[i..i + 4].try_into().ok()?) as usize;
        let typ: [u8; 4] = data[i + 4..i + 8].try_into().ok()?;
        // Only plain 32-bit sizes: the head file is small and written by ffmpeg.
        if size < 8 || i + size > to {
            return None;
        }
        out.push((typ, i, 8, i + size));
        i += size;
    }
    Some(out)
}

/// Replace the payload of the video sample entry's `avcC`/`hvcC` box in an MP4 whose `moov`
/// is the last top-level box (so no chunk offset moves), fixing every enclosing box size.
fn replace_config_box(mp4: &[u8], fourcc: &[u8; 4], payload: &[u8]) -> Option<Vec<u8>> {
    // Path of containers from the top: moov/trak/mdia/minf/stbl/stsd/<entry>/<fourcc>.
    let top = boxes(mp4, 0, mp4.len())?;
    let moov = top.iter().find(|b| &b.0 == b"moov")?;
    if top.last()?.0 != *b"moov" {
        return None;
    }
    let mut chain = vec![*moov];
    let mut cur = *moov;
    let descend =
        |b: ([u8; 4], usize, usize, usize), skip: usize, want: &dyn Fn(&[u8; 4]) -> bool| {
            boxes(mp4, b.1 + b.2 + skip, b.3)?
                .into_iter()
                .find(|c| want(&c.0))
        };
    for name in [b"trak", b"mdia", b"minf", b"stbl"] {
        cur = descend(cur, 0, &|t| t == name)?;
        // The first trak is the only one: the head file holds just the video.
        chain.push(cur);
    }
    cur = descend(cur, 0, &|t| t == b"stsd")?;
    chain.push(cur);
    // stsd: version/flags (4) + entry count (4), then the sample entry.
    cur = descend(cur, 8, &|_| true)?;
    chain.push(cur);
    // VisualSampleEntry: 78 bytes of fields before its child boxes.
    let cfg = descend(cur, 78, &|t| t == fourcc)?;
    let delta = payload.len() as i64 - (cfg.3 - cfg.1 - cfg.2) as i64;
    let mut out = Vec::with_capacity(mp4.len() + payload.len());
    out.extend_from_slice(&mp4[..cfg.1]);
    out.extend_from_slice(&((8 + payload.len()) as u32).to_be_bytes());
    out.extend_from_slice(fourcc);
    out.extend_from_slice(payload);
    out.extend_from_slice(&mp4[cfg.3..]);
    for b in chain {
        let size = (b.3 - b.1) as i64 + delta;
        out[b.1..b.1 + 4].copy_from_slice(&u32::try_from(size).ok()?.to_be_bytes());
    }
    Some(out)
}

/// Read the avcC/hvcC payload of an MP4's video sample entry.
fn config_box(mp4: &[u8], fourcc: &[u8; 4]) -> Option<Vec<u8>> {
    let top = boxes(mp4, 0, mp4.len())?;
    let mut cur = *top.iter().find(|b| &b.0 == b"moov")?;
    for (name, skip) in [
        (b"trak", 0),
        (b"mdia", 0),
        (b"minf", 0),
        (b"stbl", 0),
        (b"stsd", 0),
    ] {
        cur = boxes(mp4, cur.1 + cur.2 + skip, cur.3)?
            .into_iter()
            .find(|c| &c.0 == name)?;
    }
    let entry = *boxes(mp4, cur.1 + cur.2 + 8, cur.3)?.first()?;
    let cfg = boxes(mp4, entry.1 + entry.2 + 78, entry.3)?
        .into_iter()
        .find(|c| &c.0 == fourcc)?;
    Some(mp4[cfg.1 + cfg.2..cfg.3].to_vec())
}

/// The libx264/libx265 arguments for the head; `Err` is a reason to fall back.
fn encoder_args(
    probe: &Probe,
    packets: &[Packet],
    options: Option<&str>,
) -> std::result::Result<Vec<String>, Fallback> {
    let mut args: Vec<String> = Vec::new();
    // Reordering depth in frames: how far decoding runs ahead of presentation.
    let frame_ticks =
        (probe.fps.1 as f64 * probe.tb.1 as f64) / (probe.fps.0 as f64 * probe.tb.0 as f64);
    // (Matroska has no decoding times: then the decoder's view, has_b_frames.)
    let delay = match packets.iter().filter_map(|p| Some(p.pts - p.dts?)).max() {
        Some(d) => (d.max(0) as f64 / frame_ticks).round() as i64,
        None => probe.has_b_frames,
    };
    match probe.codec {
        Codec::H264 => {
            let profile = match probe.profile.as_str() {
                "Baseline" | "Constrained Baseline" => "baseline",
                "Main" => "main",
                "High" => "high",
                other => return Err(format!("H.264 profile {other:?} is not handled").into()),
            };
            if probe.level < 10 {
                return Err(format!("H.264 level {} is not handled", probe.level).into());
            }
            let AvccSets { sps, pps, .. } = avcc_sets(&probe.config).ok_or("unreadable avcC")?;
            let mut used: Vec<u32> = sps.iter().filter_map(|s| first_ue(s, 4)).collect();
            used.extend(pps.iter().filter_map(|p| first_ue(p, 1)));
            let id = (1..32)
                .find(|i| !used.contains(i))
                .ok_or("no free SPS id")?;
            let mut x = vec![format!("sps-id={id}")];
            let opts = options.and_then(|o| o.strip_prefix("x264 "));
            let mut bframes_set = false;
            for (k, v) in opts.map(option_map).unwrap_or_default() {
                let Some(v) = v else { continue };
                match k {
                    "interlaced" if v != "0" => return Err("interlaced H.264".into()),
                    "bframes" | "ref" | "weightb" | "weightp" | "cabac" | "8x8dct" => {
                        bframes_set |= k == "bframes";
                        x.push(format!("{k}={v}"));
                    }
                    "b_pyramid" => x.push(format!(
                        "b-pyramid={}",
                        match v {
                            "0" => "none",
                            "1" => "strict",
                            _ => "normal",
                        }
                    )),
                    _ => {}
                }
            }
            if !bframes_set {
                x.push(match delay {
                    0 => "bframes=0".into(),
                    1 => "bframes=3:b-pyramid=none".into(),
                    2 => "bframes=3:b-pyramid=normal".into(),
                    d => {
                        return Err(
                            format!("a reordering depth of {d} frames is not handled").into()
                        )
                    }
                });
            }
            let level = format!("{}.{}", probe.level / 10, probe.level % 10);
            args.extend(
                [
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-crf",
                    "18",
                    "-profile:v",
                    profile,
                    "-level",
                    &level,
                    "-x264-params",
                ]
                .map(String::from),
            );
            args.push(x.join(":"));
        }
        Codec::Hevc => {
            let Some(opts) = options.and_then(|o| o.strip_prefix("x265 ")) else {
                return Err(
                    "H.265 not made by x265 (no x265 options SEI): its parameter sets cannot be \
                     reproduced"
                        .into(),
                );
            };
            let skip = [
                "cpuid",
                "frame-threads",
                "numa-pools",
                "log-level",
                "input-csp",
                "fps",
                "input-res",
                "total-frames",
                "stats-write",
                "stats-read",
                "crf",
                "bitrate",
                "qp",
                "rc",
                "pools",
                "csv",
                "csv-log-level",
                "bitdepth",
                // Printed whether or not they were set, and setting them makes x265 write them
                // into the VUI: the colour and aspect come from ffmpeg's own options instead.
                "videoformat",
                "range",
                "colorprim",
                "transfer",
                "colormatrix",
                "chromaloc",
                "sar",
                "overscan",
                "display-window",
                "cll",
            ];
            let mut x = vec!["log-level=error".to_string(), "crf=18".to_string()];
            for (k, v) in option_map(opts) {
                // Malformed tokens (x265 3.5 glues two options together) and analysis
                // settings are not encoder parameters that shape the bitstream headers.
                if skip.contains(&k) || k.starts_with("analysis") || k.contains("conformance") {
                    continue;
                }
                match v {
                    Some(v) if !v.contains(':') => x.push(format!("{k}={v}")),
                    Some(v) => x.push(format!("{k}={}", v.replace(':', ","))),
                    None => x.push(format!("{k}=1")),
                }
            }
            let profile = match probe.profile.as_str() {
                "Main" => "main",
                other => return Err(format!("H.265 profile {other:?} is not handled").into()),
            };
            args.extend(
                [
                    "-c:v",
                    "libx265",
                    "-preset",
                    "medium",
                    "-profile:v",
                    profile,
                    "-x265-params",
                ]
                .map(String::from),
            );
            args.push(x.join(":"));
        }
    }
    // The Y4M pipe labels 4:2:0 as centre-sited (C420jpeg); the encoder must not write that
    // into the head's VUI, which would differ from the input's (and, for H.265, break the
    // identity of the parameter sets).
    args.extend(["-chroma_sample_location", "unspecified"].map(String::from));
    for (opt, val) in &probe.colour {
        args.push(opt.to_string());
        args.push(val.clone());
    }
    Ok(args)
}

/// Decode the head, label it, encode it, join it to the copied rest and write the output.
/// The inner `Err` is a reason to fall back.
fn render(
    job: &Job,
    probe: &Probe,
    packets: &[Packet],
    cut: usize,
    options: Option<&str>,
    dir: &Path,
    underway: Underway,
) -> Result<std::result::Result<MarkReport, Fallback>> {
    let Underway {
        mut decoder,
        others,
    } = underway;
    let enc_args = match encoder_args(probe, packets, options) {
        Ok(a) => a,
        Err(why) => return Ok(Err(why)),
    };
    let head = dir.join("head.mp4");
    let timescale = probe.tb.1.to_string();
    let mut enc = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-f",
            "yuv4mpegpipe",
            "-i",
            "-",
        ])
        .args(["-map", "0:v", "-pix_fmt", "yuv420p"])
        .args(&enc_args)
        .args(["-video_track_timescale", &timescale, "-f", "mp4"])
        .arg(&head)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| super::super::missing_tool("ffmpeg", &e))?;
    let dec_out = decoder.0.stdout.take().ok_or("ffmpeg: no stdout")?;
    let enc_in = enc.stdin.take().ok_or("ffmpeg: no stdin")?;
    // A 720p frame is 1.4 MB: with the default 64 KiB pipes it crosses each pipe in 22 pieces,
    // each a wake-up of the other side. 1 MiB is the most an unprivileged process may ask for
    // (/proc/sys/fs/pipe-max-size); if refused, the default stays.
    #[cfg(target_os = "linux")]
    for pipe in [
        std::os::fd::AsFd::as_fd(&dec_out),
        std::os::fd::AsFd::as_fd(&enc_in),
    ] {
        let _ = rustix::pipe::fcntl_setpipe_size(pipe, 1 << 20);
    }
    #[cfg(target_os = "linux")]
    let marked = super::mark_frames_spliced(
        dec_out,
        enc_in,
        (job.text, job.anchor, job.min_ratio),
        job.duration_s,
        cut as u64,
    );
    #[cfg(not(target_os = "linux"))]
    let marked = super::mark_frames(
        dec_out,
        std::io::BufWriter::new(enc_in),
        job.text,
        job.anchor,
        job.min_ratio,
        job.duration_s,
        Some(cut as u64),
    );
    // The decoder has decoded ahead: stopped here (a short head is checked below, by the
    // joined file's packet count).
    drop(decoder);
    let enc_status = enc.wait_with_output().map_err(|e| e.to_string())?;
    // Any failure here falls back: the full re-encode then reports a broken input properly.
    if !enc_status.status.success() {
        return Ok(Err(format!(
            "encoding the head failed: {}",
            String::from_utf8_lossy(&enc_status.stderr).trim()
        )
        .into()));
    }
    let (labelled, overlay, y4m) = match marked {
        Ok(m) => m,
        Err(e) => return Ok(Err(format!("labelling the head failed: {e}").into())),
    };
    if (y4m.width as u64, y4m.height as u64) != (probe.width, probe.height) {
        return Ok(Err(
            "the decoded frame size differs from the stream's".into()
        ));
    }
    // Parameter sets: see the module comment.
    let head_bytes = std::fs::read(&head).map_err(|e| format!("{}: {e}", head.display()))?;
    let fourcc = match probe.codec {
        Codec::H264 => b"avcC",
        Codec::Hevc => b"hvcC",
    };
    let Some(head_cfg) = config_box(&head_bytes, fourcc) else {
        return Ok(Err(
            "the head's sample entry has no decoder configuration".into()
        ));
    };
    let merged = match probe.codec {
        Codec::H264 => match merge_avcc(&probe.config, &head_cfg) {
            Some(m) => Some(m),
            None => {
                return Ok(Err(
                    "the parameter sets cannot be merged into one avcC".into()
                ))
            }
        },
        Codec::Hevc => {
            if hvcc_sets(&head_cfg) != hvcc_sets(&probe.config) || hvcc_sets(&head_cfg).is_none() {
                return Ok(Err(
                    "the re-encoded H.265 parameter sets differ from the input's (x265 cannot \
                     renumber them)"
                        .into(),
                ));
            }
            None
        }
    };
    let ext = super::super::extension(job.output);
    let joined_path = dir.join(format!("joined.{ext}"));
    // An MP4/MOV into the same kind of file is joined here (see `mp4join`), anything else, or
    // a layout that module declines, by ffmpeg's concat demuxer.
    let in_place = if probe.mp4 && ext != "mkv" {
        let config = merged.as_deref().map(|m| (fourcc, m));
        mp4join::join(job.input, &head_bytes, config, &joined_path, ext == "mov")?
    } else {
        Err("not an MP4/MOV".into())
    };
    let k = &packets[cut];
    let joined_how = match in_place {
        Ok(tracks) => format!(
            "joined in place: the input with the head's samples in place of its own, its \
             sample tables rebuilt, {tracks} other tracks copied"
        ),
        Err(why) => {
            if let Some(merged) = &merged {
                let Some(patched) = replace_config_box(&head_bytes, fourcc, merged) else {
                    return Ok(Err("could not rewrite the head's avcC".into()));
                };
                std::fs::write(&head, patched).map_err(|e| format!("{}: {e}", head.display()))?;
            }
            let others = others()?;
            if let Err(why) = concat(job, probe, k, &head, &others, dir, &joined_path)? {
                return Ok(Err(why));
            }
            // (The in-place join checks what it wrote itself, every sample; see `mp4join`.)
            if let Err(why) = tail_kept(&joined_path, probe, packets, cut, ext == "mkv")? {
                return Ok(Err(why));
            }
            format!(
                "joined by ffmpeg's concat demuxer ({why}); {}",
                others.describe()
            )
        }
    };
    let implicit = super::super::write_made_file(
        job.input,
        &joined_path,
        job.output,
        job.profile,
        job.overwrite,
    )?;
    let reencoded_s = k.pts as f64 * probe.tb.0 as f64 / probe.tb.1 as f64;
    Ok(Ok(MarkReport {
        labelled_frames: labelled,
        shown_s: labelled as f64 * y4m.frame_s(),
        plate: overlay.rect,
        ink: overlay.ink,
        encoder: enc_args.get(1).cloned().unwrap_or_default(),
        implicit,
        rendering: Rendering {
            mode: "smart".into(),
            reason: format!(
                "re-encoded frames 0..{cut} (0 to {reencoded_s:.3} s, up to the keyframe after \
                 the label), copied {} video packets; {joined_how}",
                packets.len() - cut,
            ),
            reencoded_frames: Some(cut as u64),
            copied_video_packets: Some((packets.len() - cut) as u64),
        },
    }))
}

/// Check, do not trust, ffmpeg's join: the tail's timestamps and key flags in `joined` must be
/// the input's `packets` from `cut` on, and the head must have `cut` frames. An MP4/MOV is read
/// from its sample tables (see `timeline`); Matroska (no decoding times), or a layout that
/// reader declines, by ffprobe. The inner `Err` is a reason to fall back.
fn tail_kept(
    joined: &Path,
    probe: &Probe,
    packets: &[Packet],
    cut: usize,
    mkv: bool,
) -> Result<std::result::Result<(), Fallback>> {
    let (out_tb, joined_packets) = match video_packets(joined)? {
        Ok(read) => read,
        Err(why) => return Ok(Err(format!("joined file: {why}").into())),
    };
    let same_time = |a: i64, ta: (i64, i64), b: i64, tb: (i64, i64)| {
        a as i128 * ta.0 as i128 * tb.1 as i128 == b as i128 * tb.0 as i128 * ta.1 as i128
    };
    // (Equal counts with an equal tail also prove the head has exactly `cut` frames.)
    let tail_ok = joined_packets.len() == packets.len()
        && joined_packets[cut..]
            .iter()
            .zip(&packets[cut..])
            .all(|(o, i)| {
                o.key == i.key
                    && same_time(o.pts, out_tb, i.pts, probe.tb)
                    && match (o.dts, i.dts) {
                        (Some(a), Some(b)) => same_time(a, out_tb, b, probe.tb),
                        (a, b) => a.is_none() && b.is_none() || mkv,
                    }
            });
    if !tail_ok {
        return Ok(Err(
            "the joined file's copied packets do not keep the input's timestamps".into(),
        ));
    }
    Ok(Ok(()))
}

/// Join the head file and the input from the keyframe `k` on with ffmpeg's concat demuxer:
/// video packets copied as they are (`auto_convert 0`: no Annex B conversion); inpoint =
/// duration = the keyframe's time, so the tail's timestamps shift by exactly zero. The inner
/// `Err` is a reason to fall back.
fn concat(
    job: &Job,
    probe: &Probe,
    k: &Packet,
    head: &Path,
    others: &OtherStreams,
    dir: &Path,
    joined_path: &Path,
) -> Result<std::result::Result<(), Fallback>> {
    let t = format!(
        "{:.6}",
        k.pts as f64 * probe.tb.0 as f64 / probe.tb.1 as f64
    );
    let list = dir.join("join.txt");
    let quote = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"));
    let input_abs = std::fs::canonicalize(job.input).map_err(|e| e.to_string())?;
    if [head, &input_abs]
        .iter()
        .any(|p| p.to_string_lossy().contains(['\n', '\r']))
    {
        return Ok(Err(
            "a path with a line break cannot be written into the concat list".into(),
        ));
    }
    std::fs::write(
        &list,
        format!(
            "ffconcat version 1.0\nfile {}\nduration {t}\nfile {}\ninpoint {t}\n",
            quote(head),
            quote(&input_abs)
        ),
    )
    .map_err(|e| e.to_string())?;
    let ext = super::super::extension(job.output);
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin", "-y"])
        .args(["-auto_convert", "0", "-f", "concat", "-safe", "0", "-i"])
        .arg(&list)
        .arg("-i")
        .arg(job.input)
        .args(["-map", "0:v:0", "-c:v", "copy"]);
    others.add_args(&mut cmd, 1);
    if ext != "mkv" {
        cmd.args(["-video_track_timescale", &probe.tb.1.to_string()]);
        if matches!(probe.codec_tag.as_str(), "avc1" | "avc3" | "hvc1" | "hev1") {
            cmd.args(["-tag:v", &probe.codec_tag]);
        }
    }
    let out = cmd
        .arg(joined_path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| super::super::missing_tool("ffmpeg", &e))?;
    if !out.status.success() {
        return Ok(Err(format!(
            "joining failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into()));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `moov` reading of an H.264 MP4/MOV says what ffprobe says, for the profiles, colour
    /// descriptions and containers smart rendering handles, and declines what it does not.
    #[test]
    fn moov_probe_agrees_with_ffprobe() {
        let dir = std::env::temp_dir().join(format!("aigc-moov-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let make = |name: &str, args: &[&str]| {
            let out = dir.join(name);
            let st = Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
                .arg("testsrc2=size=192x108:rate=30000/1001:duration=1")
                .args(["-c:v", "libx264", "-preset", "ultrafast"])
                .args(args)
                .arg(&out)
                .status()
                .expect("ffmpeg runs");
            assert!(st.success(), "{name}");
            out
        };
        let key = |p: &Probe| {
            format!(
                "{:?} {} {} {}x{} {:?} {:?} {:?} {} {:?} {}",
                p.codec,
                p.profile,
                p.level,
                p.width,
                p.height,
                p.tb,
                p.fps,
                p.config,
                p.codec_tag,
                p.colour,
                p.mp4
            )
        };
        let handled = [
            // B-frames (x264's ultrafast, the default here, makes Constrained Baseline).
            make("high.mp4", &["-pix_fmt", "yuv420p", "-preset", "veryfast"]),
            make("baseline.mp4", &["-profile:v", "baseline"]),
            make("main.mov", &["-profile:v", "main", "-pix_fmt", "yuv420p"]),
            make(
                "bt709.mp4",
                &[
                    "-pix_fmt",
                    "yuv420p",
                    "-colorspace",
                    "bt709",
                    "-color_primaries",
                    "bt709",
                    "-color_trc",
                    "bt709",
                    "-color_range",
                    "tv",
                ],
            ),
            make(
                "ntsc.mp4",
                &[
                    "-pix_fmt",
                    "yuv420p",
                    "-colorspace",
                    "smpte170m",
                    "-color_trc",
                    "smpte170m",
                ],
            ),
            make(
                "scaling.mp4",
                &["-pix_fmt", "yuv420p", "-x264-params", "cqm=jvt"],
            ),
        ];
        for f in &handled {
            let ours = moov_probe(f).unwrap_or_else(|| panic!("declined {}", f.display()));
            let described = super::super::streams::probe(f).unwrap();
            let theirs = video_params(&described).unwrap();
            assert_eq!(key(&ours.0), key(&theirs), "{}", f.display());
            assert_eq!(Ok(ours.1), video_packets(f).unwrap().map(|p| p.1));
        }
        // Interlaced, full range, 10-bit and 4:2:2 are declined here (ffprobe then names the
        // reason to fall back).
        for (name, args) in [
            (
                "full.mp4",
                &["-pix_fmt", "yuv420p", "-color_range", "pc"][..],
            ),
            (
                "fields.mp4",
                &["-pix_fmt", "yuv420p", "-flags", "+ildct+ilme"][..],
            ),
            ("ten.mp4", &["-pix_fmt", "yuv420p10le"][..]),
            ("422.mp4", &["-pix_fmt", "yuv422p"][..]),
        ] {
            assert!(moov_probe(&make(name, args)).is_none(), "{name}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn hexdump_round_trip() {
        let dump = "\n00000000: 0164 000d ffe1 0019 6764 000d 22cd 9414  .d......gd..\"...\n\
                    00000010: 9601 00                                  ...\n";
        assert_eq!(
            parse_hexdump(dump),
            vec![
                0x01, 0x64, 0x00, 0x0d, 0xff, 0xe1, 0x00, 0x19, 0x67, 0x64, 0x00, 0x0d, 0x22, 0xcd,
                0x94, 0x14, 0x96, 0x01, 0x00
            ]
        );
    }

    #[test]
    fn sps_and_pps_ids_are_read() {
        // SPS id 3 (ue "00100"), PPS id 3 (from x264 with sps-id=3).
        assert_eq!(first_ue(&[0x67, 0x64, 0x00, 0x0d, 0x22, 0xcd], 4), Some(3));
        assert_eq!(first_ue(&[0x68, 0x21, 0x2f], 1), Some(3));
        assert_eq!(first_ue(&[0x67, 0x64, 0x00, 0x0d, 0xac], 4), Some(0));
    }

    #[test]
    fn cut_is_the_first_closed_keyframe_after_the_label() {
        // 25 fps in 1/12800: 512 ticks a frame; IPBB-like reordering, keyframes every 25.
        let mut p = Vec::new();
        for i in 0..100i64 {
            p.push(Packet {
                pts: i * 512,
                dts: Some(i * 512 - 1024),
                pos: None,
                size: 0,
                key: i % 25 == 0,
            });
        }
        assert_eq!(find_cut(&p, (1, 12800), (25, 1), 2.0), Ok(50));
        assert_eq!(find_cut(&p, (1, 12800), (25, 1), 2.01), Ok(75));
        assert!(find_cut(&p, (1, 12800), (25, 1), 4.0).is_err());
        // Leading pictures: decoded after the keyframe at 2 s but shown before it (open GOP).
        p[50].pts = 52 * 512;
        p[51].pts = 50 * 512;
        p[52].pts = 51 * 512;
        assert_eq!(find_cut(&p, (1, 12800), (25, 1), 2.0), Ok(75));
    }

    #[test]
    fn only_pictures_that_reset_decoding_are_cut_points() {
        // AUD, then the picture's first slice; 4-byte NAL lengths.
        let pkt = |nal: u8| vec![0, 0, 0, 2, 0x09, 0x10, 0, 0, 0, 2, nal, 0x88];
        assert!(check_random_access(Codec::H264, &pkt(0x65), 4).is_ok()); // IDR
        assert!(check_random_access(Codec::H264, &pkt(0x41), 4).is_err()); // non-IDR I/P
        let hevc = |t: u8| vec![0, 0, 0, 3, 0x46, 0x01, 0x50, 0, 0, 0, 2, t << 1, 0x01];
        assert!(check_random_access(Codec::Hevc, &hevc(19), 4).is_ok()); // IDR_W_RADL
        assert!(check_random_access(Codec::Hevc, &hevc(21), 4).is_err()); // CRA
        assert!(check_random_access(Codec::Hevc, &hevc(1), 4).is_err()); // trailing
        assert!(check_random_access(Codec::H264, &[], 4).is_err());
    }
}
