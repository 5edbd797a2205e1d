"""The Dask recipe on a two-worker LocalCluster gives the same lines as `aigc-label scan`."""
import json
import os
import shutil

import pytest

from conftest import VECTORS, cli

distributed = pytest.importorskip("dask.distributed")

from aigc_label.distributed import list_files, scan_with_dask  # noqa: E402


def test_dask_scan_equals_cli_scan(tmp_path):
    tree = tmp_path / "tree"
    # Every vector input (all formats; valid, invalid, conflicting, unlabelled, damaged), in
    # nested folders, plus a link and a FIFO that both scans must leave alone.
    n = 0
    for root, _, files in os.walk(VECTORS):
        for f in sorted(files):
            if f.endswith((".yaml", ".sh", ".py")):
                continue
            d = tree / f"d{n % 7}" / f"e{n % 3}"
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy(os.path.join(root, f), d / f"{n:04d}-{f}")
            n += 1
    os.symlink(VECTORS / "implicit/png/xmp-valid.png", tree / "link.png")
    os.mkfifo(tree / "d0" / "pipe.png")

    want = {}
    for line in cli("scan", "--no-summary", tree, check=False).stdout.splitlines():
        d = json.loads(line)
        want[d["path"]] = d
    files = sorted(list_files(str(tree)))
    assert len(files) == n
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        got = scan_with_dask(files, client, partition_size=16)
        ran_on = client.run(os.getpid)
    assert len(ran_on) == 2 and os.getpid() not in ran_on.values()
    assert [g["path"] for g in got] == files
    for g in got:
        assert g == want[g["path"]], g["path"]
    # What the CLI reported beyond the regular files: exactly the link and the FIFO, skipped.
    extra = {p: w["status"] for p, w in want.items() if p not in set(files)}
    assert extra == {str(tree / "link.png"): "skipped", str(tree / "d0" / "pipe.png"): "skipped"}
    verdicts = {g["verdict"] for g in got}
    assert {"valid", "invalid", "conflict", "unlabeled"} <= verdicts
