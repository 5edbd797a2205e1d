//! The video track's sample times and keyframes, read from an MP4/MOV file's `moov`
//! (ISO/IEC 14496-12: `mdhd`, `elst`, `stts`, `ctts`, `stss`, `stsz`).
//!
//! Smart rendering checks the file it joined: every copied packet must keep the input's
//! presentation and decoding times and its key flag. Reading them here, from the bytes already
//! in memory, takes microseconds where another ffprobe run takes about 0.1 s (most of it the
//! dynamic linking of ffmpeg's libraries), and it is a reading independent of ffmpeg, which
//! wrote the file. Only the plain layout ffmpeg's MP4 muxer writes is read: one video track,
//! at most one edit, which starts the presentation at a media time (the B-frame delay) at
//! normal rate. Anything else (a fragmented file, an empty edit, several edits, a malformed
//! table) answers `None`, and the caller asks ffprobe instead.

use crate::implicit::bmff::{children, full_box, BoxRef};

/// One sample of the video track, in decoding order, in the track's time scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SampleTime {
    /// Presentation time: composition time minus the edit's media time.
    pub pts: i64,
    /// Decoding time minus the edit's media time (ffmpeg's convention, which the input's times,
    /// read with ffprobe, follow: the first frame is shown at 0, decoded before it).
    pub dts: i64,
    /// A sync sample (`stss`; every sample when the table is absent).
    pub key: bool,
    /// Byte offset in the file (`stco`/`co64` and `stsc`) and size (`stsz`).
    pub pos: u64,
    pub size: u64,
}

/// The first video track's time scale (ticks per second) and samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TrackTimes {
    pub timescale: i64,
    /// The edit's media time: where the presentation starts in the media's decoding timeline.
    pub media_time: i64,
    /// The last sample's duration (its `stts` delta).
    pub last_duration: i64,
    pub samples: Vec<SampleTime>,
}

/// The first video track's times in `file` (a whole MP4/MOV file), or `None` when its layout is
/// not the plain one described in the module comment.
pub(super) fn video_track_times(file: &[u8]) -> Option<TrackTimes> {
    let top = children(file, 0..file.len(), 0, 0).ok()?;
    let moov = child(&top, b"moov")?;
    let moov_kids = children(file, moov.body(), 0, 1).ok()?;
    // Movie fragments add samples the sample tables do not list.
    if child(&moov_kids, b"mvex").is_some() {
        return None;
    }
    let (_, trak_kids, mdia_kids) = video_trak(file, &moov_kids)?;
    track_times(file, &trak_kids, &mdia_kids)
}

/// The first video track among `moov_kids` (the children of a `moov` in `file`): its index in
/// `moov_kids`, its children and its `mdia`'s children.
pub(super) fn video_trak(
    file: &[u8],
    moov_kids: &[BoxRef],
) -> Option<(usize, Vec<BoxRef>, Vec<BoxRef>)> {
    for (i, trak) in moov_kids.iter().enumerate() {
        if &trak.kind != b"trak" {
            continue;
        }
        let trak_kids = children(file, trak.body(), 0, 2).ok()?;
        let mdia = child(&trak_kids, b"mdia")?;
        let mdia_kids = children(file, mdia.body(), 0, 3).ok()?;
        let (_, _, hdlr) = full_body(file, child(&mdia_kids, b"hdlr")?)?;
        // pre_defined (4), then handler_type.
        if hdlr.get(4..8)? == b"vide" {
            return Some((i, trak_kids, mdia_kids));
        }
    }
    None
}

/// The children of the sample table (`minf`/`stbl`) of a track whose `mdia` has `mdia_kids`.
pub(super) fn stbl_kids(file: &[u8], mdia_kids: &[BoxRef]) -> Option<Vec<BoxRef>> {
    let minf = child(mdia_kids, b"minf")?;
    let stbl = child(&children(file, minf.body(), 0, 4).ok()?, b"stbl")?.clone();
    children(file, stbl.body(), 0, 5).ok()
}

pub(super) fn child<'a>(boxes: &'a [BoxRef], kind: &[u8; 4]) -> Option<&'a BoxRef> {
    boxes.iter().find(|b| &b.kind == kind)
}

/// A FullBox's version, flags and the rest of its body.
pub(super) fn full_body<'a>(file: &'a [u8], b: &BoxRef) -> Option<(u8, u32, &'a [u8])> {
    full_box(file.get(b.body())?, b.body_start()).ok()
}

pub(super) fn be(bytes: &[u8], at: usize, n: usize) -> Option<u64> {
    Some(
        bytes
            .get(at..at + n)?
            .iter()
            .fold(0u64, |v, b| (v << 8) | *b as u64),
    )
}

