//! 5.4 video: burn the text prompt into the starting frames (by default every frame; at least
//! the profile's 2 s), and measure per-frame presence, timing, glyph height and position in
//! anyone's video.
//!
//! The core works on raw frames in YUV4MPEG2 (Y4M), read and written here (8-bit 4:2:0, 4:2:2,
//! 4:4:4 and mono). Other containers go through the `ffmpeg` command: decoded to Y4M on a pipe,
//! labelled frame by frame, and encoded again with libx264 (or mpeg4 when this ffmpeg has no
//! libx264), copying the other streams as smart rendering does ([`streams`]: audio, subtitles,
//! data, Matroska attachments, with the container's and each stream's metadata). Frame times are the Y4M
//! constant frame rate, i.e. presentation time after ffmpeg's conversion to constant rate.
//!
//! With `--duration`, H.264 and H.265 in MP4/MOV/MKV are rendered smartly instead ([`smart`]):
//! only the GOPs under the label are re-encoded, every later packet and the audio are copied.

use crate::explicit::requirements as req;
use crate::explicit::Result;
use serde::Serialize;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::image::{self as img, Anchor, Method, Overlay, Plane, VisualMeasure};

mod avc;
mod mp4join;
mod smart;
mod streams;
mod timeline;
use super::{ExplicitProfile, Finding};
use crate::limits::{MAX_IMAGE_PIXELS, MAX_VIDEO_FRAMES};

/// Chroma layout of a Y4M stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// 4:2:0 (every `420*` variant; siting does not matter for drawing a plate).
    C420,
    /// 4:2:2.
    C422,
    /// 4:4:4.
    C444,
    /// Luma only.
    Mono,
}

/// A Y4M stream header.
#[derive(Debug, Clone)]
pub struct Y4mHeader {
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// Frame rate numerator.
    pub fps_num: u32,
    /// Frame rate denominator.
    pub fps_den: u32,
    /// Chroma layout.
    pub chroma: Chroma,
    /// The header line as read (written back unchanged).
    pub line: String,
}

impl Y4mHeader {
    /// Bytes per frame.
    pub fn frame_len(&self) -> usize {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = self.chroma_dims();
        match self.chroma {
            Chroma::Mono => w * h,
            _ => w * h + 2 * cw * ch,
        }
    }

    fn chroma_dims(&self) -> (usize, usize) {
        let (w, h) = (self.width as usize, self.height as usize);
        match self.chroma {
            Chroma::C420 => (w.div_ceil(2), h.div_ceil(2)),
            Chroma::C422 => (w.div_ceil(2), h),
            Chroma::C444 => (w, h),
            Chroma::Mono => (0, 0),
        }
    }

    /// Seconds per frame.
    pub fn frame_s(&self) -> f64 {
        self.fps_den as f64 / self.fps_num.max(1) as f64
    }
}

/// Reads Y4M frames one at a time (bounded memory).
pub struct Y4mReader<R: Read> {
    r: BufReader<R>,
    /// The stream header.
    pub header: Y4mHeader,
    frames: u64,
}

impl<R: Read> Y4mReader<R> {
    /// Parse the stream header.
    pub fn new(r: R) -> Result<Self> {
        let mut r = BufReader::new(r);
        let line = read_line(&mut r, 1024)?.ok_or("empty stream: not Y4M")?;
        let mut it = line.split(' ');
        if it.next() != Some("YUV4MPEG2") {
            return Err("not a YUV4MPEG2 stream".into());
        }
        let (mut w, mut h, mut num, mut den, mut chroma) = (0u32, 0u32, 25u32, 1u32, Chroma::C420);
        for tok in it {
            let (tag, v) = tok.split_at(tok.len().min(1));
            match tag {
                "W" => w = v.parse().map_err(|_| format!("bad width {v:?}"))?,
                "H" => h = v.parse().map_err(|_| format!("bad height {v:?}"))?,
                "F" => {
                    let (n, d) = v.split_once(':').ok_or("bad frame rate")?;
                    num = n.parse().map_err(|_| "bad frame rate")?;
                    den = d.parse().map_err(|_| "bad frame rate")?;
                }
                "C" => {
                    chroma = match v {
                        "420" | "420jpeg" | "420paldv" | "420mpeg2" => Chroma::C420,
                        "422" => Chroma::C422,
                        "444" => Chroma::C444,
                        "mono" => Chroma::Mono,
                        other => {
                            return Err(format!(
                            "Y4M colour space C{other} is not supported (8-bit 420/422/444/mono)"
                        )
                            .into())
                        }
                    }
                }
                _ => {}
            }
        }
        if w == 0 || h == 0 || num == 0 || den == 0 {
            return Err("Y4M header without size or frame rate".into());
        }
        if w as u64 * h as u64 > MAX_IMAGE_PIXELS {
            return Err(
                format!("{w}x{h} frames exceed the limit of {MAX_IMAGE_PIXELS} pixels").into(),
            );
        }
        Ok(Y4mReader {
            r,
            header: Y4mHeader {
                width: w,
                height: h,
                fps_num: num,
                fps_den: den,
                chroma,
                line,
            },
            frames: 0,
        })
    }

