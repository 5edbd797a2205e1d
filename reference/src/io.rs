//! Bounded, streaming I/O shared by every container module, and atomic file replacement.
//!
//! [`Input`] checks every length read from a file against the bytes actually there and against
//! a caller's limit before allocating, and turns a short read into a [`CodecError::Corrupt`]
//! with the offset. [`Output`] counts what it writes. Copies of payload ranges go through
//! `std::io::copy`, which on Linux uses `copy_file_range` between files, so embedding a label
//! in a 2 GiB video costs about what `cat` costs and never holds the payload in memory.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::copy::pread;
use crate::error::{CodecError, Result};

/// A file (or an in-memory buffer, for tests and fuzzing) being read by a container module.
pub struct Input {
    inner: InputInner,
    len: u64,
    /// The current position, tracked here so that walking thousands of chunk headers costs no
    /// `lseek` system call per header.
    pos: u64,
}

enum InputInner {
    File(PositionedReader),
    Memory(Cursor<Vec<u8>>),
}

/// A small read buffer over a file, filled with positioned reads (`pread`): walking thousands of
/// chunk headers costs one system call per header and never an `lseek`, and payload bypasses
/// the buffer entirely (`copy_to`).
struct PositionedReader {
    file: File,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_start: u64,
    /// Valid bytes in `buf`.
    buf_len: usize,
}

impl PositionedReader {
    const CAPACITY: usize = 1024;

    fn new(file: File) -> PositionedReader {
        PositionedReader {
            file,
            buf: vec![0; Self::CAPACITY],
            buf_start: 0,
            buf_len: 0,
        }
    }

    fn read_at(&mut self, pos: u64, out: &mut [u8]) -> io::Result<usize> {
        let end = self.buf_start + self.buf_len as u64;
        if pos >= self.buf_start && pos < end {
            let from = (pos - self.buf_start) as usize;
            let n = out.len().min(self.buf_len - from);
            out[..n].copy_from_slice(&self.buf[from..from + n]);
            return Ok(n);
        }
        if out.len() >= Self::CAPACITY {
            return pread(&self.file, out, pos);
        }
        self.buf_len = pread(&self.file, &mut self.buf, pos)?;
        self.buf_start = pos;
        let n = out.len().min(self.buf_len);
        out[..n].copy_from_slice(&self.buf[..n]);
        Ok(n)
    }
}

impl Input {
    /// Open a file for reading.
    /// Only a regular file (or a symbolic link to one) is opened: a FIFO, a device, a socket
    /// or a folder is refused before anything is read (see [`open_regular_file`]).
    pub fn open(path: &Path) -> io::Result<Input> {
        let file = open_regular_file(path)?;
        let meta = file.metadata()?;
        // A small buffer: walks read one header per structure, and bulk payload goes through
        // `copy_to` (copy_file_range), so a large buffer would only read payload twice.
        Ok(Input {
            len: meta.len(),
            inner: InputInner::File(PositionedReader::new(file)),
            pos: 0,
        })
    }

