import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
VECTORS = REPO / "vectors"
PRODUCER = "001191110102MACQD9K64010000"


def cli_path() -> str:
    """The aigc-label command to compare with: $AIGC_LABEL_BIN, else the workspace's debug build."""
    b = os.environ.get("AIGC_LABEL_BIN") or str(REPO / "target" / "debug" / "aigc-label")
    assert os.path.exists(b), f"{b} not built (scripts/test-python.sh builds it)"
    return b


def cli(*args, check=True):
    r = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def cli_json(*args):
    return json.loads(cli(*args).stdout)


@pytest.fixture
def vectors():
    return VECTORS