    /// The next frame into `buf`; `false` at the end of the stream.
    pub fn next_frame(&mut self, buf: &mut Vec<u8>) -> Result<bool> {
        let Some(line) = read_line(&mut self.r, 1024)? else {
            return Ok(false);
        };
        if !line.starts_with("FRAME") {
            return Err(format!("frame {}: expected FRAME, found {line:?}", self.frames).into());
        }
        self.frames += 1;
        if self.frames > MAX_VIDEO_FRAMES {
            return Err(format!("more than {MAX_VIDEO_FRAMES} frames").into());
        }
        buf.resize(self.header.frame_len(), 0);
        self.r
            .read_exact(buf)
            .map_err(|e| format!("frame {}: truncated ({e})", self.frames - 1))?;
        Ok(true)
    }
}

/// One header or frame line, without the newline; `None` at a clean end of stream.
fn read_line<R: BufRead>(r: &mut R, max: usize) -> Result<Option<String>> {
    let mut line = Vec::new();
    let n = r
        .take(max as u64)
        .read_until(b'\n', &mut line)
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err("Y4M line too long or truncated".into());
    }
    line.pop();
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| "Y4M header is not text".into())
}

/// BT.601 limited-range Y, U, V of an overlay pixel (RGB in 0..=255).
fn yuv(p: &[f32; 4]) -> (f32, f32, f32) {
    let (r, g, b) = (p[0], p[1], p[2]);
    (
        16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0,
        128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0,
        128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0,
    )
}

/// Blend an overlay into a YUV frame (BT.601 limited range; blending in YUV equals blending in
/// RGB because the conversion is affine). Only the plate's pixels change.
pub fn blend(h: &Y4mHeader, frame: &mut [u8], o: &Overlay) {
    blend_luma(h, frame, o);
    blend_chroma(h, frame, o);
}

/// Where in a frame [`blend`] reads and writes: the luma rows the plate covers, and the
/// chroma rows from the first U row it covers to the last V row it covers (the end of the U
/// plane and the start of the V plane in between); byte ranges into the frame. The second is
/// empty for a monochrome stream.
fn plate_rows(h: &Y4mHeader, o: &Overlay) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let w = h.width as usize;
    let luma = w * h.height as usize;
    let rows = o.rect.y as usize * w..(o.rect.y + o.rect.h) as usize * w;
    if h.chroma == Chroma::Mono {
        return (rows, luma..luma);
    }
    let (cw, ch) = h.chroma_dims();
    let sy = (h.height as usize).div_ceil(ch);
    let (y0, y1) = (
        o.rect.y as usize / sy,
        ((o.rect.y + o.rect.h) as usize).div_ceil(sy).min(ch),
    );
    (rows, luma + y0 * cw..luma + cw * ch + y1 * cw)
}

/// The luma part of [`blend`]: touches only the first range of [`plate_rows`].
fn blend_luma(h: &Y4mHeader, frame: &mut [u8], o: &Overlay) {
    let w = h.width as usize;
    for dy in 0..o.rect.h as usize {
        for dx in 0..o.rect.w as usize {
            let p = &o.pixels[dy * o.rect.w as usize + dx];
            let (x, y) = (o.rect.x as usize + dx, o.rect.y as usize + dy);
            let i = y * w + x;
            let (yo, _, _) = yuv(p);
            frame[i] = (frame[i] as f32 * (1.0 - p[3]) + yo * p[3]).round() as u8;
        }
    }
}