    /// Read from bytes in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Input {
        Input {
            len: bytes.len() as u64,
            inner: InputInner::Memory(Cursor::new(bytes)),
            pos: 0,
        }
    }

    /// Total length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty input.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Current position.
    pub fn pos(&mut self) -> Result<u64> {
        Ok(self.pos)
    }

    /// Bytes left after the current position.
    pub fn remaining(&mut self) -> Result<u64> {
        Ok(self.len.saturating_sub(self.pos()?))
    }

    /// Move to an absolute offset, which must lie within the file.
    pub fn seek_to(&mut self, offset: u64) -> Result<()> {
        if offset > self.len {
            return Err(CodecError::corrupt(
                offset,
                format!("offset beyond the end of the file ({} bytes)", self.len),
            ));
        }
        match &mut self.inner {
            InputInner::File(_) => {}
            InputInner::Memory(c) => c.set_position(offset),
        }
        self.pos = offset;
        Ok(())
    }

    /// Skip `n` bytes forward, which must exist.
    pub fn skip(&mut self, n: u64) -> Result<()> {
        let pos = self.pos()?;
        let end = pos
            .checked_add(n)
            .ok_or_else(|| CodecError::corrupt(pos, "length overflows"))?;
        if end > self.len {
            return Err(truncated(pos, n, self.len));
        }
        self.seek_to(end)
    }

    /// Read exactly `N` bytes.
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let pos = self.pos()?;
        let mut buf = [0u8; N];
        self.read_exact(&mut buf)
            .map_err(|e| map_eof(e, pos, N as u64, self.len))?;
        Ok(buf)
    }

    /// Read up to `N` bytes at the current position (fewer at the end of the file), for sniffing.
    pub fn peek(&mut self, n: usize) -> Result<Vec<u8>> {
        let pos = self.pos()?;
        let take = (n as u64).min(self.len - pos.min(self.len)) as usize;
        let mut buf = vec![0u8; take];
        self.read_exact(&mut buf)?;
        self.seek_to(pos)?;
        Ok(buf)
    }

    /// Read `len` bytes into memory after checking them against the bytes present and against
    /// `limit`; `what` names the structure for the error message.
    pub fn read_vec(&mut self, len: u64, limit: u64, what: &str) -> Result<Vec<u8>> {
        let pos = self.pos()?;
        if len > limit {
            return Err(CodecError::limit(
                pos,
                format!("{what} of {len} bytes exceeds the limit of {limit} bytes"),
            ));
        }
        if pos.saturating_add(len) > self.len {
            return Err(truncated(pos, len, self.len));
        }
        let mut buf = vec![0u8; len as usize];
        self.read_exact(&mut buf)
            .map_err(|e| map_eof(e, pos, len, self.len))?;
        Ok(buf)
    }

    /// Copy `len` bytes from the current position to `out`, unchanged.
    pub fn copy_to(&mut self, out: &mut Output, len: u64) -> Result<()> {
        let pos = self.pos()?;
        if pos.saturating_add(len) > self.len {
            return Err(truncated(pos, len, self.len));
        }
        if len <= SMALL_COPY {
            // A short range (a chunk header, a small box) goes through the output's buffer. A
            // kernel copy would first flush the buffer and find the output's offset: four system
            // calls, where this read takes one (none from the input's small read buffer).
            let mut buf = [0u8; SMALL_COPY as usize];
            let buf = &mut buf[..len as usize];
            self.read_exact(buf)
                .map_err(|e| map_eof(e, pos, len, self.len))?;
            out.write_all(buf)?;
            return Ok(());
        }
        out.flush_buffer_if_file()?;
        let copied = match (&mut self.inner, &mut out.inner) {
            // The file's own offset is only used here: set it, then let std copy with
            // copy_file_range (File to File).
            (InputInner::File(r), OutputInner::File(w)) => {
                crate::copy::copy_range(&r.file, pos, len, w.get_mut())?
            }
            (InputInner::File(r), OutputInner::Memory(w)) => {
                (&r.file).seek(SeekFrom::Start(pos))?;
                io::copy(&mut (&r.file).take(len), w)?
            }
            (InputInner::Memory(r), OutputInner::File(w)) => {
                io::copy(&mut Read::by_ref(r).take(len), w)?
            }
            (InputInner::Memory(r), OutputInner::Memory(w)) => {
                io::copy(&mut Read::by_ref(r).take(len), w)?
            }
        };
        out.written += copied;
        self.pos += copied;
        if copied != len {
            return Err(truncated(pos, len, self.len));
        }
        Ok(())
    }

    /// Copy everything from `start` to the end of the file to `out`.
    pub fn copy_rest_from(&mut self, start: u64, out: &mut Output) -> Result<()> {
        self.seek_to(start)?;
        let n = self.len - start;
        self.copy_to(out, n)
    }
}

/// Open an input for reading, refusing anything that is not a regular file with a clear
/// message instead of blocking or reading forever: a FIFO blocks `open` until a writer comes
/// (`read` on one used to hang), a character device such as `/dev/zero` never ends, opening
/// some devices has side effects (a watchdog starts, a tape rewinds), and a sparse regular file
/// is bounded by its length, which every reader checks. A symbolic link to a regular file is
/// followed (the user named it).
///
/// Race-safe: the kind is checked on the path first (so no device is ever opened on purpose),
/// then the file is opened non-blocking and without becoming a controlling terminal, and the
/// kind is checked again on the open descriptor (a regular file swapped for a FIFO in between
/// is seen there, and the non-blocking open did not wait for a writer).
pub fn open_regular_file(path: &Path) -> io::Result<File> {
    refuse_non_regular_input(&std::fs::metadata(path)?)?;
    let file = open_without_blocking(path)?;
    refuse_non_regular_input(&file.metadata()?)?;
    Ok(file)
}

