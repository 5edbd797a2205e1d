"""The Python API against the aigc-label command on the same files."""
import json
import os
import shutil

import pytest

import aigc_label
from conftest import PRODUCER, VECTORS, cli, cli_json

FIELDS = {"Label": "1", "ContentProducer": PRODUCER, "ProduceID": "py-42"}
SAMPLES = [
    "implicit/png/xmp-valid.png",
    "implicit/png/plain.png",
    "implicit/png/conflict.png",
    "implicit/png/xmp-label-4.png",
    "implicit/formats/ffmpeg.mp4",
    "implicit/formats/ffmpeg.flac",
    "implicit/formats/exiftool-xmp.jpg",
]


@pytest.mark.parametrize("rel", SAMPLES)
def test_read_path_and_bytes_match_the_cli(rel):
    path = VECTORS / rel
    want = cli_json("read", "--json", path)
    assert aigc_label.read(str(path)) == want
    assert aigc_label.read(path) == want  # os.PathLike
    from_bytes = aigc_label.read(path.read_bytes(), name=path.name)
    assert from_bytes == dict(want, file=path.name)


def test_read_verdicts_are_the_expected_ones():
    verdicts = {rel: aigc_label.read(VECTORS / rel)["verdict"] for rel in SAMPLES[:4]}
    assert verdicts == {
        "implicit/png/xmp-valid.png": "valid",
        "implicit/png/plain.png": "unlabeled",
        "implicit/png/conflict.png": "conflict",
        "implicit/png/xmp-label-4.png": "invalid",
    }


def test_read_errors_name_the_file_and_byte():
    with pytest.raises(OSError):
        aigc_label.read("/nonexistent/x.png")
    with pytest.raises(aigc_label.LabelError, match=r"truncated.png: .*byte \d+"):
        aigc_label.read(VECTORS / "implicit/png/truncated.png")
    with pytest.raises(aigc_label.LabelError, match="not a format"):
        aigc_label.read(b"hello, world", name="x.bin")
    with pytest.raises(TypeError):
        aigc_label.read(42)


def test_embed_bytes_round_trip_with_note_1_defaults():
    plain = (VECTORS / "implicit/png/plain.png").read_bytes()
    out = aigc_label.embed(plain, FIELDS)
    assert isinstance(out, bytes) and out != plain
    r = aigc_label.read(out, name="x.png")
    assert r["verdict"] == "valid"
    f = r["labels"][0]["fields"]
    # Annex E note 1: at first write the propagation elements repeat the production elements.
    assert f == {"Label": "1", "ContentProducer": PRODUCER, "ProduceID": "py-42", "ReservedCode1": "",
                 "ContentPropagator": PRODUCER, "PropagateID": "py-42", "ReservedCode2": ""}


def test_embed_path_is_atomic_and_matches_the_cli(tmp_path):
    src = VECTORS / "implicit/formats/ffmpeg.flac"
    before = src.read_bytes()
    ours, theirs = tmp_path / "py.flac", tmp_path / "cli.flac"
    res = aigc_label.embed(str(src), FIELDS, str(ours))
    assert res["format"] == "flac" and res["output"] == str(ours)
    cli("embed", src, "-o", theirs, "--label", "1", "--producer", PRODUCER, "--produce-id", "py-42")
    assert ours.read_bytes() == theirs.read_bytes()
    assert src.read_bytes() == before
    with pytest.raises(aigc_label.LabelError, match="exists"):
        aigc_label.embed(str(src), FIELDS, str(ours))
    aigc_label.embed(str(src), dict(FIELDS, ProduceID="2"), str(ours), overwrite=True)
    assert aigc_label.read(ours)["labels"][0]["fields"]["ProduceID"] == "2"
    assert sorted(os.listdir(tmp_path)) == ["cli.flac", "py.flac"]  # no temporary left


