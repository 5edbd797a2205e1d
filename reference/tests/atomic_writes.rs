//! Writes never lose data (issue 7): `aigc-label embed` is killed mid-write, denied permission,
//! runs out of disk, and is pointed at its own input or at an existing file. In every case the
//! input is untouched and the target is either as it was or the complete new file.
//!
//! A killed process leaves nothing: the new file is written without a name (`O_TMPFILE`) and
//! linked into place only when complete. Where the file system cannot do that, the temporary
//! file is named `.<target name>.aigc-tmp-<pid>-<nanos>-<n>` in the target's folder (see
//! `aigc_label::io::write_atomically`) and the next write to the target removes it once its
//! writer is dead; every test checks that nothing else appears.

use std::fs;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aigc_label::implicit::read_path;
use aigc_label::Profile;

const BIN: &str = env!("CARGO_BIN_EXE_aigc-label");
const PRODUCER: &str = "001191110102MACQD9K64010000";

/// A PNG chunk with its CRC.
fn chunk(out: &mut impl Write, kind: &[u8; 4], data: &[u8]) {
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.write_all(&(data.len() as u32).to_be_bytes()).unwrap();
    out.write_all(kind).unwrap();
    out.write_all(data).unwrap();
    out.write_all(&crc.finalize().to_be_bytes()).unwrap();
}

/// A valid 1x1 grey PNG with an ancillary private chunk `zzZz` of `padding` zero bytes before
/// IEND (lower-case first letter: decoders skip it), made sparse so a 300 MB file costs no
/// memory and no disk writes.
fn write_png(path: &Path, padding: u64) {
    let mut w = BufWriter::with_capacity(1 << 20, fs::File::create(path).unwrap());
    w.write_all(b"\x89PNG\r\n\x1a\n").unwrap();
    chunk(&mut w, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    // zlib stream of the one scanline: filter byte 0, pixel 0.
    chunk(
        &mut w,
        b"IDAT",
        &[0x78, 0x01, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    if padding > 0 {
        let len = u32::try_from(padding).expect("chunk under 4 GiB");
        w.write_all(&len.to_be_bytes()).unwrap();
        w.write_all(b"zzZz").unwrap();
        let mut crc = crc32fast::Hasher::new();
        crc.update(b"zzZz");
        let block = vec![0u8; 1 << 20];
        let mut left = padding;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            crc.update(&block[..n]);
            left -= n as u64;
        }
        // The zeros are a hole (a sparse file): a 300 MB input costs no disk writes.
        w.seek(SeekFrom::Current(padding as i64)).unwrap();
        w.write_all(&crc.finalize().to_be_bytes()).unwrap();
    }
    chunk(&mut w, b"IEND", &[]);
    w.flush().unwrap();
}

/// CRC-32 of a file, streamed: enough to tell whether its bytes changed.
fn file_crc(path: &Path) -> (u64, u32) {
    let mut f = fs::File::open(path).unwrap();
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return (len, crc.finalize());
        }
        len += n as u64;
        crc.update(&buf[..n]);
    }
}

/// `aigc-label embed IN -o OUT --label 1 ... --produce-id ID` plus `extra` flags.
fn embed_cmd(input: &Path, output: Option<&Path>, id: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("embed").arg(input);
    if let Some(o) = output {
        c.arg("-o").arg(o);
    }
    c.args(["--label", "1", "--producer", PRODUCER, "--produce-id", id])
        .args(extra)
        .stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("run aigc-label")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The ProduceID of the file's valid label, if it has one.
fn produce_id(path: &Path) -> Option<String> {
    let report = read_path(path, &Profile::builtin()).ok()?;
    report.label().map(|l| l.produce_id.clone())
}

/// Names in `dir` other than `expected`: each must be a temporary file of `target`, which is
/// removed; anything else fails the test. Returns how many temporary files there were.
fn leftovers(dir: &Path, expected: &[&str], target: &str) -> usize {
    let prefix = format!(".{target}.aigc-tmp-");
    let mut temps = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if expected.contains(&name.as_str()) {
            continue;
        }
        assert!(
            name.starts_with(&prefix),
            "unexpected file {name:?} left in {}",
            dir.display()
        );
        fs::remove_file(dir.join(&name)).unwrap();
        temps += 1;
    }
    temps
}