/// The chroma part of [`blend`]: touches only the second range of [`plate_rows`].
fn blend_chroma(h: &Y4mHeader, frame: &mut [u8], o: &Overlay) {
    if h.chroma == Chroma::Mono {
        return;
    }
    let w = h.width as usize;
    let luma = w * h.height as usize;
    let (cw, ch) = h.chroma_dims();
    let (sx, sy) = (w.div_ceil(cw), (h.height as usize).div_ceil(ch));
    let (x0, y0) = (o.rect.x as usize / sx, o.rect.y as usize / sy);
    let x1 = ((o.rect.x + o.rect.w) as usize).div_ceil(sx).min(cw);
    let y1 = ((o.rect.y + o.rect.h) as usize).div_ceil(sy).min(ch);
    for cy in y0..y1 {
        for cx in x0..x1 {
            // Mean alpha and mean alpha-weighted colour over the luma pixels this sample covers
            // (pixels outside the plate count with alpha 0).
            let (mut a, mut au, mut av) = (0.0f32, 0.0f32, 0.0f32);
            let n = (sx * sy) as f32;
            for ly in cy * sy..cy * sy + sy {
                for lx in cx * sx..cx * sx + sx {
                    let (ox, oy) = (lx as i64 - o.rect.x as i64, ly as i64 - o.rect.y as i64);
                    if ox < 0 || oy < 0 || ox >= o.rect.w as i64 || oy >= o.rect.h as i64 {
                        continue;
                    }
                    let p = &o.pixels[oy as usize * o.rect.w as usize + ox as usize];
                    let (_, u, v) = yuv(p);
                    a += p[3];
                    au += p[3] * u;
                    av += p[3] * v;
                }
            }
            let (a, au, av) = (a / n, au / n, av / n);
            let ui = luma + cy * cw + cx;
            let vi = luma + cw * ch + cy * cw + cx;
            frame[ui] = (frame[ui] as f32 * (1.0 - a) + au)
                .round()
                .clamp(0.0, 255.0) as u8;
            frame[vi] = (frame[vi] as f32 * (1.0 - a) + av)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
}

/// Label a Y4M stream: frames with presentation time < `duration_s` (all if `None`) get the
/// overlay. Returns the number of labelled frames and the overlay.
pub fn mark_stream<R: Read, W: Write>(
    input: R,
    out: W,
    text: &str,
    anchor: Anchor,
    min_ratio: f64,
    duration_s: Option<f64>,
) -> Result<(u64, Overlay, Y4mHeader)> {
    mark_frames(input, out, text, anchor, min_ratio, duration_s, None)
}

/// [`mark_stream`], stopping after `frames` frames if given (the rest is not read).
fn mark_frames<R: Read, W: Write>(
    input: R,
    mut out: W,
    text: &str,
    anchor: Anchor,
    min_ratio: f64,
    duration_s: Option<f64>,
    frames: Option<u64>,
) -> Result<(u64, Overlay, Y4mHeader)> {
    let mut r = Y4mReader::new(input)?;
    let h = r.header.clone();
    let o = img::render_overlay(h.width, h.height, text, anchor, min_ratio)?;
    writeln!(out, "{}", h.line).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let (mut i, mut labelled) = (0u64, 0u64);
    while frames.is_none_or(|n| i < n) && r.next_frame(&mut buf)? {
        let t = i as f64 * h.frame_s();
        // A frame shows the label if it starts before `duration_s` (2.0 s at 25 fps is frames
        // 0..49, shown until 2.0 s); the epsilon absorbs the rounding of i * den / num.
        if duration_s.is_none_or(|d| t + 1e-9 < d) {
            blend(&h, &mut buf, &o);
            labelled += 1;
        }
        out.write_all(b"FRAME\n").map_err(|e| e.to_string())?;
        out.write_all(&buf).map_err(|e| e.to_string())?;
        i += 1;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok((labelled, o, h))
}

/// [`mark_frames`] between two pipes, moving what the label does not touch with `splice`
/// (Linux): of a labelled frame only the rows under the plate pass through this process (about
/// a fifth of a 720p frame), of an unlabelled one nothing; the rest goes from the decoder's
/// pipe to the encoder's without being copied. Reads exactly what it forwards, so the decoder
/// may go on writing frames after the last one taken. Same output as [`mark_frames`].
#[cfg(target_os = "linux")]
pub(super) fn mark_frames_spliced<R, W>(
    mut input: R,
    mut out: W,
    label: (&str, Anchor, f64),
    duration_s: Option<f64>,
    frames: u64,
) -> Result<(u64, Overlay, Y4mHeader)>
where
    R: Read + std::os::fd::AsFd,
    W: Write + std::os::fd::AsFd,
{
    let header = read_raw_line(&mut input)?.ok_or("empty stream: not Y4M")?;
    let h = Y4mReader::new(&header[..])?.header;
    let o = img::render_overlay(h.width, h.height, label.0, label.1, label.2)?;
    out.write_all(&header).map_err(|e| e.to_string())?;
    let (luma_rows, chroma_rows) = plate_rows(&h, &o);
    let mut buf = vec![0u8; h.frame_len()];
    let (mut i, mut labelled) = (0u64, 0u64);
    while i < frames {
        let Some(line) = read_raw_line(&mut input)? else {
            break;
        };
        if !line.starts_with(b"FRAME") {
            return Err(format!("frame {i}: expected FRAME").into());
        }
        out.write_all(&line).map_err(|e| e.to_string())?;
        let t = i as f64 * h.frame_s();
        let mut at = 0;
        if duration_s.is_none_or(|d| t + 1e-9 < d) {
            for (rows, part) in [(&luma_rows, 0), (&chroma_rows, 1)] {
                splice_exact(&input, &out, rows.start - at)?;
                input
                    .read_exact(&mut buf[rows.clone()])
                    .map_err(|e| format!("frame {i}: truncated ({e})"))?;
                if part == 0 {
                    blend_luma(&h, &mut buf, &o);
                } else {
                    blend_chroma(&h, &mut buf, &o);
                }
                out.write_all(&buf[rows.clone()])
                    .map_err(|e| e.to_string())?;
                at = rows.end;
            }
            labelled += 1;
        }
        splice_exact(&input, &out, buf.len() - at)?;
        i += 1;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok((labelled, o, h))
}

/// One Y4M line with its newline, read a byte at a time (nothing past it is consumed);
/// `None` at a clean end of stream.
#[cfg(target_os = "linux")]
fn read_raw_line<R: Read>(r: &mut R) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut byte = [0u8];
    while line.last() != Some(&b'\n') {
        if line.len() >= 1024 {
            return Err("Y4M line too long".into());
        }
        match r.read(&mut byte) {
            Ok(0) if line.is_empty() => return Ok(None),
            Ok(0) => return Err("Y4M line truncated".into()),
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string().into()),
        }
    }
    Ok(Some(line))
}

/// Move exactly `len` bytes from the pipe `from` to the pipe `to` (blocking).
#[cfg(target_os = "linux")]
fn splice_exact(
    from: &impl std::os::fd::AsFd,
    to: &impl std::os::fd::AsFd,
    len: usize,
) -> Result<()> {
    let mut left = len;
    while left > 0 {
        match rustix::pipe::splice(from, None, to, None, left, rustix::pipe::SpliceFlags::MOVE) {
            Ok(0) => return Err("the decoder's frame is truncated".into()),
            Ok(n) => left -= n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(format!("moving frame data: {e}").into()),
        }
    }
    Ok(())
}

fn is_y4m(path: &Path) -> bool {
    let mut head = [0u8; 9];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"YUV4MPEG2"
}

/// ffmpeg's output arguments after `-i <video>`: its first video stream as 8-bit 4:2:0 Y4M on
/// stdout, the form [`Y4mReader`] and [`mark_stream`] read.
const DECODE_TO_Y4M: [&str; 7] = [
    "-map",
    "0:v:0",
    "-f",
    "yuv4mpegpipe",
    "-pix_fmt",
    "yuv420p",
    "-",
];

/// A Y4M stream of any video file: the file itself, or ffmpeg decoding it on a pipe (under the
/// caller's deadline, [`crate::tool::with_deadline`]).
enum Source {
    File(std::fs::File),
    Ffmpeg(crate::tool::Streaming),
}

impl Source {
    fn open(path: &Path) -> Result<Source> {
        if is_y4m(path) {
            return std::fs::File::open(path)
                .map(Source::File)
                .map_err(|e| format!("{}: {e}", path.display()).into());
        }
        crate::tool::Tool::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(path)
            .args(DECODE_TO_Y4M)
            .file(path)
            .stream()
            .map(Source::Ffmpeg)
            .map_err(|e| super::ExplicitError::Tool(e.to_string()))
    }

    fn reader(&mut self) -> Box<dyn Read + '_> {
        match self {
            Source::File(f) => Box::new(f),
            Source::Ffmpeg(s) => Box::new(s.stdout()),
        }
    }

    /// Stop the decoder; `Err` when the deadline stopped it first (the frames read are then
    /// incomplete and no measurement may be made of them).
    fn finish(self) -> Result<()> {
        match self {
            Source::File(_) => Ok(()),
            Source::Ffmpeg(s) => s
                .finish()
                .map_err(|e| super::ExplicitError::Tool(e.to_string())),
        }
    }
}

/// What `mark` did to a video.
#[derive(Debug, Clone, Serialize)]
pub struct MarkReport {
    /// Frames carrying the label.
    pub labelled_frames: u64,
    /// Seconds from the first frame the label is shown.
    pub shown_s: f64,
    /// Plate rectangle.
    pub plate: img::Rect,
    /// Ink box of the text.
    pub ink: img::Rect,
    /// Encoder used (`y4m` when written natively).
    pub encoder: String,
    /// The implicit label carried over, or why not.
    pub implicit: String,
    /// Smart rendering (only the labelled GOPs re-encoded) or a full re-encode, and why.
    pub rendering: Rendering,
}

/// How a video was rendered.
#[derive(Debug, Clone, Serialize)]
pub struct Rendering {
    /// `smart` (the GOPs under the label re-encoded, every later packet and the audio copied),
    /// `full` (every frame decoded and encoded again) or `y4m` (raw frames, written natively).
    pub mode: String,
    /// What was done, or why smart rendering was not possible.
    pub reason: String,
    /// Smart: frames re-encoded from the first.
    pub reencoded_frames: Option<u64>,
    /// Smart: video packets copied unchanged.
    pub copied_video_packets: Option<u64>,
}

impl Rendering {
    fn full(reason: String) -> Rendering {
        Rendering {
            mode: "full".into(),
            reason,
            reencoded_frames: None,
            copied_video_packets: None,
        }
    }
}

/// Label a video file. Y4M is written natively; anything else is decoded and encoded by ffmpeg.
pub fn mark_file(
    input: &Path,
    output: &Path,
    text: &str,
    anchor: Anchor,
    duration_s: Option<f64>,
    profile: &crate::Profile,
    overwrite: impl Into<super::WriteMode>,
) -> Result<MarkReport> {
    let overwrite = overwrite.into();
    let p = ExplicitProfile::from_profile(profile)?;
    let ratio = p.video.min_text_height_ratio;
    if is_y4m(input) {
        let f = std::fs::File::open(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let mut result = None;
        crate::io::write_atomically_with(
            output,
            overwrite.overwrite,
            overwrite.durability,
            Some(input),
            |out| {
                let r = mark_stream(f, out, text, anchor, ratio, duration_s)
                    .map_err(|e| crate::error::CodecError::Unsupported(e.to_string()))?;
                result = Some(r);
                Ok(())
            },
        )
        .map_err(|e| match e {
            crate::io::WriteError::Exists(p) => format!("{}: exists (use --force)", p.display()),
            crate::io::WriteError::Codec(c) => format!("{}: {c}", input.display()),
        })?;
        let (n, o, h) = result.ok_or("no result")?;
        return Ok(MarkReport {
            labelled_frames: n,
            shown_s: n as f64 * h.frame_s(),
            plate: o.rect,
            ink: o.ink,
            encoder: "y4m".into(),
            implicit: "Y4M has no metadata carrier".into(),
            rendering: Rendering {
                mode: "y4m".into(),
                reason: "raw frames: the labelled frames are written, the rest copied".into(),
                reencoded_frames: None,
                copied_video_packets: None,
            },
        });
    }
    let fallback = match smart::mark(&smart::Job {
        input,
        output,
        text,
        anchor,
        min_ratio: ratio,
        duration_s,
        profile,
        overwrite,
    })? {
        smart::Outcome::Done(report) => return Ok(report),
        smart::Outcome::Fallback(why) => why,
    };
    let encoder = if super::run_tool(
        "ffmpeg",
        &["-v".as_ref(), "error".as_ref(), "-encoders".as_ref()],
    )?
    .windows(7)
    .any(|w| w == b"libx264")
    {
        vec!["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]
    } else {
        vec!["-c:v", "mpeg4", "-q:v", "2"]
    };
    let ext = super::extension(output);
    let tmp = img::temp_path("video", if ext.is_empty() { "mp4" } else { &ext });
    let mut src = Source::open(input)?;
    let others = streams::OtherStreams::of(input, output)?;
    let mut enc = Command::new("ffmpeg");
    enc.args(["-v", "error", "-y", "-f", "yuv4mpegpipe", "-i", "-", "-i"])
        .arg(input)
        .args(["-map", "0:v", "-pix_fmt", "yuv420p"])
        .args(&encoder);
    others.add_args(&mut enc, 1);
    let mut enc = enc
        .arg(&tmp)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| super::missing_tool("ffmpeg", &e))?;
    let stdin = enc.stdin.take().ok_or("ffmpeg: no stdin")?;
    let marked = mark_stream(
        src.reader(),
        std::io::BufWriter::new(stdin),
        text,
        anchor,
        ratio,
        duration_s,
    );
    let decoded = src.finish();
    let status = enc.wait_with_output().map_err(|e| e.to_string())?;
    let cleanup = || {
        let _ = std::fs::remove_file(&tmp);
    };
    // A decoder stopped by the deadline gave too few frames: the output would be cut short.
    let (n, o, h) = match decoded.and(marked) {
        Ok(r) => r,
        Err(e) => {
            cleanup();
            return Err(format!("{}: {e}", input.display()).into());
        }
    };
    if !status.status.success() {
        cleanup();
        return Err(format!(
            "ffmpeg encoding failed: {}",
            String::from_utf8_lossy(&status.stderr).trim()
        )
        .into());
    }
    let bytes = std::fs::read(&tmp).map_err(|e| e.to_string());
    cleanup();
    let (bytes, implicit) = super::carry_implicit(input, bytes?, profile);
    super::write_bytes(output, &bytes, overwrite)?;
    Ok(MarkReport {
        labelled_frames: n,
        shown_s: n as f64 * h.frame_s(),
        plate: o.rect,
        ink: o.ink,
        encoder: encoder[1].to_string(),
        implicit,
        rendering: Rendering::full(format!("{fallback}; {}", others.describe())),
    })
}

/// Measurements of a video's prompt.
#[derive(Debug, Clone, Serialize)]
pub struct VideoMeasure {
    /// Frame size.
    pub width: u32,
    /// Frame size.
    pub height: u32,
    /// Frames per second.
    pub fps: f64,
    /// Frames read.
    pub frames: u64,
    /// Presentation time of the first frame showing the label.
    pub first_shown_s: Option<f64>,
    /// End of the last frame showing it.
    pub last_shown_s: Option<f64>,
    /// How long it is shown without interruption from the first frame (0 if not on it).
    pub shown_from_start_s: f64,
    /// Frames showing it.
    pub frames_shown: u64,
    /// Height, position and OCR, measured on the first frame showing it.
    pub visual: Option<VisualMeasure>,
}

fn y_plane(h: &Y4mHeader, frame: &[u8]) -> Plane {
    Plane {
        w: h.width,
        h: h.height,
        data: frame[..(h.width * h.height) as usize].to_vec(),
    }
}

/// Measure a video (with the original: per-frame difference; without: the label region found on
/// the first frame, then per-frame comparison with that region).
pub fn measure_file(
    path: &Path,
    original: Option<&Path>,
    run_ocr: bool,
    p: &ExplicitProfile,
) -> Result<VideoMeasure> {
    let band = p.video.edge_band_ratio;
    let mut src = Source::open(path)?;
    let mut orig = original.map(Source::open).transpose()?;
    let result = (|| {
        let mut r = Y4mReader::new(src.reader()).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut ro = match orig.as_mut() {
            Some(o) => Some(Y4mReader::new(o.reader())?),
            None => None,
        };
        let h = r.header.clone();
        if let Some(ro) = &ro {
            if (ro.header.width, ro.header.height) != (h.width, h.height) {
                return Err("the original's frame size differs".into());
            }
        }
        let (mut buf, mut obuf) = (Vec::new(), Vec::new());
        let mut m = VideoMeasure {
            width: h.width,
            height: h.height,
            fps: h.fps_num as f64 / h.fps_den as f64,
            frames: 0,
            first_shown_s: None,
            last_shown_s: None,
            shown_from_start_s: 0.0,
            frames_shown: 0,
            visual: None,
        };
        let mut template: Option<(img::Rect, Vec<u8>)> = None;
        let mut from_start = true;
        // Later labelled frames (and their originals) to read again when the first frame's
        // reading does not conform: one every half second, VOTE_FRAMES in all.
        let mut vote_frames: Vec<(Plane, Option<Plane>)> = Vec::new();
        let vote_step = ((h.fps_num as f64 / h.fps_den as f64) * 0.5)
            .round()
            .max(1.0) as u64;
        while r.next_frame(&mut buf)? {
            let t = m.frames as f64 * h.frame_s();
            let plane = y_plane(&h, &buf);
            let mut orig_plane = None;
            let present = match ro.as_mut() {
                Some(ro) => {
                    if !ro.next_frame(&mut obuf)? {
                        return Err("the original has fewer frames".into());
                    }
                    let op = orig_plane.insert(y_plane(&ro.header, &obuf));
                    let vm = img::measure_diff(op, &plane, band);
                    let present = vm.ink.is_some();
                    if present && m.visual.is_none() {
                        m.visual = Some(finish_visual(vm, &plane, Some(op), run_ocr, p));
                    }
                    present
                }
                None => {
                    if m.frames == 0 {
                        let vm = img::measure_scan(&plane, band, run_ocr.then_some(p));
                        if let Some(reg) = vm.region.filter(|_| vm.ink.is_some()) {
                            template = Some((reg, crop(&plane, reg)));
                            m.visual = Some(finish_visual(vm, &plane, None, run_ocr, p));
                        }
                    }
                    match &template {
                        Some((reg, tpl)) => mean_abs_diff(&crop(&plane, *reg), tpl) < 12.0,
                        None => false,
                    }
                }
            };
            if present {
                let first_unread = m
                    .visual
                    .as_ref()
                    .and_then(|v| v.ocr.as_ref())
                    .is_some_and(|o| o.error.is_none() && !o.conforms());
                if run_ocr
                    && first_unread
                    && m.frames_shown > 0
                    && m.frames_shown.is_multiple_of(vote_step)
                    && vote_frames.len() + 1 < VOTE_FRAMES
                {
                    vote_frames.push((plane, orig_plane));
                }
                m.frames_shown += 1;
                m.first_shown_s.get_or_insert(t);
                m.last_shown_s = Some(t + h.frame_s());
                if from_start && m.first_shown_s == Some(0.0) {
                    m.shown_from_start_s = t + h.frame_s();
                }
            } else {
                from_start = false;
            }
            m.frames += 1;
        }
        if let Some(vm) = m.visual.as_mut().filter(|_| !vote_frames.is_empty()) {
            let mut readings: Vec<img::Ocr> = vm.ocr.take().into_iter().collect();
            for (frame, orig) in &vote_frames {
                readings.push(img::ocr_with_original(frame, orig.as_ref(), vm, p));
            }
            vm.ocr = img::vote(readings);
        }
        Ok(m)
    })();
    let stopped = src.finish();
    let stopped_original = orig.map(Source::finish).unwrap_or(Ok(()));
    stopped?;
    stopped_original?;
    result
}

/// Frames whose readings are voted on when the first labelled frame's does not conform
/// ([`img::vote`]): encoding noise differs from frame to frame, and so do misreadings.
const VOTE_FRAMES: usize = 5;

fn finish_visual(
    mut vm: VisualMeasure,
    plane: &Plane,
    original: Option<&Plane>,
    run_ocr: bool,
    p: &ExplicitProfile,
) -> VisualMeasure {
    if run_ocr && vm.ocr.is_none() {
        vm.ocr = Some(img::ocr_with_original(plane, original, &vm, p));
    }
    debug_assert!(vm.method == Method::Diff || vm.method == Method::Scan);
    vm
}

fn crop(p: &Plane, r: img::Rect) -> Vec<u8> {
    let mut out = Vec::with_capacity((r.w * r.h) as usize);
    for y in r.y..r.y + r.h {
        let s = (y * p.w + r.x) as usize;
        out.extend_from_slice(&p.data[s..s + r.w as usize]);
    }
    out
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return f64::MAX;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as u64)
        .sum::<u64>() as f64
        / a.len() as f64
}

/// Verdicts GB-5.4-b, c, e (edge band, as for images: profile explicit.video.edge_band_ratio), f, g
/// from the measurement.
pub fn judge(m: &VideoMeasure, p: &ExplicitProfile) -> Vec<Finding> {
    let v = &p.video;
    let mut f = match &m.visual {
        Some(vm) => img::judge_visual(
            vm,
            v.min_text_height_ratio,
            v.edge_band_ratio,
            (req::GB_5_4_B, Some(req::GB_5_4_E), req::GB_5_4_F),
        ),
        None => vec![
            Finding::judge(req::GB_5_4_B, false, "no label found"),
            Finding::judge(req::GB_5_4_F, false, "no label found"),
        ],
    };
    // 5.4 a): a text prompt. The label region found on the frames is text when OCR read
    // characters in it (what they say is 5.4 b's).
    let read = m
        .visual
        .as_ref()
        .filter(|vm| vm.ink.is_some())
        .map(|vm| vm.ocr.as_ref().filter(|o| o.error.is_none()));
    f.insert(
        0,
        match read {
            None => Finding::judge(req::GB_5_4_A, false, "no label found on any frame"),
            Some(Some(o)) if !o.text.is_empty() => Finding::judge(
                req::GB_5_4_A,
                true,
                format!("text prompt read as {:?}", o.text),
            ),
            Some(_) => Finding::unknown(
                req::GB_5_4_A,
                "a label region on the frames, but OCR read no characters (or did not run)",
            ),
        },
    );
    f.push(match m.first_shown_s {
        Some(t) => Finding::judge(
            req::GB_5_4_C,
            t <= v.start_tolerance_s + 1e-9,
            format!(
                "first shown at {t:.3} s (the first frame is 0 s; tolerance {} s)",
                v.start_tolerance_s
            ),
        ),
        None => Finding::judge(req::GB_5_4_C, false, "the label is on no frame"),
    });
    f.push(Finding::judge(
        req::GB_5_4_G,
        m.shown_from_start_s + 1e-6 >= v.min_start_duration_s,
        format!(
            "shown {:.3} s from the first frame ({} frames at {:.3} fps); minimum {} s",
            m.shown_from_start_s,
            (m.shown_from_start_s * m.fps).round(),
            m.fps,
            v.min_start_duration_s
        ),
    ));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    /// A 25 fps 4:2:0 stream's header, and its header line.
    fn header_420(w: u32, h: u32) -> (Y4mHeader, Vec<u8>) {
        let hd = Y4mHeader {
            width: w,
            height: h,
            fps_num: 25,
            fps_den: 1,
            chroma: Chroma::C420,
            line: String::new(),
        };
        let line = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\n").into_bytes();
        (hd, line)
    }

    fn y4m(w: u32, h: u32, frames: usize) -> Vec<u8> {
        let (hd, mut v) = header_420(w, h);
        for i in 0..frames {
            v.extend_from_slice(b"FRAME\n");
            let mut f = vec![128u8; hd.frame_len()];
            for (k, px) in f[..(w * h) as usize].iter_mut().enumerate() {
                *px = ((k as u32 % w + i as u32) % 200 + 30) as u8;
            }
            v.extend_from_slice(&f);
        }
        v
    }

    #[test]
    fn marked_y4m_is_measured_for_the_duration() {
        let p = ExplicitProfile::from_profile(&Profile::builtin()).unwrap();
        let input = y4m(160, 288, 60);
        let mut out = Vec::new();
        let (n, _, _) = mark_stream(
            &input[..],
            &mut out,
            "AI生成",
            Anchor::TopLeft,
            0.05,
            Some(2.0),
        )
        .unwrap();
        assert_eq!(n, 50);
        let (a, b) = (img::temp_path("orig", "y4m"), img::temp_path("out", "y4m"));
        std::fs::write(&a, &input).unwrap();
        std::fs::write(&b, &out).unwrap();
        let m = measure_file(&b, Some(&a), false, &p);
        let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b));
        let m = m.unwrap();
        assert_eq!(m.frames_shown, 50);
        assert!((m.shown_from_start_s - 2.0).abs() < 1e-9);
        assert!(m.visual.unwrap().height_ratio.unwrap() >= 0.05);
    }

    /// The spliced labelling writes exactly what the buffered one writes, with the plate at
    /// the top or at the bottom edge, odd frame sizes, and fewer frames taken than sent.
    #[cfg(target_os = "linux")]
    #[test]
    fn spliced_labelling_writes_what_buffered_labelling_writes() {
        for (w, h, anchor) in [
            (322u32, 182u32, Anchor::TopLeft),
            (321, 241, Anchor::BottomRight),
        ] {
            let (hd, mut input) = header_420(w, h);
            // Every plane varies, so that a wrong row range shows in luma and in chroma.
            let mut x = 0x2545_f491u32;
            for _ in 0..12 {
                input.extend_from_slice(b"FRAME\n");
                for _ in 0..hd.frame_len() {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    input.push((x >> 24) as u8);
                }
            }
            let mut expected = Vec::new();
            let (n, _, _) = mark_frames(
                &input[..],
                &mut expected,
                "AI生成",
                anchor,
                0.1,
                Some(0.2),
                Some(9),
            )
            .unwrap();
            assert_eq!(n, 5);
            let (from_decoder, to_us) = std::io::pipe().unwrap();
            let (from_us, to_encoder) = std::io::pipe().unwrap();
            let feeder = std::thread::spawn(move || {
                let mut to_us = to_us;
                // The frames after the ninth are not taken: the write then fails, as the
                // decoder's does when it is stopped.
                let _ = to_us.write_all(&input);
            });
            let reader = std::thread::spawn(move || {
                let mut got = Vec::new();
                let mut from_us = from_us;
                from_us.read_to_end(&mut got).unwrap();
                got
            });
            let (n, _, _) = mark_frames_spliced(
                from_decoder,
                to_encoder,
                ("AI生成", anchor, 0.1),
                Some(0.2),
                9,
            )
            .unwrap();
            assert_eq!(n, 5);
            let got = reader.join().unwrap();
            feeder.join().unwrap();
            assert_eq!(got.len(), expected.len());
            assert!(got == expected, "{w}x{h}: the spliced output differs");
        }
    }
}