/// Read a whole regular file into memory, refusing one over `limit` bytes (checked on the length
/// before reading, and on the bytes read, for a file that grows meanwhile) and anything that
/// is not a regular file. `what` names the file's role in the message.
pub fn read_regular_file(path: &Path, limit: u64, what: &str) -> io::Result<Vec<u8>> {
    let too_large = |len: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} of {len} bytes exceeds the limit of {limit} bytes"),
        )
    };
    let file = open_regular_file(path)?;
    let len = file.metadata()?.len();
    if len > limit {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`open_regular_file`]'s check alone, for a path handed to code that opens it itself (an
/// external tool, an image decoder).
pub fn check_regular_input(path: &Path) -> io::Result<()> {
    refuse_non_regular_input(&std::fs::metadata(path)?)
}

#[cfg(unix)]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

fn refuse_non_regular_input(meta: &std::fs::Metadata) -> io::Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{}, not a regular file: aigc-label reads only regular files (never devices, \
             FIFOs, sockets or folders, which may block or never end)",
            file_kind(meta.file_type())
        ),
    ))
}

/// What kind of file system object this is, in words.
pub fn file_kind(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        } else if kind.is_socket() {
            return "a socket";
        } else if kind.is_block_device() {
            return "a block device";
        } else if kind.is_char_device() {
            return "a character device";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

fn truncated(pos: u64, want: u64, len: u64) -> CodecError {
    CodecError::corrupt(
        pos,
        format!("truncated: {want} bytes announced, the file ends at byte {len}"),
    )
}

fn map_eof(e: io::Error, pos: u64, want: u64, len: u64) -> CodecError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        truncated(pos, want, len)
    } else {
        CodecError::Io(e)
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            InputInner::File(r) => r.read_at(self.pos, buf)?,
            InputInner::Memory(c) => c.read(buf)?,
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Input {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let at = match &mut self.inner {
            InputInner::File(_) => match pos {
                SeekFrom::Start(n) => n,
                SeekFrom::End(d) => self
                    .len
                    .checked_add_signed(d)
                    .ok_or_else(|| io::Error::other("seek before the start"))?,
                SeekFrom::Current(d) => self
                    .pos
                    .checked_add_signed(d)
                    .ok_or_else(|| io::Error::other("seek before the start"))?,
            },
            InputInner::Memory(c) => c.seek(pos)?,
        };
        self.pos = at;
        Ok(at)
    }
}

/// A run of input bytes to copy unchanged, grown while the pieces are contiguous, so that a
/// format with thousands of small structures (PNG IDAT chunks) is copied in one
/// `copy_file_range` instead of thousands. Flush before writing anything else to the output.
#[derive(Debug, Default)]
pub struct CopyRun {
    start: u64,
    end: u64,
}

impl CopyRun {
    /// Copy `len` bytes at `offset` (after what is pending; flushes first when not contiguous).
    pub fn add(
        &mut self,
        input: &mut Input,
        out: &mut Output,
        offset: u64,
        len: u64,
    ) -> Result<()> {
        if self.end != offset || self.end == self.start {
            self.flush(input, out)?;
            self.start = offset;
        }
        self.end = offset
            .checked_add(len)
            .ok_or_else(|| CodecError::corrupt(offset, "length overflows"))?;
        Ok(())
    }

    /// Copy what is pending.
    pub fn flush(&mut self, input: &mut Input, out: &mut Output) -> Result<()> {
        if self.end > self.start {
            input.seek_to(self.start)?;
            input.copy_to(out, self.end - self.start)?;
        }
        self.start = self.end;
        Ok(())
    }
}

