//! What an MP4/MOV's H.264 video track says about itself, read without ffprobe: the `avc1`/
//! `avc3` sample entry (size, decoder configuration, `colr`) and the sequence parameter set in
//! the `avcC` (ITU-T H.264 7.3.2.1.1: profile, level, chroma format, bit depth, frame or field
//! coding, and the VUI's colour description).
//!
//! Why: smart rendering's encoder cannot start before these are known, and an ffprobe run to
//! learn them costs about 0.1 s on a 2-core machine, most of it loading ffmpeg's libraries,
//! before the first frame can be encoded. Reading them here takes microseconds. Only what this
//! reader is sure of is answered: anything else (another codec, a profile or colour value it
//! does not name, a malformed SPS) answers `None`, and the caller asks ffprobe.

use crate::implicit::bmff::{children, BoxRef};

use super::timeline::{be, child, full_body, stbl_kids};

/// The facts smart rendering needs about an H.264 track, in ffprobe's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AvcTrack {
    /// The sample entry's type: `avc1` or `avc3`.
    pub codec_tag: String,
    /// ffprobe's profile name: `Baseline`, `Constrained Baseline`, `Main` or `High`.
    pub profile: String,
    /// `level_idc` (31 for level 3.1).
    pub level: i64,
    /// The sample entry's width and height.
    pub width: u64,
    pub height: u64,
    /// The `avcC` payload.
    pub config: Vec<u8>,
    /// 8-bit 4:2:0 and coded as frames (no fields).
    pub progressive_420_8bit: bool,
    /// The colour range is full (ffmpeg's decoder then says `yuvj420p`).
    pub full_range: bool,
    /// ffmpeg's colour options and values (`-color_range tv`, ...), for those the stream sets.
    pub colour: Vec<(&'static str, String)>,
}

/// The H.264 track described by the video `trak`'s children in `moov`, or `None`.
pub(super) fn describe(moov: &[u8], mdia_kids: &[BoxRef]) -> Option<AvcTrack> {
    let stsd = child(&stbl_kids(moov, mdia_kids)?, b"stsd")?.clone();
    let (_, _, rest) = full_body(moov, &stsd)?;
    if be(rest, 0, 4)? != 1 {
        return None;
    }
    let entries = children(
        moov,
        stsd.body_start() as usize + 8..stsd.end as usize,
        0,
        6,
    )
    .ok()?;
    let [entry] = entries.as_slice() else {
        return None;
    };
    if !matches!(&entry.kind, b"avc1" | b"avc3") {
        return None;
    }
    // VisualSampleEntry: 6 reserved, data_reference_index (2), 16 pre-defined/reserved, then
    // width and height (2 each); 78 bytes before the child boxes.
    let fields = moov.get(entry.body_start() as usize..entry.body_start() as usize + 78)?;
    let (width, height) = (be(fields, 24, 2)?, be(fields, 26, 2)?);
    let boxes = children(
        moov,
        entry.body_start() as usize + 78..entry.end as usize,
        0,
        7,
    )
    .ok()?;
    let config = moov.get(child(&boxes, b"avcC")?.body())?.to_vec();
    // avcC: version 1, profile, compatibility, level, length size, then the SPS list.
    if config.first() != Some(&1) || config.get(5)? & 0x1f == 0 {
        return None;
    }
    let sps_len = be(&config, 6, 2)? as usize;
    let sps = parse_sps(config.get(8..8 + sps_len)?)?;
    let profile = match (sps.profile_idc, sps.constraint_set1) {
        (66, false) => "Baseline",
        (66, true) => "Constrained Baseline",
        (77, _) => "Main",
        (100, _) => "High",
        _ => return None,
    };
    // The container's colour (`colr`), then the stream's (VUI), which ffmpeg's decoder puts over
    // it, as ffprobe reports.
    let mut colour = Colour::default();
    if let Some(colr) = child(&boxes, b"colr") {
        let body = moov.get(colr.body())?;
        match body.get(..4)? {
            b"nclx" | b"nclc" => {
                colour.primaries = Some(be(body, 4, 2)? as u8);
                colour.transfer = Some(be(body, 6, 2)? as u8);
                colour.matrix = Some(be(body, 8, 2)? as u8);
                if body.get(..4)? == b"nclx" {
                    colour.full_range = Some(body.get(10)? & 0x80 != 0);
                }
            }
            _ => return None,
        }
    }
    colour.overlay(&sps.colour);
    Some(AvcTrack {
        codec_tag: String::from_utf8_lossy(&entry.kind).into_owned(),
        profile: profile.into(),
        level: sps.level_idc as i64,
        width,
        height,
        config,
        progressive_420_8bit: sps.chroma_format_idc == 1
            && sps.bit_depth_luma == 8
            && sps.bit_depth_chroma == 8
            && sps.frame_mbs_only,
        full_range: colour.full_range == Some(true),
        colour: colour.options()?,
    })
}

