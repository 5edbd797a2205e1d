//! Copying an unchanged byte range of the input file to the end of the output file: the bulk of
//! every embed (image data, `mdat`, audio samples).
//!
//! Two ways:
//! - [`Strategy::Kernel`] (Linux): `copy_file_range`. The bytes never enter user space: on
//!   ext4 the kernel copies page-cache pages directly (measured with `scripts/bench.sh`:
//!   about half the CPU time of a 128 KiB `pread`/`write` loop for the same 120 MB), and on
//!   file systems that share extents (XFS with reflink=1, Btrfs) it clones the blocks of the
//!   block-aligned part of the range (a reflink), so a multi-GB payload costs little more than
//!   its metadata. Cloning needs the input and output offsets to be block-aligned. The first
//!   call of a long copy stops at the output's next 64 KiB boundary ([`DEST_ALIGN`], which is
//!   what ext4's page cache needs for large folios): when the offsets sit at the same place
//!   within a block (a payload that does not move, such as WAV audio before an appended label),
//!   the rest is block-aligned on both sides and is cloned.
//! - [`Strategy::Buffered`]: `pread`/`write` through a 128 KiB buffer, as `cat` does; used
//!   where `copy_file_range` does not exist and for whatever the kernel declines (a
//!   cross-device copy on old kernels, a file system without support).

use std::fs::File;
use std::io::{self, Write};

/// How [`copy_range_with`] copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `copy_file_range` (reflinks on XFS/Btrfs), falling back to [`Strategy::Buffered`].
    Kernel,
    /// `pread`/`write` through a 128 KiB buffer.
    Buffered,
}

/// The strategy for writing into `dst`: [`Strategy::Kernel`] where `copy_file_range` exists
/// (Linux; it falls back by itself), else [`Strategy::Buffered`].
pub fn strategy_for(dst: &File) -> Strategy {
    let _ = dst;
    if cfg!(target_os = "linux") {
        Strategy::Kernel
    } else {
        Strategy::Buffered
    }
}

/// Copy `len` bytes at offset `pos` of `src` to the current end of `dst` (its file position),
/// the best way for `dst`'s file system. Returns the bytes copied (fewer only when `src` ends
/// early).
pub fn copy_range(src: &File, pos: u64, len: u64, dst: &File) -> io::Result<u64> {
    copy_range_with(strategy_for(dst), src, pos, len, dst)
}

/// [`copy_range`] with a given strategy.
pub fn copy_range_with(
    strategy: Strategy,
    src: &File,
    pos: u64,
    len: u64,
    dst: &File,
) -> io::Result<u64> {
    let mut done = 0u64;
    if strategy == Strategy::Kernel {
        done = kernel_copy(src, pos, len, dst)?;
    }
    if done < len {
        done += buffered_copy(src, pos + done, len - done, dst)?;
    }
    Ok(done)
}

/// Where the bulk of a kernel copy starts in the output: a multiple of 64 KiB.
///
/// Why: `copy_file_range` on a file system without shared extents (ext4) moves the data
/// through a 64 KiB pipe, and the page cache gives each 64 KiB write a large folio only when it
/// starts at a 64 KiB-aligned page of the output; any other start makes every write build
/// single pages. Measured (Linux 6.18, ext4, a 192 MB copy whose input and output offsets are
/// the same within a page): 84-103 ms with the output's copy starting at byte 4096 or 8192,
/// 61-79 ms when the first call stops at the output's next 64 KiB boundary (and 57-92 ms
/// for a copy that starts within the output's first page). On file systems that share extents
/// (XFS with reflink=1, Btrfs) the bulk is then block-aligned on both sides whenever the
/// offsets agree within a block, which is what a reflink needs.
const DEST_ALIGN: u64 = 64 * 1024;