fn small_png(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    write_png(&p, 1000);
    p
}

/// Names of temporary files of `target` in `dir`, without removing them.
fn temp_names(dir: &Path, target: &str) -> Vec<String> {
    let prefix = format!(".{target}.aigc-tmp-");
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    v.sort();
    v
}

/// The `/proc/PID/fd/N` entry through which process `pid` has a file in `dir` open, other than
/// the files in `not`: the output being written (named or not; its metadata through this entry
/// is the file's, so its length is the progress). `None` while there is none.
fn file_being_written(pid: u32, dir: &Path, not: &[&Path]) -> Option<PathBuf> {
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        let Ok(target) = fs::read_link(entry.path()) else {
            continue;
        };
        if target.starts_with(dir) && !not.iter().any(|n| target == *n) {
            return Some(entry.path());
        }
    }
    None
}

/// Send `signal` to a child process.
fn signal(child: &std::process::Child, signal: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
    let r = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(r, 0, "kill failed");
}

/// Generous: a moment that never comes within it means the writer hung or never wrote.
const SAFETY_NET: Duration = Duration::from_secs(300);

#[test]
fn killed_mid_write_leaves_the_old_target_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.png");
    let payload = 300 * 1000 * 1000;
    write_png(&big, payload - 200);
    let input_before = file_crc(&big);
    // The target starts as a labelled file with the old ProduceID.
    let old_src = small_png(dir.path(), "old-src.png");
    let out = dir.path().join("out.png");
    let o = run(embed_cmd(&old_src, Some(&out), "old", &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    fs::remove_file(&old_src).unwrap();
    let old_bytes = fs::read(&out).unwrap();

    // Kill moments, as the share of the output written (synchronised on the file being written,
    // seen through /proc, never on a sleep): as soon as it exists, then 10 %, 50 %, 90 %; by
    // SIGKILL (no clean-up possible) and SIGTERM (the default action: no clean-up either).
    let mut outcomes = Vec::new();
    for (share, kill) in [
        (0.0, libc::SIGKILL),
        (0.1, libc::SIGTERM),
        (0.5, libc::SIGKILL),
        (0.9, libc::SIGTERM),
    ] {
        let mut child = embed_cmd(&big, Some(&out), "new", &["--force"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let want = (payload as f64 * share) as u64;
        let start = std::time::Instant::now();
        let written = loop {
            if let Some(fd) = file_being_written(child.id(), dir.path(), &[&big]) {
                if let Ok(len) = fs::metadata(&fd).map(|m| m.len()) {
                    if len >= want {
                        // Frozen mid-write, then checked and killed at exactly this point.
                        signal(&child, libc::SIGSTOP);
                        break fs::metadata(&fd).map(|m| m.len()).unwrap_or(len);
                    }
                }
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "embed ended before {}% of the output was seen being written",
                share * 100.0
            );
            assert!(start.elapsed() < SAFETY_NET, "no progress at {share}");
            std::thread::sleep(Duration::from_micros(500));
        };
        let visible_while_writing = temp_names(dir.path(), "out.png");
        signal(&child, kill);
        // A stopped process acts on SIGTERM once continued (SIGKILL needs no continue).
        signal(&child, libc::SIGCONT);
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "embed finished instead of dying: {status:?}"
        );
        // The target is exactly the old file: a kill never publishes a partial one.
        assert_eq!(
            fs::read(&out).unwrap(),
            old_bytes,
            "after a kill at {written} bytes written the target is not the old file"
        );
        let left = temp_names(dir.path(), "out.png");
        outcomes.push(format!(
            "signal {kill} at {written} of ~{payload} bytes: {} temp name(s) while writing, {} left",
            visible_while_writing.len(),
            left.len()
        ));
        if !left.is_empty() {
            // A file system without O_TMPFILE: the next write must clean up after the dead one.
            let next_src = small_png(dir.path(), "next.png");
            let o = run(embed_cmd(&next_src, Some(&out), "next", &["--force"]));
            assert!(o.status.success(), "{}", stderr(&o));
            fs::remove_file(&next_src).unwrap();
            assert_eq!(
                temp_names(dir.path(), "out.png"),
                Vec::<String>::new(),
                "the next write left the dead writer's temporary file"
            );
            fs::write(&out, &old_bytes).unwrap();
        }
        assert_eq!(leftovers(dir.path(), &["big.png", "out.png"], "out.png"), 0);
    }
    println!("{}", outcomes.join("\n"));
    assert_eq!(file_crc(&big), input_before, "the input changed");
    // Uninterrupted, the same command produces the new file and leaves nothing behind.
    let o = run(embed_cmd(&big, Some(&out), "new", &["--force"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(produce_id(&out).as_deref(), Some("new"));
    assert!(fs::metadata(&out).unwrap().len() > payload);
    assert_eq!(leftovers(dir.path(), &["big.png", "out.png"], "out.png"), 0);
    assert_eq!(file_crc(&big), input_before, "the input changed");
}

/// The leftovers of killed writers on a file system without `O_TMPFILE` are what this test
/// plants: `.out.png.aigc-tmp-PID-…` files. The next write to `out.png` removes those whose
/// writer is dead and unlocked, and nothing else: not a live writer's (by pid, or by its lock
/// when its pid is not visible here), not another target's, not a symbolic link's target.
#[test]
fn the_next_write_removes_stale_temporary_files_of_dead_writers_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = small_png(dir.path(), "in.png");
    let dead = {
        let mut c = Command::new("true").spawn().unwrap();
        let pid = c.id();
        c.wait().unwrap();
        pid
    };
    let alive = std::process::id();
    let plant = |name: String| {
        let p = dir.path().join(&name);
        fs::write(&p, b"partial output of a killed writer").unwrap();
        name
    };
    let stale = plant(format!(".out.png.aigc-tmp-{dead}-1f-0"));
    let stale_old_style = plant(format!(".out.png.aigc-tmp-{dead}-2a-3"));
    let live = plant(format!(".out.png.aigc-tmp-{alive}-1f-0"));
    let locked = plant(format!(".out.png.aigc-tmp-{dead}-99-0"));
    let other_target = plant(format!(".other.png.aigc-tmp-{dead}-1f-0"));
    let precious = dir.path().join("precious");
    fs::write(&precious, b"keep").unwrap();
    let link = format!(".out.png.aigc-tmp-{dead}-77-0");
    std::os::unix::fs::symlink(&precious, dir.path().join(&link)).unwrap();
    // A writer in another PID namespace: its pid means nothing here, but it holds the lock.
    let lock = fs::File::open(dir.path().join(&locked)).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();

    let out = dir.path().join("out.png");
    let o = run(embed_cmd(&input, Some(&out), "1", &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    let names = temp_names(dir.path(), "out.png");
    assert!(!names.contains(&stale), "stale file kept: {names:?}");
    assert!(
        !names.contains(&stale_old_style),
        "stale file kept: {names:?}"
    );
    for kept in [&live, &locked, &link] {
        assert!(names.contains(kept), "{kept} was removed: {names:?}");
    }
    assert!(dir.path().join(&other_target).exists());
    assert_eq!(fs::read(&precious).unwrap(), b"keep");
    assert_eq!(produce_id(&out).as_deref(), Some("1"));
    drop(lock);
}

#[test]
fn read_only_input_is_labelled_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let input = small_png(dir.path(), "in.png");
    fs::set_permissions(&input, fs::Permissions::from_mode(0o444)).unwrap();
    let before = fs::read(&input).unwrap();
    let out = dir.path().join("out.png");
    let o = run(embed_cmd(&input, Some(&out), "1", &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(fs::read(&input).unwrap(), before);
    assert_eq!(fs::metadata(&input).unwrap().mode() & 0o777, 0o444);
    assert_eq!(produce_id(&out).as_deref(), Some("1"));
    // The copy keeps the input's mode plus owner write; never group- or world-writable.
    assert_eq!(fs::metadata(&out).unwrap().mode() & 0o777, 0o644);
}

/// Can the current user create a file in `dir`? (root ignores directory permissions)
fn can_create_in(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    match fs::File::create(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn read_only_output_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let input = small_png(dir.path(), "in.png");
    fs::set_permissions(&input, fs::Permissions::from_mode(0o644)).unwrap();
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::write(ro.join("existing.png"), b"old").unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
    let out = ro.join("out.png");
    let mut cmd = embed_cmd(&input, Some(&out), "1", &[]);
    if can_create_in(&ro) {
        // Running as root: permissions do not apply to root, so run the command as `nobody`.
        cmd.uid(65534).gid(65534);
    }
    let o = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            // Outside CI a developer without root may skip; CI runs as root and must test it.
            assert!(
                std::env::var_os("CI").is_none(),
                "cannot run aigc-label as an unprivileged user in CI, so the read-only folder \
                 was not tested: {e}"
            );
            eprintln!("skipped: cannot run aigc-label as an unprivileged user: {e}");
            return;
        }
    };

    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(msg.contains(&out.display().to_string()), "{msg}");
    assert!(msg.to_lowercase().contains("permission denied"), "{msg}");
    let names: Vec<_> = fs::read_dir(&ro)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["existing.png"]);
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Embed a 2 MB file into `target`, which cannot hold it; the error must name the target and
/// leave nothing behind in its folder.
fn assert_full_disk_error(o: &Output, target: &Path) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    let msg = stderr(o);
    assert!(msg.contains(&target.display().to_string()), "{msg}");
    let dir = target.parent().unwrap();
    let names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");
}

/// Unmounts a test file system when dropped, even when an assertion failed.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_is_a_clear_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    write_png(&input, 2 * 1000 * 1000);
    let before = file_crc(&input);

    // A real full file system: a 1 MiB tmpfs (needs root and mount permission).
    let mnt = dir.path().join("tmpfs");
    fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::piped())
        .output();
    match mounted {
        Ok(m) if m.status.success() => {
            let _unmount = Unmount(mnt.clone());
            let target = mnt.join("out.png");
            let o = run(embed_cmd(&input, Some(&target), "1", &[]));
            assert_full_disk_error(&o, &target);
            assert!(stderr(&o).contains("No space left"), "{}", stderr(&o));
        }
        Ok(m) => println!(
            "tmpfs variant skipped: mount refused ({})",
            String::from_utf8_lossy(&m.stderr).trim()
        ),
        Err(e) => println!("tmpfs variant skipped: no mount command ({e})"),
    }

    // Without mount permission too: a file-size limit (SIGXFSZ ignored, so the write fails
    // with EFBIG instead of killing the process), which exercises the same error path.
    let limited = dir.path().join("limited");
    fs::create_dir(&limited).unwrap();
    let target = limited.join("out.png");
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 1024; exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(["embed"])
        .arg(&input)
        .arg("-o")
        .arg(&target)
        .args(["--label", "1", "--producer", PRODUCER, "--produce-id", "1"]);
    let o = run(sh);
    assert_full_disk_error(&o, &target);
    assert!(stderr(&o).contains("too large"), "{}", stderr(&o));
    assert_eq!(file_crc(&input), before);
}

#[test]
fn output_equal_to_input_needs_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let input = small_png(dir.path(), "in.png");
    let before = fs::read(&input).unwrap();
    // The same file under another spelling is recognised too: a `.` component, a symbolic
    // link, a hard link (the check compares device and inode).
    let symlink = dir.path().join("link.png");
    std::os::unix::fs::symlink(&input, &symlink).unwrap();
    let hard = dir.path().join("hard.png");
    fs::hard_link(&input, &hard).unwrap();
    for spelling in [
        input.clone(),
        dir.path().join(".").join("in.png"),
        symlink,
        hard,
    ] {
        let o = run(embed_cmd(&input, Some(&spelling), "1", &["--force"]));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("--in-place"), "{}", stderr(&o));
        assert_eq!(fs::read(&input).unwrap(), before);
    }
    let inode = fs::metadata(&input).unwrap().ino();
    let o = run(embed_cmd(&input, None, "1", &["--in-place"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(produce_id(&input).as_deref(), Some("1"));
    // Replaced by a rename (a new inode), not rewritten in place.
    assert_ne!(fs::metadata(&input).unwrap().ino(), inode);
    assert_eq!(
        leftovers(dir.path(), &["in.png", "link.png", "hard.png"], "in.png"),
        0
    );
}

#[test]
fn existing_output_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let input = small_png(dir.path(), "in.png");
    let out = dir.path().join("out.png");
    fs::write(&out, b"precious").unwrap();
    let o = run(embed_cmd(&input, Some(&out), "1", &[]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let msg = stderr(&o);
    assert!(
        msg.contains(&out.display().to_string()) && msg.contains("--force"),
        "{msg}"
    );
    assert_eq!(fs::read(&out).unwrap(), b"precious");
    assert_eq!(leftovers(dir.path(), &["in.png", "out.png"], "out.png"), 0);
    let o = run(embed_cmd(&input, Some(&out), "1", &["--force"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(produce_id(&out).as_deref(), Some("1"));
    assert_eq!(leftovers(dir.path(), &["in.png", "out.png"], "out.png"), 0);
}

/// The PNG helper makes a valid, unlabelled file (otherwise the tests above prove nothing).
#[test]
fn test_png_is_valid_and_unlabelled() {
    let dir = tempfile::tempdir().unwrap();
    let p = small_png(dir.path(), "a.png");
    let report = read_path(&p, &Profile::builtin()).unwrap();
    assert!(report.labels.is_empty());
}

/// The attack of issue 16: `embed IN -o /dev/null --force` as root used to rename a regular file
/// over the device. A device node and a FIFO made in a temporary folder (never the system's own)
/// must stay what they are, be refused with a message naming them, and leave no temporary file.
#[test]
fn an_output_that_is_a_device_or_a_fifo_is_refused_and_stays_what_it_is() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let input = small_png(dir.path(), "in.png");
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    let mut targets = vec![("fifo", fifo)];
    // A character device like /dev/null (1,3) needs CAP_MKNOD: CI runs as root and must test it.
    let null = dir.path().join("null");
    let mknod = Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .output()
        .unwrap();
    if mknod.status.success() {
        targets.push(("null", null));
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "mknod failed in CI, so the device case was not tested: {}",
            String::from_utf8_lossy(&mknod.stderr)
        );
        eprintln!("skipping the device node: mknod needs root here");
    }
    for (name, target) in &targets {
        // Without --force an existing target is refused anyway; --force is the attack.
        let o = run(embed_cmd(&input, Some(target), "1", &["--force"]));
        let msg = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {msg}");
        assert!(
            msg.contains(&target.display().to_string()) && msg.contains("not a regular file"),
            "{name}: {msg}"
        );
        let kind = fs::symlink_metadata(target).unwrap().file_type();
        assert!(
            kind.is_fifo() || kind.is_char_device(),
            "{name} was replaced: {kind:?}"
        );
    }
    let names: Vec<&str> = targets.iter().map(|(n, _)| *n).collect();
    let mut expected = vec!["in.png"];
    expected.extend(&names);
    for (name, _) in &targets {
        assert_eq!(leftovers(dir.path(), &expected, name), 0, "{name}");
    }
}