/// The entries of a table whose body is `entry_count` then `count` entries of `size` bytes.
pub(super) fn entries(rest: &[u8], size: usize) -> Option<std::slice::ChunksExact<'_, u8>> {
    let count = be(rest, 0, 4)? as usize;
    let table = rest.get(4..)?;
    (table.len() / size >= count).then(|| table[..count * size].chunks_exact(size))
}

fn track_times(file: &[u8], trak_kids: &[BoxRef], mdia_kids: &[BoxRef]) -> Option<TrackTimes> {
    let (version, _, mdhd) = full_body(file, child(mdia_kids, b"mdhd")?)?;
    let timescale = match version {
        0 => be(mdhd, 8, 4)?,
        1 => be(mdhd, 16, 4)?,
        _ => return None,
    } as i64;
    if timescale == 0 {
        return None;
    }
    let media_time = match child(trak_kids, b"edts") {
        None => 0,
        Some(edts) => {
            let edts_kids = children(file, edts.body(), 0, 3).ok()?;
            match child(&edts_kids, b"elst") {
                None => 0,
                Some(elst) => edit_media_time(file, elst)?,
            }
        }
    };
    let stbl_kids = stbl_kids(file, mdia_kids)?;
    let (_, _, stsz) = full_body(file, child(&stbl_kids, b"stsz")?)?;
    let count = be(stsz, 4, 4)?;
    if count == 0 || count > crate::limits::MAX_VIDEO_FRAMES {
        return None;
    }
    let count = count as usize;
    let mut samples = Vec::with_capacity(count);
    // Decoding times.
    let (_, _, stts) = full_body(file, child(&stbl_kids, b"stts")?)?;
    let mut dts = 0i64;
    let mut last_duration = 0;
    for e in entries(stts, 8)? {
        let (n, delta) = (be(e, 0, 4)?, be(e, 4, 4)? as i64);
        if n > 0 {
            last_duration = delta;
        }
        for _ in 0..n {
            if samples.len() == count {
                return None;
            }
            samples.push(SampleTime {
                pts: dts,
                dts,
                key: true,
                pos: 0,
                size: 0,
            });
            dts = dts.checked_add(delta)?;
        }
    }
    if samples.len() != count {
        return None;
    }
    // Composition offsets; signed in version 1, and read as signed in version 0 too, as ffmpeg
    // does (some muxers wrote negative offsets before version 1 existed).
    if let Some(ctts) = child(&stbl_kids, b"ctts") {
        let (_, _, ctts) = full_body(file, ctts)?;
        let mut i = 0usize;
        for e in entries(ctts, 8)? {
            let (n, offset) = (be(e, 0, 4)? as usize, be(e, 4, 4)? as u32 as i32 as i64);
            for s in samples.get_mut(i..i.checked_add(n)?)? {
                s.pts = s.dts.checked_add(offset)?;
            }
            i += n;
        }
        if i != count {
            return None;
        }
    }
    if let Some(stss) = child(&stbl_kids, b"stss") {
        let (_, _, stss) = full_body(file, stss)?;
        samples.iter_mut().for_each(|s| s.key = false);
        for e in entries(stss, 4)? {
            let n = be(e, 0, 4)? as usize;
            samples.get_mut(n.checked_sub(1)?)?.key = true;
        }
    }
    for s in &mut samples {
        s.pts -= media_time;
        s.dts -= media_time;
    }
    place_samples(file, &stbl_kids, stsz, &mut samples)?;
    Some(TrackTimes {
        timescale,
        media_time,
        last_duration,
        samples,
    })
}