/// The output's write buffer. Bulk payload never passes through it (see [`Input::copy_to`]),
/// only headers and rewritten metadata: 64 KiB batches those into few writes, and stays below
/// the allocator's threshold for a fresh memory mapping (128 KiB in glibc), which a small
/// file's whole run would otherwise pay to map and unmap.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// Ranges up to this length are copied through the output's buffer by [`Input::copy_to`];
/// longer ones by the kernel ([`crate::copy`]).
const SMALL_COPY: u64 = 16 * 1024;

/// Where a container module writes the labelled file.
pub struct Output {
    inner: OutputInner,
    written: u64,
}

enum OutputInner {
    File(BufWriter<File>),
    Memory(Vec<u8>),
}

impl Output {
    /// Write into a file.
    pub fn file(file: File) -> Output {
        Output {
            inner: OutputInner::File(BufWriter::with_capacity(OUTPUT_BUFFER, file)),
            written: 0,
        }
    }

    /// Write into memory (tests, fuzzing).
    pub fn memory() -> Output {
        Output {
            inner: OutputInner::Memory(Vec::new()),
            written: 0,
        }
    }

    /// Bytes written so far (the current output offset).
    pub fn position(&self) -> u64 {
        self.written
    }

    /// The bytes written, for a memory output.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self.inner {
            OutputInner::Memory(v) => Some(v),
            OutputInner::File(_) => None,
        }
    }

    /// Flush and hand back the file, for a file output.
    pub fn finish(self) -> Result<Option<File>> {
        match self.inner {
            OutputInner::File(w) => Ok(Some(w.into_inner().map_err(|e| e.into_error())?)),
            OutputInner::Memory(_) => Ok(None),
        }
    }

    fn flush_buffer_if_file(&mut self) -> io::Result<()> {
        if let OutputInner::File(w) = &mut self.inner {
            w.flush()?;
        }
        Ok(())
    }
}

impl Output {
    /// Overwrite bytes already written at `offset` (a size field known only at the end);
    /// the position stays at the end.
    pub fn patch(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        let end = offset
            .checked_add(bytes.len() as u64)
            .filter(|end| *end <= self.written)
            .ok_or_else(|| CodecError::corrupt(offset, "patch beyond the written output"))?;
        match &mut self.inner {
            OutputInner::Memory(v) => v[offset as usize..end as usize].copy_from_slice(bytes),
            OutputInner::File(w) => {
                use std::io::{Seek, SeekFrom};
                w.flush()?;
                let file = w.get_mut();
                file.seek(SeekFrom::Start(offset))?;
                file.write_all(bytes)?;
                file.seek(SeekFrom::Start(self.written))?;
            }
        }
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.inner {
            OutputInner::File(w) => w.write(buf)?,
            OutputInner::Memory(v) => v.write(buf)?,
        };
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buffer_if_file()
    }
}

/// How [`write_atomically`] treats an existing target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse if the target exists.
    Refuse,
    /// Replace an existing target.
    Replace,
}

/// Whether [`write_atomically`] forces the data to disk before the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `fsync` the temporary file before the rename: after a power loss the target is the old
    /// file or the complete new one. Costs a disk flush (seconds for gigabytes).
    #[default]
    Sync,
    /// Rename without `fsync`: still atomic against a killed process (the rename publishes a
    /// complete file), as fast as a plain copy; after a power loss the file system decides
    /// (ext4's auto_da_alloc flushes a file renamed over an existing one). For batch pipelines
    /// that sync once at the end (`--no-sync`).
    OsCache,
}

/// Error of an atomic write: either the target could not be prepared, or the content failed.
#[derive(Debug)]
pub enum WriteError {
    /// The target exists and `Overwrite::Refuse` was given.
    Exists(PathBuf),
    /// The content writer failed; nothing was changed at the target.
    Codec(CodecError),
}

impl From<CodecError> for WriteError {
    fn from(e: CodecError) -> Self {
        WriteError::Codec(e)
    }
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Codec(CodecError::Io(e))
    }
}

