//! Decoding and encoding whole images (with the dimension limit checked before decoding).

use crate::explicit::Result;
use image::{DynamicImage, ImageFormat, RgbaImage};
use std::path::Path;

use crate::limits::MAX_IMAGE_PIXELS;

/// Check the declared dimensions of an image file before decoding it.
pub fn check_dimensions(path: &Path) -> Result<(u32, u32)> {
    let reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if (w as u64) * (h as u64) > MAX_IMAGE_PIXELS {
        return Err(format!(
            "{}: {w}x{h} exceeds the limit of {MAX_IMAGE_PIXELS} pixels",
            path.display()
        )
        .into());
    }
    if w == 0 || h == 0 {
        return Err(format!("{}: empty image", path.display()).into());
    }
    Ok((w, h))
}

/// Decode an image file after checking its dimensions.
pub fn load_dynamic(path: &Path) -> Result<(DynamicImage, ImageFormat)> {
    check_dimensions(path)?;
    let mut reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let format = reader
        .format()
        .ok_or_else(|| format!("{}: unknown image format", path.display()))?;
    // The dimensions were checked above against MAX_IMAGE_PIXELS; the decoder's own default
    // allocation limit (512 MiB) would refuse some images that limit allows.
    reader.no_limits();
    let img = reader
        .decode()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((img, format))
}

/// Decode an image file to 8-bit RGBA (for measuring).
pub fn load(path: &Path) -> Result<(RgbaImage, ImageFormat)> {
    let (img, format) = load_dynamic(path)?;
    Ok((img.to_rgba8(), format))
}

/// Encode an image in `format`: PNG keeps the colour type and depth; JPEG (quality 92) is
/// 8-bit RGB or grey; WebP is 8-bit and lossless (the image crate's WebP encoder only writes
/// lossless WebP).
pub fn encode(img: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => {
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92);
            let r = if matches!(img.color(), image::ColorType::L8 | image::ColorType::L16) {
                img.to_luma8().write_with_encoder(enc)
            } else {
                img.to_rgb8().write_with_encoder(enc)
            };
            r.map_err(|e| e.to_string())?;
        }
        ImageFormat::Png => img.write_to(&mut out, format).map_err(|e| e.to_string())?,
        ImageFormat::WebP => {
            let eight = if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            };
            eight
                .write_to(&mut out, format)
                .map_err(|e| e.to_string())?;
        }
        other => {
            return Err(format!("writing {other:?} is not supported (PNG, JPEG, WebP)").into())
        }
    }
    Ok(out.into_inner())
}
