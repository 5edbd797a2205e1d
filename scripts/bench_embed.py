#!/usr/bin/env python3
"""embed vs `cat a > b`, honest on a shared machine (used by scripts/bench.sh).

Both sides are one process started the same way (posix_spawn, no shell: `cat` gets its output
file as stdout, exactly as `cat a > b` does after the shell's redirection), and waited for with
wait4, which gives each process's own CPU time (peak RSS: one more run under /usr/bin/time). Per repetition the two commands
run back to back, in alternating order (rotating, with several binaries), each writing a fresh file (the output is removed before
the timed run: replacing an existing file makes ext4 flush it, auto_da_alloc). The ratio is
reported as the ratio of the minima (the least disturbed run of each: the machine is shared)
and as the median of the per-repetition ratios (the two runs of one repetition see the same
load); CPU time (user+sys) is reported beside wall time.

usage: bench_embed.py BIN[,BIN2...] OUTDIR REPS FILE... [-- EXTRA_EMBED_FLAGS...]
(BENCH_WARMUP=0: no warm-up repetition, for files too large to copy twice more)
prints one row per file and binary; exit status 0 (targets are printed, not asserted).
Several binaries (comma-separated, e.g. a build before and after a change) are measured in the
same repetitions, all in rotating order with cat, so that their rows are comparable; the
`bin` column numbers them in the order given.
"""

import os
import statistics
import subprocess
import sys
import time

FLAGS = ["--label", "1", "--producer", "001191110102MACQD9K64010000", "--produce-id", "bench"]


def spawn(argv, stdout_path):
    """Run argv with stdout to stdout_path; return (wall_s, cpu_s, peak_kib)."""
    actions = [(os.POSIX_SPAWN_OPEN, 1, stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv} failed with status {status}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def peak_kib(argv):
    """Peak RSS of one run, from /usr/bin/time (wait4's ru_maxrss of a child spawned from this
    process would include the interpreter's own pages, shared until the exec)."""
    out = argv[argv.index("-o") + 1]
    rm(out)
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *argv], capture_output=True, text=True, check=True)
    rm(out)
    return int(r.stderr.strip().splitlines()[-1])


def rm(p):
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass


def bench(binaries, outdir, reps, src, extra):
    """Per repetition: cat and each binary once, in an order that rotates from one repetition to
    the next. Returns {who: [(wall_s, cpu_s, _), ...]} with who = "cat" or a binary's index."""
    ext = os.path.splitext(src)[1]
    out_cat = os.path.join(outdir, "out-cat" + ext)
    out_ours = os.path.join(outdir, "out-ours" + ext)
    cmds = {"cat": (["/bin/cat", src], out_cat)}
    for i, binary in enumerate(binaries):
        argv = [binary, "embed", src, "-o", out_ours, "--no-sync", *FLAGS, *extra]
        cmds[i] = (argv, "/dev/null")
    who_all = list(cmds)
    rows = {who: [] for who in who_all}
    warm = int(os.environ.get("BENCH_WARMUP", "1"))
    for rep in range(reps + warm):  # a first repetition warms the page cache, not counted
        k = rep % len(who_all)
        order = who_all[k:] + who_all[:k]
        if (rep // len(who_all)) % 2:
            order.reverse()
        for who in order:
            rm(out_cat)
            rm(out_ours)
            argv, stdout = cmds[who]
            r = spawn(argv, stdout)
            if rep >= warm:
                rows[who].append(r)
    rm(out_cat)
    rm(out_ours)
    return rows


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1 :]
    binaries, outdir, reps, files = args[0].split(","), args[1], int(args[2]), args[3:]
    hdr = ("file", "bin", "size_MB", "reps", "cat_min", "cat_med", "emb_min", "emb_med",
           "r_min", "r_med", "cpu_cat", "cpu_emb", "peak_KiB")
    print("%-12s %3s %8s %4s %8s %8s %8s %8s %6s %6s %8s %8s %8s" % hdr)
    for src in files:
        rows = bench(binaries, outdir, reps, src, extra)
        c_wall = [r[0] * 1000 for r in rows["cat"]]
        c_cpu = statistics.median(r[1] * 1000 for r in rows["cat"])
        for i, binary in enumerate(binaries):
            o_wall = [r[0] * 1000 for r in rows[i]]
            o_cpu = statistics.median(r[1] * 1000 for r in rows[i])
            peak = peak_kib([binary, "embed", src, "-o", os.path.join(outdir, "out-peak"),
                             "--no-sync", *FLAGS, *extra])
            r_min = min(o_wall) / min(c_wall)
            r_med = statistics.median(o / c for o, c in zip(o_wall, c_wall))
            print("%-12s %3d %8.1f %4d %8.2f %8.2f %8.2f %8.2f %6.2f %6.2f %8.2f %8.2f %8d" % (
                os.path.basename(src), i + 1, os.path.getsize(src) / 1e6, reps,
                min(c_wall), statistics.median(c_wall), min(o_wall), statistics.median(o_wall),
                r_min, r_med, c_cpu, o_cpu, peak), flush=True)


if __name__ == "__main__":
    main()
