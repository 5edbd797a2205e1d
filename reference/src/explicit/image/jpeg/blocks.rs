//! The pixels of the touched blocks: inverse transform, blend the overlay in, transform and
//! quantise again with the file's own tables.

use super::*;

/// `COS[x][u] = a(u) cos((2x+1) u π / 16)`: the orthonormal 8-point DCT-II basis, which is the
/// JPEG DCT (`1/4 C(u) C(v)` = `a(u) a(v)`).
pub(super) fn cos_table() -> [[f32; 8]; 8] {
    let mut t = [[0f32; 8]; 8];
    for (x, row) in t.iter_mut().enumerate() {
        for (u, c) in row.iter_mut().enumerate() {
            let a = if u == 0 { (1.0f64 / 8.0).sqrt() } else { 0.5 };
            *c = (a * (((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0).cos()) as f32;
        }
    }
    t
}

/// Dequantise and inverse-transform a block to samples 0..=255 (as a decoder shows them).
pub(super) fn idct(block: &Block, q: &[u16; 64], c: &[[f32; 8]; 8]) -> [f32; 64] {
    let mut tmp = [0f32; 64]; // tmp[v*8+x] = Σ_u F[v][u] c[x][u]
    for v in 0..8 {
        for x in 0..8 {
            let mut s = 0.0;
            for u in 0..8 {
                s += block[v * 8 + u] as f32 * q[v * 8 + u] as f32 * c[x][u];
            }
            tmp[v * 8 + x] = s;
        }
    }
    let mut out = [0f32; 64];
    for y in 0..8 {
        for x in 0..8 {
            let mut s = 0.0;
            for v in 0..8 {
                s += tmp[v * 8 + x] * c[y][v];
            }
            out[y * 8 + x] = (s + 128.0).round().clamp(0.0, 255.0);
        }
    }
    out
}

/// Forward-transform samples and quantise with `q`.
pub(super) fn fdct(px: &[f32; 64], q: &[u16; 64], c: &[[f32; 8]; 8]) -> Block {
    let mut tmp = [0f32; 64]; // tmp[y*8+u] = Σ_x (p[y][x]-128) c[x][u]
    for y in 0..8 {
        for u in 0..8 {
            let mut s = 0.0;
            for x in 0..8 {
                s += (px[y * 8 + x] - 128.0) * c[x][u];
            }
            tmp[y * 8 + u] = s;
        }
    }
    let mut out = [0i16; 64];
    for v in 0..8 {
        for u in 0..8 {
            let mut s = 0.0;
            for y in 0..8 {
                s += tmp[y * 8 + u] * c[y][v];
            }
            let qv = q[v * 8 + u].max(1) as f32;
            out[v * 8 + u] = (s / qv).round().clamp(-2047.0, 2047.0) as i16;
        }
    }
    out
}

/// A block the overlay reaches, with the overlay resampled to the block's component.
pub(super) struct Target {
    pub(super) ci: usize,
    pub(super) bx: usize,
    pub(super) by: usize,
    /// Mean overlay alpha over the image pixels each component sample covers.
    pub(super) alpha: [f32; 64],
    /// Mean of alpha × overlay value (in this component) over the same pixels.
    pub(super) alpha_value: [f32; 64],
}

/// Every block the overlay reaches (non-zero alpha), in every component.
pub(super) fn overlay_targets(f: &Decoded, o: &Overlay) -> Vec<Target> {
    let rgb = f.comps.len() == 3
        && (f.adobe_transform == Some(0)
            || (f.adobe_transform.is_none()
                && !f.jfif
                && f.comps.iter().map(|c| c.id).eq([b'R', b'G', b'B'])));
    let mut targets = Vec::new();
    let (hmax, vmax) = (f.hmax, f.vmax);
    for (ci, comp) in f.comps.iter().enumerate() {
        let (sx, sy) = (hmax / comp.h, vmax / comp.v);
        let chroma = ci > 0 && !rgb;
        // Overlay value of this component for an overlay pixel.
        let value = |p: &[f32; 4]| -> f32 {
            if chroma {
                128.0
            } else if rgb {
                p[ci]
            } else {
                0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
            }
        };
        let r = o.rect;
        let (x0, y0) = (r.x as usize / sx / 8, r.y as usize / sy / 8);
        let x1 = ((r.x + r.w) as usize).div_ceil(sx).div_ceil(8).min(comp.cw);
        let y1 = ((r.y + r.h) as usize).div_ceil(sy).div_ceil(8).min(comp.ch);
        let n = (sx * sy) as f32;
        for by in y0..y1 {
            for bx in x0..x1 {
                let mut t = Target {
                    ci,
                    bx,
                    by,
                    alpha: [0.0; 64],
                    alpha_value: [0.0; 64],
                };
                let mut any = false;
                for py in 0..8 {
                    for px in 0..8 {
                        let (cx, cy) = (bx * 8 + px, by * 8 + py);
                        let (mut sa, mut sav) = (0f32, 0f32);
                        for iy in cy * sy..cy * sy + sy {
                            for ix in cx * sx..cx * sx + sx {
                                let (ox, oy) = (ix as i64 - r.x as i64, iy as i64 - r.y as i64);
                                if ox < 0 || oy < 0 || ox >= r.w as i64 || oy >= r.h as i64 {
                                    continue;
                                }
                                let Some(p) =
                                    o.pixels.get(oy as usize * r.w as usize + ox as usize)
                                else {
                                    continue;
                                };
                                sa += p[3];
                                sav += p[3] * value(p);
                            }
                        }
                        if sa > 0.0 {
                            any = true;
                        }
                        t.alpha[py * 8 + px] = sa / n;
                        t.alpha_value[py * 8 + px] = sav / n;
                    }
                }
                if any {
                    targets.push(t);
                }
            }
        }
    }
    targets
}

/// Decode `block`, blend the overlay in, transform and quantise it again with `q`.
pub(super) fn blend(block: &mut Block, t: &Target, q: &[u16; 64], c: &[[f32; 8]; 8]) {
    let mut px = idct(block, q, c);
    for (i, p) in px.iter_mut().enumerate() {
        *p = (t.alpha_value[i] + (1.0 - t.alpha[i]) * *p).clamp(0.0, 255.0);
    }
    *block = fdct(&px, q, c);
}

pub(super) fn qtable(f: &Decoded, ci: usize) -> Result<[u16; 64], JpegError> {
    let tq = f.comps[ci].tq;
    match f.qtables[tq] {
        Some(q) => Ok(q),
        None => bad(0, format!("quantisation table {tq} is not defined")),
    }
}

/// Blend the overlay into every block it reaches; returns how many blocks changed.
pub(super) fn apply_overlay(f: &mut Decoded, o: &Overlay) -> Result<usize, JpegError> {
    let c = cos_table();
    let targets = overlay_targets(f, o);
    for t in &targets {
        let q = qtable(f, t.ci)?;
        let comp = &mut f.comps[t.ci];
        let i = t.by * comp.bw + t.bx;
        blend(&mut comp.coefs[i], t, &q, &c);
        comp.nonzero[i] = nonzero_mask(&comp.coefs[i]);
    }
    Ok(targets.len())
}
