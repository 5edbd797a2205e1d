//! The legibility measures of 5.2 d) "字型应清晰可辨" (clearly legible), which names none: the
//! luminance contrast ratio between the glyph fill and what it is read against (WCAG 2's formula,
//! the measure of text legibility in WCAG and ISO 9241-303), and the colour difference between
//! them (CIE 1976 ΔE*ab). A label fails only when both are low: black on a dark purple has a
//! contrast ratio under 2:1 yet reads at a glance by its colour (ΔE about 57), while light grey
//! on mid grey has neither (2.2:1, ΔE about 27). The thresholds are the profile's
//! (`explicit.image.min_contrast_ratio`, `explicit.image.min_colour_difference`).

use super::Rect;
use image::RgbaImage;

/// WCAG 2's contrast ratio of two 8-bit luminance levels, each taken as an sRGB grey: 1 (none)
/// to 21 (black on white).
pub fn contrast_ratio(a: f32, b: f32) -> f64 {
    let (la, lb) = (linear(a as f64 / 255.0), linear(b as f64 / 255.0));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The CIE 1976 colour difference ΔE*ab between the glyph fill and the ground in `region` of
/// `img`: the pixels whose luminance lies within a quarter of the way from the fill level to the
/// ground level (`levels`, as measured on the luminance plane) are the fill, those as close to
/// the ground level the ground; each is averaged in linear RGB and compared in CIELAB (D65).
/// `None` when either set is empty (a flat region).
pub fn colour_difference(img: &RgbaImage, region: Rect, levels: (f32, f32)) -> Option<f64> {
    let (fill, ground) = levels;
    let near = 0.25 * (fill - ground).abs();
    if near < 1.0 {
        return None;
    }
    let (mut sums, mut counts) = ([[0f64; 3]; 2], [0u64; 2]);
    for y in region.y..(region.y + region.h).min(img.height()) {
        for x in region.x..(region.x + region.w).min(img.width()) {
            let p = img.get_pixel(x, y);
            // Composited on black, as the luminance plane is.
            let a = p[3] as f64 / 255.0;
            let rgb = [p[0] as f64 * a, p[1] as f64 * a, p[2] as f64 * a];
            let l = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) as f32;
            let set = if (l - fill).abs() <= near {
                0
            } else if (l - ground).abs() <= near {
                1
            } else {
                continue;
            };
            for (s, v) in sums[set].iter_mut().zip(rgb) {
                *s += linear(v / 255.0);
            }
            counts[set] += 1;
        }
    }
    if counts.contains(&0) {
        return None;
    }
    let lab = |set: usize| {
        let n = counts[set] as f64;
        lab_of_linear([sums[set][0] / n, sums[set][1] / n, sums[set][2] / n])
    };
    let (a, b) = (lab(0), lab(1));
    Some(((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt())
}

/// sRGB component (0-1) to linear light.
fn linear(c: f64) -> f64 {
    let c = c.clamp(0.0, 1.0);
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear sRGB to CIELAB (D65 white).
fn lab_of_linear([r, g, b]: [f64; 3]) -> [f64; 3] {
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_ratio_spans_1_to_21() {
        assert!((contrast_ratio(0.0, 255.0) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(90.0, 90.0) - 1.0).abs() < 1e-9);
        // Light grey on mid grey, the faint mutant's colours.
        let r = contrast_ratio(192.0, 120.0);
        assert!((2.3..2.5).contains(&r), "{r}");
    }

    #[test]
    fn colour_difference_sees_colour_where_luminance_is_close() {
        // Left half black "glyphs", right half dark purple ground.
        let mut img = RgbaImage::new(8, 4);
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = if x < 4 {
                image::Rgba([0, 0, 0, 255])
            } else {
                image::Rgba([122, 27, 93, 255])
            };
        }
        let r = Rect {
            x: 0,
            y: 0,
            w: 8,
            h: 4,
        };
        let purple = 0.299 * 122.0 + 0.587 * 27.0 + 0.114 * 93.0;
        let de = colour_difference(&img, r, (0.0, purple)).unwrap();
        assert!((50.0..65.0).contains(&de), "{de}");
        assert!(contrast_ratio(0.0, purple) < 2.0);
        // Greys: ΔE is the lightness difference alone.
        for (x, _, p) in img.enumerate_pixels_mut() {
            let v = if x < 4 { 192 } else { 120 };
            *p = image::Rgba([v, v, v, 255]);
        }
        let de = colour_difference(&img, r, (192.0, 120.0)).unwrap();
        assert!((25.0..30.0).contains(&de), "{de}");
        // A flat region has no fill and ground to compare.
        assert_eq!(colour_difference(&img, r, (120.0, 120.0)), None);
    }
}
