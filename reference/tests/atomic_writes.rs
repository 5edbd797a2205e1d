//! Writes never lose data (issue 7): `aigc-label embed` is killed mid-write, denied permission,
//! runs out of disk, and is pointed at its own input or at an existing file. In every case the
//! input is untouched and the target is either as it was or the complete new file.
//!
//! The only leftover a killed process may leave is its temporary file, named
//! `.<target name>.aigc-tmp-<pid>-<nanos>-<n>` in the target's folder (see
//! `aigc_label::io::write_atomically`); every test checks that nothing else appears.

use std::fs;
use std::io::{BufWriter, Read, Write};
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
/// IEND (lower-case first letter: decoders skip it), streamed so a 300 MB file costs no memory.
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
            w.write_all(&block[..n]).unwrap();
            crc.update(&block[..n]);
            left -= n as u64;
        }
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

#[test]
fn killed_mid_write_leaves_the_old_or_the_complete_new_target() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.png");
    write_png(&big, 300 * 1000 * 1000 - 200);
    let input_before = file_crc(&big);
    // The target starts as a labelled file with the old ProduceID.
    let old_src = small_png(dir.path(), "old-src.png");
    let out = dir.path().join("out.png");
    let o = run(embed_cmd(&old_src, Some(&out), "old", &[]));
    assert!(o.status.success(), "{}", stderr(&o));
    fs::remove_file(&old_src).unwrap();
    let old_bytes = fs::read(&out).unwrap();

    let mut outcomes = Vec::new();
    for delay_ms in [5u64, 20, 50, 100, 150, 200, 300, 500, 1000] {
        let mut child = embed_cmd(&big, Some(&out), "new", &["--force"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let killed = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let temps = leftovers(dir.path(), &["big.png", "out.png"], "out.png");
        let state = if fs::read(&out).map(|b| b == old_bytes).unwrap_or(false) {
            "old"
        } else {
            // Not the old file: it must be the complete new one. `read` walks every chunk up
            // to IEND, after the 300 MB chunk, so a partial file cannot pass.
            assert_eq!(
                produce_id(&out).as_deref(),
                Some("new"),
                "after a kill at {delay_ms} ms the target is neither the old file nor the complete new one"
            );
            assert!(fs::metadata(&out).unwrap().len() > 300_000_000);
            "new"
        };
        if !killed {
            assert!(status.success(), "embed failed before the kill");
        }
        outcomes.push(format!(
            "{delay_ms} ms: {} -> target {state}, {temps} temp file(s) left",
            if killed { "killed" } else { "already done" }
        ));
        fs::write(&out, &old_bytes).unwrap();
    }
    println!("{}", outcomes.join("\n"));
    assert_eq!(file_crc(&big), input_before, "the input changed");
    assert!(
        outcomes
            .iter()
            .any(|o| o.contains("killed -> target old, 1 temp")),
        "no kill landed while the temporary file was being written: {outcomes:#?}"
    );
    // Uninterrupted, the same command produces the new file and leaves nothing behind.
    let o = run(embed_cmd(&big, Some(&out), "new", &["--force"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(produce_id(&out).as_deref(), Some("new"));
    assert_eq!(leftovers(dir.path(), &["big.png", "out.png"], "out.png"), 0);
    assert_eq!(file_crc(&big), input_before, "the input changed");
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
            println!("skipped: cannot run aigc-label as an unprivileged user: {e}");
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
    // The same file under another spelling is recognised too.
    for spelling in [input.clone(), dir.path().join(".").join("in.png")] {
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
    assert_eq!(leftovers(dir.path(), &["in.png"], "in.png"), 0);
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