/// Write `target` atomically: the content goes to a temporary file in the target's folder,
/// which becomes the target only when the writer succeeded. On any failure the temporary file
/// is removed and the target is as it was. The temporary file is synced before it is published,
/// so a crash or power loss leaves the old target or the complete new one. With
/// [`Overwrite::Refuse`] a target created by someone else during the write is never replaced.
///
/// Where the file system supports it (Linux `O_TMPFILE`: ext4, XFS, Btrfs, tmpfs), the
/// temporary file has no name until it is complete: a process killed mid-write (SIGKILL, OOM)
/// leaves nothing behind, the kernel frees it. Elsewhere it is a named, locked
/// `.NAME.aigc-tmp-PID-…` file; a kill leaves it behind, and the next write to the same target
/// removes it (see [`remove_stale_temps`]).
pub fn write_atomically(
    target: &Path,
    overwrite: Overwrite,
    permissions_from: Option<&Path>,
    content: impl FnOnce(&mut Output) -> Result<()>,
) -> std::result::Result<(), WriteError> {
    write_atomically_with(
        target,
        overwrite,
        Durability::Sync,
        permissions_from,
        content,
    )
}

/// [`write_atomically`] with a choice of [`Durability`].
pub fn write_atomically_with(
    target: &Path,
    overwrite: Overwrite,
    durability: Durability,
    permissions_from: Option<&Path>,
    content: impl FnOnce(&mut Output) -> Result<()>,
) -> std::result::Result<(), WriteError> {
    if overwrite == Overwrite::Refuse && target.exists() {
        return Err(WriteError::Exists(target.to_path_buf()));
    }
    refuse_non_regular_target(target)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    remove_stale_temps(&dir, &name);
    let staged = Staged::create(&dir, &name)?;
    // Removes a named temporary file on every way out but success, a panic in `content`
    // included. An anonymous one needs nothing: closing it frees it.
    let mut guard = TempFile(staged.name.clone());
    let result = (|| -> std::result::Result<(), WriteError> {
        let mut out = Output::file(staged.file);
        content(&mut out)?;
        let file = out.finish()?.expect("file output");
        if let Some(src) = permissions_from {
            if let Ok(meta) = std::fs::metadata(src) {
                // The copy keeps the input's mode, plus write permission for its owner only (a
                // read-only input must not give a world-writable output).
                let _ = file.set_permissions(writable_by_owner(meta.permissions()));
            }
        }
        // The data must be on disk before the rename makes it the target: otherwise a power
        // loss right after the rename can leave an empty or partial file where the old one was.
        if durability == Durability::Sync {
            file.sync_all()?;
        }
        // The file stays open (and locked) until it is published, so that no other writer
        // takes a named temporary file for a dead one's leftover.
        let tmp_path = match &staged.name {
            Some(p) => p.clone(),
            None => {
                if overwrite == Overwrite::Refuse {
                    // One step: the link fails if the name exists, like `publish_no_clobber`.
                    return link_anonymous(&file, target).map_err(|e| {
                        if e.kind() == io::ErrorKind::AlreadyExists {
                            WriteError::Exists(target.to_path_buf())
                        } else {
                            WriteError::from(e)
                        }
                    });
                }
                // A link cannot replace a name: give the complete file a temporary name, then
                // rename it over the target (the name exists for two system calls).
                let tmp = link_anonymous_beside(&file, &dir, &name)?;
                guard.0 = Some(tmp.clone());
                tmp
            }
        };
        match overwrite {
            Overwrite::Replace => {
                // Checked again: the target may have been swapped for a device during the write.
                refuse_non_regular_target(target)?;
                std::fs::rename(&tmp_path, target)?
            }
            Overwrite::Refuse => publish_no_clobber(&tmp_path, target)?,
        }
        drop(file);
        Ok(())
    })();
    if result.is_ok() {
        guard.0 = None; // renamed or linked: nothing to clean up
    }
    result
}

/// A temporary file that is deleted when dropped, unless disarmed.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A rename replaces whatever the target is: given `/dev/null`, a FIFO or a socket as output, it
/// would put a regular file in its place (as root, breaking the system). Only a missing target,
/// a regular file or a symbolic link (the link itself is replaced, never what it points to) may
/// be replaced; anything else is refused with a message naming it.
fn refuse_non_regular_target(target: &Path) -> std::result::Result<(), WriteError> {
    let Ok(meta) = std::fs::symlink_metadata(target) else {
        return Ok(());
    };
    let kind = meta.file_type();
    if kind.is_file() || kind.is_symlink() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file (a device, FIFO or socket)"
    };
    Err(WriteError::Codec(CodecError::Io(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{}: the output is {what}; aigc-label writes a new file and renames it into place, \
             so it only replaces regular files: give a file path (or write to a file and copy it)",
            target.display()
        ),
    ))))
}