/// Colour description: range and the three code points (ITU-T H.273), when given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Colour {
    full_range: Option<bool>,
    primaries: Option<u8>,
    transfer: Option<u8>,
    matrix: Option<u8>,
}

impl Colour {
    /// Take every value `over` gives.
    fn overlay(&mut self, over: &Colour) {
        self.full_range = over.full_range.or(self.full_range);
        self.primaries = over.primaries.or(self.primaries);
        self.transfer = over.transfer.or(self.transfer);
        self.matrix = over.matrix.or(self.matrix);
    }

    /// ffmpeg's options for the values set, with ffprobe's names (2, "unspecified", is not
    /// set); `None` for a code point this table does not name.
    fn options(&self) -> Option<Vec<(&'static str, String)>> {
        let mut out = Vec::new();
        if let Some(full) = self.full_range {
            out.push(("-color_range", if full { "pc" } else { "tv" }.to_string()));
        }
        let named = |v: Option<u8>, names: &[(u8, &str)]| -> Option<Option<String>> {
            match v {
                None | Some(2) => Some(None),
                Some(v) => names
                    .iter()
                    .find(|(c, _)| *c == v)
                    .map(|(_, n)| Some(n.to_string())),
            }
        };
        let matrix = [
            (0, "gbr"),
            (1, "bt709"),
            (4, "fcc"),
            (5, "bt470bg"),
            (6, "smpte170m"),
            (7, "smpte240m"),
            (9, "bt2020nc"),
            (10, "bt2020c"),
        ];
        let transfer = [
            (1, "bt709"),
            (4, "bt470m"),
            (5, "bt470bg"),
            (6, "smpte170m"),
            (7, "smpte240m"),
            (8, "linear"),
            (13, "iec61966-2-1"),
            (14, "bt2020-10"),
            (15, "bt2020-12"),
            (16, "smpte2084"),
            (18, "arib-std-b67"),
        ];
        let primaries = [
            (1, "bt709"),
            (4, "bt470m"),
            (5, "bt470bg"),
            (6, "smpte170m"),
            (7, "smpte240m"),
            (8, "film"),
            (9, "bt2020"),
        ];
        // In the order smart rendering passes them: range, matrix, transfer, primaries.
        for (opt, v) in [
            ("-colorspace", named(self.matrix, &matrix)?),
            ("-color_trc", named(self.transfer, &transfer)?),
            ("-color_primaries", named(self.primaries, &primaries)?),
        ] {
            if let Some(v) = v {
                out.push((opt, v));
            }
        }
        Some(out)
    }
}

/// The fields of an SPS smart rendering needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sps {
    profile_idc: u8,
    constraint_set1: bool,
    level_idc: u8,
    chroma_format_idc: u64,
    bit_depth_luma: u64,
    bit_depth_chroma: u64,
    frame_mbs_only: bool,
    colour: Colour,
}

/// Bits of an RBSP, most significant first.
struct Bits {
    rbsp: Vec<u8>,
    at: usize,
}