/// Fill in each sample's size (`stsz`) and byte offset: chunk offsets (`stco` or `co64`), the
/// samples of each chunk (`stsc`), the samples of a chunk stored back to back.
fn place_samples(
    file: &[u8],
    stbl_kids: &[BoxRef],
    stsz: &[u8],
    samples: &mut [SampleTime],
) -> Option<()> {
    let fixed = be(stsz, 0, 4)?;
    if fixed == 0 {
        let sizes = stsz.get(8..)?;
        for (i, s) in samples.iter_mut().enumerate() {
            s.size = be(sizes, i * 4, 4)?;
        }
    } else {
        samples.iter_mut().for_each(|s| s.size = fixed);
    }
    let offsets: Vec<u64> = match (child(stbl_kids, b"stco"), child(stbl_kids, b"co64")) {
        (Some(b), None) => entries(full_body(file, b)?.2, 4)?
            .map(|e| be(e, 0, 4))
            .collect::<Option<_>>()?,
        (None, Some(b)) => entries(full_body(file, b)?.2, 8)?
            .map(|e| be(e, 0, 8))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    // stsc: runs of chunks (first chunk, 1-based) with the same number of samples each.
    let runs: Vec<(u64, u64)> = entries(full_body(file, child(stbl_kids, b"stsc")?)?.2, 12)?
        .map(|e| Some((be(e, 0, 4)?, be(e, 4, 4)?)))
        .collect::<Option<_>>()?;
    if runs.first()?.0 != 1 {
        return None;
    }
    let (mut next, mut run) = (0usize, 0usize);
    for (c, &offset) in offsets.iter().enumerate() {
        let chunk = c as u64 + 1;
        while runs.get(run + 1).is_some_and(|(first, _)| *first <= chunk) {
            run += 1;
        }
        let per_chunk = runs[run].1;
        let mut pos = offset;
        for _ in 0..per_chunk {
            let s = samples.get_mut(next)?;
            s.pos = pos;
            pos = pos.checked_add(s.size)?;
            next += 1;
        }
    }
    (next == samples.len()).then_some(())
}

/// [`video_track_times`] of the regular file at `path` (see [`file_layout`]).
pub(super) fn file_video_track_times(path: &std::path::Path) -> Option<TrackTimes> {
    video_track_times(&file_layout(path)?.moov)
}

/// An MP4/MOV file's top-level boxes and its one `moov`, read into memory.
pub(super) struct Layout {
    /// Every top-level box, in file order (headers only).
    pub top: Vec<BoxRef>,
    /// The index of the `moov` in `top`.
    pub moov_index: usize,
    /// The whole `moov` box, header included.
    pub moov: Vec<u8>,
    /// The `ftyp`'s major brand (`qt  ` for QuickTime), if the file has one.
    pub brand: Option<[u8; 4]>,
}

/// The layout of the regular file at `path`, reading only its top-level box headers (at most
/// [`crate::limits::MAX_ENTRIES`]) and its `moov` (at most [`crate::limits::MAX_MOOV_BYTES`]);
/// `None` for anything else than exactly one `moov` among well-formed boxes.
pub(super) fn file_layout(path: &std::path::Path) -> Option<Layout> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = crate::io::open_regular_file(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut top = Vec::new();
    let mut brand = None;
    let mut pos = 0u64;
    while pos < len {
        if top.len() == crate::limits::MAX_ENTRIES {
            return None;
        }
        // The longest header: 64-bit size and a `uuid` extended type.
        let mut head = [0u8; 32];
        let n = (len - pos).min(32) as usize;
        f.seek(SeekFrom::Start(pos)).ok()?;
        f.read_exact(&mut head[..n]).ok()?;
        let b = crate::implicit::bmff::parse_header(&head[..n], pos, len, 0).ok()?;
        if &b.kind == b"ftyp" && brand.is_none() {
            let at = b.header_len as usize;
            brand = head[..n].get(at..at + 4).and_then(|v| v.try_into().ok());
        }
        pos = b.end;
        top.push(b);
    }
    let mut moovs = (0..top.len()).filter(|&i| &top[i].kind == b"moov");
    let (Some(moov_index), None) = (moovs.next(), moovs.next()) else {
        return None;
    };
    let b = &top[moov_index];
    if b.size() > crate::limits::MAX_MOOV_BYTES {
        return None;
    }
    let mut moov = vec![0u8; b.size() as usize];
    f.seek(SeekFrom::Start(b.start)).ok()?;
    f.read_exact(&mut moov).ok()?;
    Some(Layout {
        top,
        moov_index,
        moov,
        brand,
    })
}

/// The media time the presentation starts at: 0 for an empty list, the single edit's media
/// time for one edit at rate 1; `None` for anything else (an empty edit that delays the
/// track, several edits, another rate).
fn edit_media_time(file: &[u8], elst: &BoxRef) -> Option<i64> {
    let (version, _, rest) = full_body(file, elst)?;
    let size = if version == 1 { 20 } else { 12 };
    let mut list = entries(rest, size)?;
    let Some(edit) = list.next() else {
        return Some(0);
    };
    if list.next().is_some() {
        return None;
    }
    let (media_time, rate) = if version == 1 {
        (be(edit, 8, 8)? as i64, be(edit, 16, 4)?)
    } else {
        (be(edit, 4, 4)? as u32 as i32 as i64, be(edit, 8, 4)?)
    };
    (media_time >= 0 && rate == 0x0001_0000).then_some(media_time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// ffprobe's reading of the first video stream: its time base's denominator and packets.
    fn ffprobe(file: &std::path::Path) -> (i64, Vec<SampleTime>) {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-of", "csv"])
            .args([
                "-show_entries",
                "stream=time_base:packet=pts,dts,size,pos,flags",
            ])
            .arg(file)
            .output()
            .expect("ffprobe runs");
        let text = String::from_utf8(out.stdout).unwrap();
        let tb = text
            .lines()
            .find_map(|l| l.strip_prefix("stream,"))
            .expect("a stream line");
        let den = tb.split_once('/').expect("time base").1.parse().unwrap();
        let samples = text
            .lines()
            .filter_map(|l| l.strip_prefix("packet,"))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                // ffprobe's own order, whatever the order asked for.
                SampleTime {
                    pts: f[0].parse().unwrap(),
                    dts: f[1].parse().unwrap(),
                    size: f[2].parse().unwrap(),
                    pos: f[3].parse().unwrap(),
                    key: f[4].contains('K'),
                }
            })
            .collect();
        (den, samples)
    }

    fn encode(dir: &std::path::Path, name: &str, args: &[&str]) -> std::path::PathBuf {
        let out = dir.join(name);
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg("testsrc2=size=128x72:rate=25:duration=3")
            .args(args)
            .arg(&out)
            .status()
            .expect("ffmpeg runs");
        assert!(st.success());
        out
    }

    /// Our reading agrees with ffprobe's on what ffmpeg writes (B-frames and an edit list;
    /// no B-frames; MOV; the index at the front; small chunks), read from memory or from the
    /// file, and a changed table changes it.
    #[test]
    fn times_agree_with_ffprobe() {
        let dir = std::env::temp_dir().join(format!("aigc-timeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let x264 = ["-c:v", "libx264", "-preset", "veryfast", "-g", "25"];
        let files = [
            encode(&dir, "b.mp4", &[&x264[..], &["-bf", "3"]].concat()),
            encode(&dir, "nob.mp4", &[&x264[..], &["-bf", "0"]].concat()),
            encode(&dir, "b.mov", &[&x264[..], &["-bf", "2"]].concat()),
            // Interleaved with audio: chunks of varying sample counts (several `stsc` runs).
            encode(
                &dir,
                "av.mp4",
                &[
                    &[
                        "-f",
                        "lavfi",
                        "-i",
                        "sine=frequency=440:duration=3:sample_rate=8000",
                    ][..],
                    &x264[..],
                    &[
                        "-c:a",
                        "aac",
                        "-frag_duration",
                        "0",
                        "-chunk_duration",
                        "70000",
                    ],
                ]
                .concat(),
            ),
            encode(
                &dir,
                "front.mp4",
                &[
                    &x264[..],
                    &["-movflags", "+faststart", "-chunk_duration", "1000"],
                ]
                .concat(),
            ),
        ];
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            let ours = video_track_times(&bytes).expect("a plain layout");
            let (den, theirs) = ffprobe(f);
            assert_eq!(ours.timescale, den, "{}", f.display());
            assert_eq!(ours.samples, theirs, "{}", f.display());
            assert_eq!(file_video_track_times(f), Some(ours), "{}", f.display());
        }
        // The B-frame file has an edit (media time > 0) and keyframes every 25 frames.
        let bytes = std::fs::read(&files[0]).unwrap();
        let ours = video_track_times(&bytes).unwrap();
        assert!(ours.samples[0].dts < 0);
        assert_eq!(ours.samples.iter().filter(|s| s.key).count(), 3);
        // A longer frame duration in stts moves every later sample.
        // The tables are in moov, at the end of what ffmpeg writes.
        let stts = bytes.windows(4).rposition(|w| w == b"stts").unwrap();
        let mut changed = bytes.clone();
        // First entry's delta (after version/flags, entry_count, sample_count).
        let delta_at = stts + 4 + 4 + 4 + 4;
        let delta = u32::from_be_bytes(changed[delta_at..delta_at + 4].try_into().unwrap());
        changed[delta_at..delta_at + 4].copy_from_slice(&(delta + 1).to_be_bytes());
        let moved = video_track_times(&changed).unwrap();
        assert_ne!(moved.samples, ours.samples);
        assert_eq!(moved.samples[1].dts, ours.samples[1].dts + 1);
        // Not the plain layout: an empty edit (media time -1) that delays the track.
        let elst = bytes.windows(4).rposition(|w| w == b"elst").unwrap();
        let mut delayed = bytes.clone();
        // After version/flags, entry_count and segment_duration.
        delayed[elst + 16..elst + 20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(video_track_times(&delayed), None);
        // Tables that claim more than they hold, or more samples than the limit, answer None.
        let stsz = bytes.windows(4).rposition(|w| w == b"stsz").unwrap();
        let mut counted = bytes.clone();
        // After version/flags and sample_size: sample_count.
        counted[stsz + 12..stsz + 16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(video_track_times(&counted), None);
        let mut entries = bytes.clone();
        // stts entry_count.
        entries[stts + 8..stts + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(video_track_times(&entries), None);
        // Garbage answers None, never panics.
        assert_eq!(video_track_times(&bytes[..bytes.len() / 2]), None);
        assert_eq!(video_track_times(b"not a file"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