/// `copy_file_range` until `len` bytes are copied, the source ends, or the kernel says it
/// cannot (then the bytes copied so far, for the buffered copy to go on from).
#[cfg(target_os = "linux")]
fn kernel_copy(src: &File, pos: u64, len: u64, dst: &File) -> io::Result<u64> {
    use rustix::io::Errno;
    use std::io::Seek;
    let mut off_in = pos;
    let mut done = 0u64;
    // The first call stops where the output reaches a multiple of DEST_ALIGN, so that every
    // later call writes from there (see DEST_ALIGN for why). Skipped for a copy too short to
    // matter, which also saves the position lookup.
    let mut first = len;
    if len > 2 * DEST_ALIGN {
        let out_pos = (&*dst).stream_position()?;
        let to_boundary = (DEST_ALIGN - out_pos % DEST_ALIGN) % DEST_ALIGN;
        if to_boundary > 0 {
            first = to_boundary;
        }
    }
    while done < len {
        let chunk = if done < first {
            first - done
        } else {
            len - done
        }
        .min(1 << 30) as usize;
        match rustix::fs::copy_file_range(src, Some(&mut off_in), dst, None, chunk) {
            Ok(0) => break,
            Ok(n) => done += n as u64,
            Err(Errno::INTR) => continue,
            Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::PERM) => {
                break
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

#[cfg(not(target_os = "linux"))]
fn kernel_copy(_: &File, _: u64, _: u64, _: &File) -> io::Result<u64> {
    Ok(0)
}

/// `pread`/`write` through a 128 KiB buffer.
fn buffered_copy(src: &File, mut pos: u64, len: u64, mut dst: &File) -> io::Result<u64> {
    let mut buf = vec![0u8; 128 * 1024];
    let end = pos + len;
    while pos < end {
        let want = buf.len().min((end - pos) as usize);
        let n = pread(src, &mut buf[..want], pos)?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n])?;
        pos += n as u64;
    }
    Ok(len - (end - pos))
}

/// One positioned read (`pread`): at most `buf.len()` bytes at offset `pos`, without moving the
/// file position (shared with [`crate::io`]'s reader, the one place it is written).
#[cfg(unix)]
pub(crate) fn pread(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, pos)
}

/// One positioned read, emulated with a seek where `pread` does not exist.
#[cfg(not(unix))]
pub(crate) fn pread(mut file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(pos))?;
    file.read(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};

    /// Both strategies copy exactly the range asked for, after what `dst` already holds, and
    /// stop at the end of the source.
    #[test]
    fn both_strategies_copy_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 % 251) as u8).collect();
        let src_path = dir.path().join("src");
        std::fs::write(&src_path, &data).unwrap();
        for strategy in [Strategy::Kernel, Strategy::Buffered] {
            let src = File::open(&src_path).unwrap();
            let dst_path = dir.path().join(format!("{strategy:?}"));
            let mut dst = File::options()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&dst_path)
                .unwrap();
            dst.write_all(b"head").unwrap();
            let n = copy_range_with(strategy, &src, 12_345, 300_000, &dst).unwrap();
            assert_eq!(n, 300_000);
            dst.write_all(b"mid").unwrap();
            // Past the end of the source: only what is there.
            let n = copy_range_with(strategy, &src, 999_000, 10_000, &dst).unwrap();
            assert_eq!(n, 1_003);
            let mut got = Vec::new();
            dst.seek(SeekFrom::Start(0)).unwrap();
            dst.read_to_end(&mut got).unwrap();
            let mut want = b"head".to_vec();
            want.extend_from_slice(&data[12_345..312_345]);
            want.extend_from_slice(b"mid");
            want.extend_from_slice(&data[999_000..]);
            assert!(got == want, "{strategy:?}: wrong bytes");
        }
    }

    /// An output at the same offset within a block as the input, or anywhere else, gets exactly
    /// the range: also when the kernel copy splits off the part up to the output's next 64 KiB
    /// boundary, when the range is shorter than that part, or ends inside a block.
    #[test]
    fn kernel_copy_with_matching_block_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect();
        let src_path = dir.path().join("src");
        std::fs::write(&src_path, &data).unwrap();
        let src = File::open(&src_path).unwrap();
        for (pos, len, head) in [
            (8_292u64, 200_001u64, 100usize),
            (4_196, 50, 100),
            (100, 4_096, 100),
            (0, 8_192, 0),
            // An output already past its first 64 KiB, at a boundary and just before one.
            (1_000, 140_000, 70_000),
            (5, 150_000, 65_536),
            (7, 140_000, 65_535),
        ] {
            let dst_path = dir.path().join(format!("out-{pos}-{len}"));
            let mut dst = File::options()
                .create(true)
                .truncate(true)
                .read(true)
                .write(true)
                .open(&dst_path)
                .unwrap();
            let head = vec![7u8; head];
            dst.write_all(&head).unwrap();
            let n = copy_range_with(Strategy::Kernel, &src, pos, len, &dst).unwrap();
            assert_eq!(n, len);
            dst.write_all(b"end").unwrap();
            let mut got = Vec::new();
            dst.seek(SeekFrom::Start(0)).unwrap();
            dst.read_to_end(&mut got).unwrap();
            let mut want = head.clone();
            want.extend_from_slice(&data[pos as usize..(pos + len) as usize]);
            want.extend_from_slice(b"end");
            assert!(got == want, "pos {pos} len {len}: wrong bytes");
        }
    }
}