def test_embed_refuses_empty_producer_and_invalid_labels():
    plain = (VECTORS / "implicit/png/plain.png").read_bytes()
    empty = {"Label": "2", "ContentProducer": "", "ProduceID": ""}
    with pytest.raises(aigc_label.LabelError, match="Art. 6"):
        aigc_label.embed(plain, empty)
    assert aigc_label.read(aigc_label.embed(plain, empty, allow_empty=True), name="x.png")["labels"][0]["fields"]["Label"] == "2"
    with pytest.raises(aigc_label.LabelError, match="invalid label"):
        aigc_label.embed(plain, dict(FIELDS, Label="4"))
    bad = aigc_label.embed(plain, dict(FIELDS, Label="4"), allow_invalid=True)
    assert aigc_label.read(bad, name="x.png")["verdict"] == "invalid"
    with pytest.raises(aigc_label.LabelError, match="missing"):
        aigc_label.embed(plain, {"Label": "1"})
    with pytest.raises(aigc_label.LabelError, match="unknown"):
        aigc_label.embed(plain, dict(FIELDS, Color="red"))


def test_propagate_matches_the_cli(tmp_path):
    src = VECTORS / "implicit/png/plain.png"
    d = aigc_label.propagate(src, tmp_path / "py.png", "00119144030008867405X220001", "77", user_declared=True)
    want = cli_json("propagate", src, "-o", tmp_path / "cli.png", "--propagator", "00119144030008867405X220001",
                    "--propagate-id", "77", "--user-declared", "--json")
    assert d == want
    assert d["notice"] == "possibly" and d["label"]["Label"] == "2"
    assert (tmp_path / "py.png").read_bytes() == (tmp_path / "cli.png").read_bytes()
    labelled = VECTORS / "implicit/png/xmp-valid.png"
    d = aigc_label.propagate(labelled, tmp_path / "p2.png", "00119144030008867405X220001", "78")
    assert d["notice"] == "is" and d["label"]["PropagateID"] == "78"
    assert d["label"]["ContentProducer"] == aigc_label.read(labelled)["labels"][0]["fields"]["ContentProducer"]


def test_check_matches_the_cli(tmp_path):
    # A vector whose label is at 4.9 % of the short side, below the 5 % minimum: a failing verdict.
    orig = VECTORS / "explicit/img-base-1600x1000.png"
    small = VECTORS / "explicit/img-center-4.9pct-1600x1000.png"
    got = aigc_label.check(small, orig, ocr=False)
    r = cli("check", small, "--original", orig, "--no-ocr", "--json", check=False)
    assert r.returncode == 1, r.stderr
    assert got == json.loads(r.stdout)
    assert got["modality"] == "image" and got["verdict"] == "fail"
    # The reference's own mark passes.
    marked = tmp_path / "marked.png"
    cli("mark", orig, "-o", marked)
    assert aigc_label.check(marked, orig, ocr=False)["verdict"] == "pass"


def test_check_takes_interaction_rounds():
    # 5.3 d note 3: the sox-made file labels only the first of three rounds.
    orig = VECTORS / "explicit/audio-rounds.wav"
    first_only = VECTORS / "explicit/audio-rounds-first-only.wav"
    lines = (VECTORS / "explicit/audio-rounds.txt").read_text().split()
    rounds = [tuple(float(x) for x in line.split("-")) for line in lines]
    got = aigc_label.check(first_only, orig, rounds=rounds)
    args = [a for line in lines for a in ("--round", line)]
    r = cli("check", first_only, "--original", orig, *args, "--json", check=False)
    assert r.returncode == 1, r.stderr
    assert got == json.loads(r.stdout)
    d = [f for f in got["findings"] if f["requirement"] == "GB-5.3-d"]
    assert d and d[0]["outcome"] == "fail", got["findings"]
    # Without the rounds, one label at the start of the file is enough.
    plain = aigc_label.check(first_only, orig)
    assert [f["outcome"] for f in plain["findings"] if f["requirement"] == "GB-5.3-d"] == ["pass"]


def test_scan_file_is_the_cli_scan_line(tmp_path):
    for rel in SAMPLES + ["implicit/png/truncated.png"]:
        shutil.copy(VECTORS / rel, tmp_path / os.path.basename(rel))
    (tmp_path / "notes.txt").write_text("no label here")
    os.mkfifo(tmp_path / "pipe.png")
    lines = {}
    for line in cli("scan", "--no-summary", tmp_path, check=False).stdout.splitlines():
        d = json.loads(line)
        lines[d["path"]] = d
    assert len(lines) == len(SAMPLES) + 3
    for path, line in lines.items():
        assert aigc_label.scan_file(path) == line, path
    statuses = sorted(line["status"] for line in lines.values())
    assert statuses.count("skipped") == 1 and statuses.count("error") == 1 and statuses.count("unsupported") == 1