impl Bits {
    /// The RBSP of a NAL unit's payload: emulation prevention bytes (`00 00 03`) removed.
    fn new(payload: &[u8]) -> Bits {
        let mut rbsp = Vec::with_capacity(payload.len());
        let mut zeros = 0;
        for &b in payload {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            rbsp.push(b);
        }
        Bits { rbsp, at: 0 }
    }

    fn bit(&mut self) -> Option<u64> {
        let b = self.rbsp.get(self.at / 8)?;
        let v = (b >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(v as u64)
    }

    fn bits(&mut self, n: usize) -> Option<u64> {
        (0..n).try_fold(0, |v, _| Some((v << 1) | self.bit()?))
    }

    fn flag(&mut self) -> Option<bool> {
        Some(self.bit()? == 1)
    }

    /// Unsigned Exp-Golomb; at most 32 leading zeros.
    fn ue(&mut self) -> Option<u64> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 32 {
                return None;
            }
        }
        Some((1u64 << zeros) - 1 + self.bits(zeros)?)
    }

    /// Signed Exp-Golomb.
    fn se(&mut self) -> Option<i64> {
        let k = self.ue()? as i64;
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

/// Parse an SPS NAL unit (header byte included) up to the VUI's colour description.
fn parse_sps(nal: &[u8]) -> Option<Sps> {
    if nal.first()? & 0x1f != 7 {
        return None;
    }
    let mut r = Bits::new(nal.get(1..)?);
    let profile_idc = r.bits(8)? as u8;
    let constraints = r.bits(8)?;
    let level_idc = r.bits(8)? as u8;
    let _sps_id = r.ue()?;
    let (mut chroma_format_idc, mut bit_depth_luma, mut bit_depth_chroma) = (1, 8, 8);
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc == 3 {
            let _separate_colour_planes = r.flag()?;
        }
        bit_depth_luma = r.ue()? + 8;
        bit_depth_chroma = r.ue()? + 8;
        let _qpprime_y_zero_transform_bypass = r.flag()?;
        if r.flag()? {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.flag()? {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    let _log2_max_frame_num = r.ue()?;
    match r.ue()? {
        0 => {
            let _log2_max_poc_lsb = r.ue()?;
        }
        1 => {
            let _delta_pic_order_always_zero = r.flag()?;
            let _offset_for_non_ref_pic = r.se()?;
            let _offset_for_top_to_bottom_field = r.se()?;
            let cycle = r.ue()?;
            if cycle > 255 {
                return None;
            }
            for _ in 0..cycle {
                r.se()?;
            }
        }
        2 => {}
        _ => return None,
    }
    let _max_num_ref_frames = r.ue()?;
    let _gaps_in_frame_num_allowed = r.flag()?;
    let _width_in_mbs = r.ue()?;
    let _height_in_map_units = r.ue()?;
    let frame_mbs_only = r.flag()?;
    if !frame_mbs_only {
        let _mb_adaptive_frame_field = r.flag()?;
    }
    let _direct_8x8_inference = r.flag()?;
    if r.flag()? {
        for _ in 0..4 {
            r.ue()?;
        }
    }
    let mut colour = Colour::default();
    if r.flag()? {
        // VUI: aspect ratio, overscan, then the video signal type.
        if r.flag()? && r.bits(8)? == 255 {
            r.bits(32)?;
        }
        if r.flag()? {
            r.flag()?;
        }
        if r.flag()? {
            let _video_format = r.bits(3)?;
            colour.full_range = Some(r.flag()?);
            if r.flag()? {
                colour.primaries = Some(r.bits(8)? as u8);
                colour.transfer = Some(r.bits(8)? as u8);
                colour.matrix = Some(r.bits(8)? as u8);
            }
        }
    }
    Some(Sps {
        profile_idc,
        constraint_set1: constraints & 0x40 != 0,
        level_idc,
        chroma_format_idc,
        bit_depth_luma,
        bit_depth_chroma,
        frame_mbs_only,
        colour,
    })
}

/// Skip a `scaling_list()` of `size` coefficients (7.3.2.1.1.1).
fn skip_scaling_list(r: &mut Bits, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = r.se()?;
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}