/// Move `tmp` to `target` unless `target` exists, without a window in which another process
/// could create `target` and have it silently replaced: a hard link fails if the name exists.
/// File systems without hard links fall back to check-then-rename.
fn publish_no_clobber(tmp: &Path, target: &Path) -> std::result::Result<(), WriteError> {
    match std::fs::hard_link(tmp, target) {
        Ok(()) => {
            let _ = std::fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(WriteError::Exists(target.to_path_buf()))
        }
        Err(_) => {
            if target.exists() {
                return Err(WriteError::Exists(target.to_path_buf()));
            }
            std::fs::rename(tmp, target)?;
            Ok(())
        }
    }
}

#[cfg(unix)]
fn writable_by_owner(perm: std::fs::Permissions) -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(perm.mode() | 0o200)
}

#[cfg(not(unix))]
fn writable_by_owner(mut perm: std::fs::Permissions) -> std::fs::Permissions {
    #[allow(clippy::permissions_set_readonly_false)] // no group/other bits off Unix
    perm.set_readonly(false);
    perm
}

/// The new content's file before it is published at the target.
struct Staged {
    file: File,
    /// The temporary file's name; `None` for an anonymous (`O_TMPFILE`) file, which has no name
    /// until it is published and vanishes with the process if it never is.
    name: Option<PathBuf>,
}

impl Staged {
    /// An anonymous file in `dir` where the file system supports it, else a named one. Either
    /// is locked (`flock`) for as long as it is open, which tells [`remove_stale_temps`] that
    /// its writer is alive.
    fn create(dir: &Path, name: &str) -> io::Result<Staged> {
        let staged = match open_anonymous(dir) {
            Some(file) => Staged { file, name: None },
            None => {
                let (path, file) = create_temp(dir, name)?;
                Staged {
                    file,
                    name: Some(path),
                }
            }
        };
        lock_while_open(&staged.file);
        Ok(staged)
    }
}

/// An unnamed regular file in `dir` (`O_TMPFILE`), if the kernel and the file system support it
/// and `/proc/self/fd` is there to give it a name later (`linkat` with `AT_SYMLINK_FOLLOW`
/// needs no privilege, unlike `AT_EMPTY_PATH`). Any failure (no support, no permission, a full
/// disk) falls back to the named file, whose creation then reports the real error.
#[cfg(target_os = "linux")]
fn open_anonymous(dir: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::OnceLock;
    static PROC_FD: OnceLock<bool> = OnceLock::new();
    if !*PROC_FD.get_or_init(|| Path::new("/proc/self/fd").is_dir()) {
        return None;
    }
    // The mode a plain `File::create` gives (0666 less the umask), as the named temporary file
    // has: outputs written without `permissions_from` keep their usual mode. Unreachable by
    // name until it is published, so the mode exposes nothing meanwhile.
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o666)
        .open(dir)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_anonymous(_dir: &Path) -> Option<File> {
    None
}

/// Give an anonymous file the name `target`; fails with `AlreadyExists` if the name exists.
#[cfg(target_os = "linux")]
fn link_anonymous(file: &File, target: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let source = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        source.as_str(),
        rustix::fs::CWD,
        target,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )
    .map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn link_anonymous(_file: &File, _target: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Give an anonymous file a fresh temporary name beside the target, for a rename over it.
fn link_anonymous_beside(file: &File, dir: &Path, name: &str) -> io::Result<PathBuf> {
    for attempt in 0..100u32 {
        let path = dir.join(temp_name(name, attempt));
        match link_anonymous(file, &path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "could not name the temporary file beside the target",
    ))
}

/// Hold an exclusive `flock` on a temporary file while it is open (released by the kernel when
/// the process dies, whatever kills it). Best effort: a file system without locks still works,
/// the writer's pid then protects its file on its own.
#[cfg(unix)]
fn lock_while_open(file: &File) {
    let _ = rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive);
}

#[cfg(not(unix))]
fn lock_while_open(_file: &File) {}

/// Most directory entries looked at for stale temporary files per write, so that a batch
/// writing into a folder of a million files does not read the whole folder each time.
const STALE_SCAN_ENTRIES: usize = 10_000;

/// Remove the leftovers of killed writers of the same target: files named
/// `.NAME.aigc-tmp-PID-…` in `dir` whose creating process `PID` is dead **and** that nobody
/// holds a lock on (a live writer in another PID namespace has its own lock), owned by the
/// current user, regular files (a symbolic link of that name is never followed). Best effort:
/// errors are ignored, at most [`STALE_SCAN_ENTRIES`] entries are looked at.
#[cfg(unix)]
pub fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.aigc-tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.take(STALE_SCAN_ENTRIES).flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !process_is_dead(pid) {
            continue;
        }
        remove_if_unlocked(&entry.path());
    }
}

#[cfg(not(unix))]
pub fn remove_stale_temps(_dir: &Path, _name: &str) {}

/// Is there certainly no process `pid` (in this PID namespace)? Unknown is "alive".
#[cfg(unix)]
fn process_is_dead(pid: i32) -> bool {
    match rustix::process::Pid::from_raw(pid) {
        Some(p) => rustix::process::test_kill_process(p) == Err(rustix::io::Errno::SRCH),
        None => false,
    }
}

/// Remove `path` if it is a regular file of ours that no process holds a lock on.
#[cfg(unix)]
fn remove_if_unlocked(path: &Path) {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    else {
        return;
    };
    let Ok(meta) = file.metadata() else { return };
    if !meta.is_file() || meta.uid() != rustix::process::geteuid().as_raw() {
        return;
    }
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok() {
        let _ = std::fs::remove_file(path);
    }
}

/// The name of a temporary file for target `name`: `.NAME.aigc-tmp-PID-NANOS-ATTEMPT`. The pid
/// comes first so that [`remove_stale_temps`] can tell whose it is.
fn temp_name(name: &str, attempt: u32) -> String {
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(".{name}.aigc-tmp-{pid}-{nanos:x}-{attempt}")
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    for attempt in 0..100u32 {
        let path = dir.join(temp_name(name, attempt));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "could not create a temporary file beside the target",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn failed_or_panicking_writers_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.bin");
        std::fs::write(&target, b"old").unwrap();
        let r = write_atomically(&target, Overwrite::Replace, None, |out| {
            out.write_all(b"partial")?;
            Err(CodecError::corrupt(7, "bad input"))
        });
        assert!(matches!(r, Err(WriteError::Codec(_))));
        let panicked = std::panic::catch_unwind(|| {
            let _ = write_atomically(&target, Overwrite::Replace, None, |out| {
                out.write_all(b"partial")?;
                panic!("writer bug");
            });
        });
        assert!(panicked.is_err());
        assert_eq!(names(dir.path()), ["t.bin"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
    }

    /// Written without `permissions_from`, the output has the mode a plain `File::create` gives
    /// in the same folder (the anonymous temporary file must not make it owner-only), and the
    /// folder holds nothing else.
    #[cfg(unix)]
    #[test]
    fn output_mode_is_that_of_a_created_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        for overwrite in [Overwrite::Refuse, Overwrite::Replace] {
            let target = dir.path().join(format!("{overwrite:?}"));
            write_atomically(&target, overwrite, None, |out| Ok(out.write_all(b"x")?)).unwrap();
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&target), mode(&plain), "{overwrite:?}");
        }
        assert_eq!(names(dir.path()), ["Refuse", "Replace", "plain"]);
    }

    #[test]
    fn refuse_keeps_an_existing_target_and_replace_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.bin");
        std::fs::write(&target, b"old").unwrap();
        let r = write_atomically(&target, Overwrite::Refuse, None, |out| {
            Ok(out.write_all(b"new")?)
        });
        assert!(matches!(r, Err(WriteError::Exists(_))));
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        write_atomically(&target, Overwrite::Replace, None, |out| {
            Ok(out.write_all(b"new")?)
        })
        .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        let fresh = dir.path().join("fresh.bin");
        write_atomically(&fresh, Overwrite::Refuse, None, |out| {
            Ok(out.write_all(b"x")?)
        })
        .unwrap();
        assert_eq!(names(dir.path()), ["fresh.bin", "t.bin"]);
    }
}
