#!/usr/bin/env python3
"""Calibration set for the audio label detector (GB 45438 5.3): rhythm labels 短长短短 and
voice prompts, made without any code of the reference (python3 standard library, espeak-ng,
sox and ffmpeg), so the set checks the detector against other software rather than against
itself.

The standard fixes no tone frequency, unit length or loudness for the rhythm label, so the
conforming cases spread over what a vendor might choose: sine (or slightly buzzy) tones at
300-3000 Hz, units of 50-300 ms, a long element 2.5-3.5 units, a letter gap of 1-3 units, fades
of 0-10 ms, the label at the start or the end of the file, mixed over silence, white noise, a
chord with a slow beat (a kick drum and detuned partials), a melody, or speech (espeak-ng), at
-6 to -20 dB relative to the tones, in WAV, FLAC, MP3 64 kbit/s, Ogg Vorbis and AAC. The
negatives are wrong rhythms (长短短短, 短短短短, 短长短, a long element only 1.4 units), tones
without a rhythm (a steady tone, an even metronome) and beds alone.

Voice cases are pairs (original, labelled) as the `--original` measure needs: espeak-ng speech
inserted (Mandarin and English voices, several speeds and pitches) against noise, tones, chords,
a melody with vibrato and a rhythm label inserted instead.

Usage: make.py --out DIR [--subset smoke] [--seed N]
Writes DIR/<case>.<ext> (and DIR/<case>.orig.wav for voice cases) and DIR/manifest.json:
  {"cases": [{"name", "file", "original"?, "kind": "rhythm"|"voice", "expect": true|false,
              "params": {...}}]}
where `expect` says whether the file carries a conforming label of that kind.
"""

import argparse
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile
import wave

TAU = 2.0 * math.pi


# ---- signals -------------------------------------------------------------------------------

def silence(n):
    return [0.0] * n


def rms(x):
    return math.sqrt(sum(v * v for v in x) / max(1, len(x)))


def scale_to(x, target_rms):
    r = rms(x)
    return [v * target_rms / r for v in x] if r > 0 else x


def white(n, rng, a=1.0):
    return [a * (2.0 * rng.random() - 1.0) for _ in range(n)]


def pinkish(n, rng):
    """Pink-like noise: three one-pole filtered white noises summed (Voss-McCartney lite)."""
    out, b0, b1, b2 = [], 0.0, 0.0, 0.0
    for _ in range(n):
        w = 2.0 * rng.random() - 1.0
        b0 = 0.99765 * b0 + w * 0.0990460
        b1 = 0.96300 * b1 + w * 0.2965164
        b2 = 0.57000 * b2 + w * 1.0526913
        out.append(b0 + b1 + b2 + w * 0.1848)
    return out


def chord_with_beat(n, rate, rng, root=220.0):
    """A sustained major chord (three notes, four harmonics each, partials detuned by 0.7 Hz so
    they beat slowly) with a kick drum at 80-100 bpm and a soft hi-hat off-beat."""
    notes = [root, root * 1.26, root * 1.5, root * 2.0]
    parts = []
    for f in notes:
        for h, a in [(1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15)]:
            parts.append((f * h, a, f * h + rng.uniform(0.4, 1.0), rng.uniform(0, TAU)))
    bpm = rng.uniform(80, 100)
    beat = int(rate * 60.0 / bpm)
    out = []
    for i in range(n):
        t = i / rate
        s = 0.0
        for f, a, f2, ph in parts:
            s += 0.5 * a * (math.sin(TAU * f * t + ph) + math.sin(TAU * f2 * t))
        k = i % beat
        kt = k / rate
        kick = 3.0 * math.exp(-kt * 18.0) * math.sin(TAU * (50.0 + 80.0 * math.exp(-kt * 30.0)) * kt)
        out.append(s * 0.2 + kick)
    hat_rng = random.Random(rng.random())
    for start in range(beat // 2, n, beat):
        for k in range(min(int(0.04 * rate), n - start)):
            out[start + k] += 0.4 * math.exp(-k / rate * 90.0) * (2.0 * hat_rng.random() - 1.0)
    return out


def melody(n, rate, rng, vibrato=False):
    """A melody of plucked notes with harmonics (pentatonic, 150-500 ms each) over a bass note;
    with `vibrato`, held notes with 5.5 Hz vibrato of ±1.5 % (a voice-like instrument)."""
    scale = [261.6, 293.7, 329.6, 392.0, 440.0, 523.3, 587.3, 659.3]
    out = [0.0] * n
    i = 0
    while i < n:
        f = rng.choice(scale)
        d = int(rate * rng.uniform(0.15, 0.5))
        ph = 0.0
        for k in range(min(d, n - i)):
            t = k / rate
            if vibrato:
                env = min(1.0, t / 0.04) * min(1.0, (d - k) / rate / 0.04)
                inst = f * (1.0 + 0.015 * math.sin(TAU * 5.5 * t))
            else:
                env = math.exp(-t * 5.0)
                inst = f
            ph += TAU * inst / rate
            out[i + k] += env * (math.sin(ph) + 0.4 * math.sin(2 * ph) + 0.2 * math.sin(3 * ph))
        i += d
    for i in range(n):
        out[i] += 0.5 * math.sin(TAU * 110.0 * i / rate)
    return out


def tone(n, rate, freq, amp, fade, buzz=0.0):
    fade_n = max(1, int(fade * rate))
    out = []
    for k in range(n):
        if fade <= 0:
            env = 1.0
        elif k < fade_n:
            env = 0.5 - 0.5 * math.cos(math.pi * k / fade_n)
        elif n - k <= fade_n:
            env = 0.5 - 0.5 * math.cos(math.pi * (n - k) / fade_n)
        else:
            env = 1.0
        w = TAU * freq * k / rate
        s = math.sin(w) + buzz * (0.5 * math.sin(2 * w) + 0.3 * math.sin(3 * w))
        out.append(amp * env * s / (1.0 + 0.8 * buzz))
    return out


def pattern(rate, freq, unit, elements, gaps, amp, fade, buzz=0.0):
    """Elements (in units) separated by gaps (in units): the audio of one rhythm."""
    out = []
    for i, e in enumerate(elements):
        if i > 0:
            out += silence(int(gaps[i - 1] * unit * rate))
        out += tone(int(e * unit * rate), rate, freq, amp, fade, buzz)
    return out


# ---- files ---------------------------------------------------------------------------------

def write_wav(path, x, rate):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        peak = max(1e-9, max(abs(v) for v in x))
        g = 0.9 / peak if peak > 0.9 else 1.0
        w.writeframes(b"".join(struct.pack("<h", int(max(-1.0, min(1.0, v * g)) * 32767)) for v in x))


def read_wav(path):
    with wave.open(path, "rb") as w:
        n, ch, sw, rate = w.getnframes(), w.getnchannels(), w.getsampwidth(), w.getframerate()
        raw = w.readframes(n)
    assert sw == 2
    vals = struct.unpack("<%dh" % (len(raw) // 2), raw)
    return [sum(vals[i:i + ch]) / ch / 32768.0 for i in range(0, len(vals), ch)], rate


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


SPEECH_TEXTS = {
    "cmn": ["今天的天气很好，我们一起去公园散步吧。", "这是一段用于测试的普通话语音，内容与标识无关。",
            "请在会议开始之前准备好所有的材料。", "本内容由人工智能生成"],
    "en": ["The weather is fine today, let us take a walk in the park.",
           "This is an ordinary recording of speech used to test the detector."],
}


def espeak(voice, text, rate, tmp, speed=160, pitch=50):
    """espeak-ng speech resampled to `rate` by sox."""
    raw = os.path.join(tmp, "espeak.wav")
    out = os.path.join(tmp, "espeak-%d.wav" % rate)
    run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw, text])
    run(["sox", raw, "-r", str(rate), "-c", "1", "-b", "16", out])
    x, _ = read_wav(out)
    return x


def speech_bed(n, rate, rng, tmp):
    x = []
    while len(x) < n:
        voice = rng.choice(["cmn", "en"])
        x += espeak(voice, rng.choice(SPEECH_TEXTS[voice]), rate, tmp,
                    speed=rng.randint(140, 190), pitch=rng.randint(30, 70))
        x += silence(int(rng.uniform(0.1, 0.3) * rate))
    return x[:n]


def bed(kind, n, rate, rng, tmp):
    if kind == "silence":
        return silence(n)
    if kind == "noise":
        return white(n, rng)
    if kind == "pink":
        return pinkish(n, rng)
    if kind == "chord":
        return chord_with_beat(n, rate, rng, root=rng.choice([196.0, 220.0, 261.6]))
    if kind == "melody":
        return melody(n, rate, rng)
    if kind == "speech":
        return speech_bed(n, rate, rng, tmp)
    raise ValueError(kind)


def encode(wav, out, container):
    """Re-encode with ffmpeg; `wav` is returned unchanged for the WAV container."""
    codec = {
        "flac": ["-c:a", "flac"],
        "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
        "ogg": ["-c:a", "libvorbis", "-q:a", "3"],
        "m4a": ["-c:a", "aac", "-b:a", "96k"],
    }[container]
    run(["ffmpeg", "-v", "error", "-y", "-i", wav] + codec + [out])


# ---- the cases -----------------------------------------------------------------------------

RHYTHMS = {
    # name: (elements in units, expected conforming)
    "slss": ([1, 3, 1, 1], True),
    "lsss": ([3, 1, 1, 1], False),
    "ssss": ([1, 1, 1, 1], False),
    "sls": ([1, 3, 1], False),
    "s-weak-l-ss": ([1, 1.4, 1, 1], False),
}


def rhythm_case(name, rng, tmp, out_dir, *, bed_kind, bed_db, freq, unit, place, container,
                rate, rhythm="slss", long_units=3.0, letter_gap=3, fade=0.005, buzz=0.0):
    elements, expect = RHYTHMS[rhythm]
    elements = [long_units if e == 3 else e for e in elements]
    gaps = [1] * (len(elements) - 1)
    if len(gaps) >= 2:
        gaps[1] = letter_gap  # ·− | ··: the gap between the two Morse letters
    amp = rng.uniform(0.25, 0.5)
    label = pattern(rate, freq, unit, elements, gaps, amp, fade, buzz)
    total = len(label) + int(rng.uniform(2.0, 4.0) * rate)
    base = bed(bed_kind, total, rate, rng, tmp)
    tone_rms = amp / math.sqrt(2.0)
    if bed_kind != "silence":
        base = scale_to(base, tone_rms * 10 ** (bed_db / 20.0))
    lead = int(rng.uniform(0.0, 0.2) * rate)
    at = lead if place == "start" else total - len(label) - lead
    mix = list(base)
    for k, v in enumerate(label):
        mix[at + k] += v
    return finish(name, mix, rate, tmp, out_dir, container, "rhythm", expect, {
        "bed": bed_kind, "bed_db": bed_db if bed_kind != "silence" else None,
        "freq_hz": round(freq, 1), "unit_ms": round(unit * 1000), "rhythm": rhythm,
        "long_units": long_units, "letter_gap_units": letter_gap, "fade_ms": fade * 1000,
        "buzz": buzz, "place": place, "rate": rate, "container": container,
        "label_at_s": round(at / rate, 3)})


def finish(name, x, rate, tmp, out_dir, container, kind, expect, params, original=None):
    wav = os.path.join(out_dir if container == "wav" else tmp, name + ".wav")
    write_wav(wav, x, rate)
    path = wav
    if container != "wav":
        path = os.path.join(out_dir, name + "." + container)
        encode(wav, path, container)
    case = {"name": name, "file": os.path.basename(path), "kind": kind, "expect": expect,
            "params": params}
    if original is not None:
        case["original"] = original
    return case


def negative_case(name, rng, tmp, out_dir, *, what, rate, container, bed_kind="silence",
                  bed_db=-12.0, freq=1000.0):
    """Tones without a rhythm label, or beds alone."""
    amp = 0.4
    n = int(rng.uniform(4.0, 6.0) * rate)
    if what == "steady-tone":
        x = silence(int(0.5 * rate)) + tone(int(2.0 * rate), rate, freq, amp, 0.005)
    elif what == "metronome":
        x = []
        while len(x) < n:
            x += tone(int(0.1 * rate), rate, freq, amp, 0.003) + silence(int(0.4 * rate))
    elif what == "bed-only":
        x = scale_to(bed(bed_kind, n, rate, rng, tmp), 0.1)
        return finish(name, x, rate, tmp, out_dir, container, "rhythm", False,
                      {"what": what, "bed": bed_kind, "rate": rate, "container": container})
    elif what == "vibrato-melody":
        x = scale_to(melody(n, rate, rng, vibrato=True), 0.1)
    else:
        raise ValueError(what)
    if bed_kind != "silence":
        b = scale_to(bed(bed_kind, len(x), rate, rng, tmp), amp / math.sqrt(2) * 10 ** (bed_db / 20))
        x = [a + c for a, c in zip(x, b)]
    return finish(name, x, rate, tmp, out_dir, container, "rhythm", False,
                  {"what": what, "bed": bed_kind, "freq_hz": freq, "rate": rate,
                   "container": container})


def voice_case(name, rng, tmp, out_dir, *, insert, rate, place="end", speed=160, pitch=50,
               voice="cmn", base_kind="pink"):
    """An original (a bed) and a copy with something inserted at the start or end, separated by
    0.3 s of silence. `insert` = speech | noise | tone | chord | vibrato-melody | melody."""
    n = int(rng.uniform(2.5, 4.0) * rate)
    base = scale_to(bed(base_kind, n, rate, rng, tmp), 0.05)
    if insert == "speech":
        text = "本内容由人工智能生成" if voice == "cmn" else "This content was generated by AI."
        ins = espeak(voice, text, rate, tmp, speed=speed, pitch=pitch)
        expect = True
    else:
        m = int(rng.uniform(2.5, 4.5) * rate)
        ins = {
            "noise": lambda: white(m, rng, 0.3),
            "pink-noise": lambda: scale_to(pinkish(m, rng), 0.1),
            "tone": lambda: tone(m, rate, rng.uniform(300, 3000), 0.4, 0.005),
            "chord": lambda: scale_to(chord_with_beat(m, rate, rng), 0.1),
            "melody": lambda: scale_to(melody(m, rate, rng), 0.1),
            "vibrato-melody": lambda: scale_to(melody(m, rate, rng, vibrato=True), 0.1),
        }[insert]()
        expect = False
    gap = silence(int(0.3 * rate))
    x = ins + gap + base if place == "start" else base + gap + ins
    orig_name = name + ".orig.wav"
    write_wav(os.path.join(out_dir, orig_name), base, rate)
    return finish(name, x, rate, tmp, out_dir, "wav", "voice", expect,
                  {"insert": insert, "voice": voice if insert == "speech" else None,
                   "speed_wpm": speed if insert == "speech" else None, "pitch": pitch,
                   "place": place, "rate": rate, "base": base_kind}, original=orig_name)


def full_set(rng, tmp, out):
    cases = []
    rates = [16000, 22050, 44100, 48000]
    containers = ["wav", "wav", "flac", "mp3", "ogg", "m4a"]
    beds = [("silence", None), ("noise", -12.0), ("pink", -6.0), ("chord", -6.0), ("chord", -10.0),
            ("chord", -20.0), ("melody", -6.0), ("melody", -12.0), ("speech", -6.0), ("speech", -12.0),
            ("speech", -20.0), ("noise", -6.0)]
    i = 0
    # Conforming: every bed at both places, frequencies and units spread log-uniformly over the
    # ranges, with the two extremes of each met at least once.
    for b, db in beds:
        for place in ["start", "end"]:
            for extra in range(2):
                freq = math.exp(rng.uniform(math.log(300), math.log(3000)))
                unit = rng.uniform(0.05, 0.3)
                if i % 7 == 0:
                    freq = rng.choice([300.0, 3000.0])
                if i % 5 == 0:
                    unit = rng.choice([0.05, 0.3])
                cases.append(rhythm_case(
                    "slss-%02d-%s-%s" % (i, b, place), rng, tmp, out, bed_kind=b,
                    bed_db=db if db is not None else 0.0, freq=freq, unit=unit, place=place,
                    container=containers[i % len(containers)], rate=rates[i % len(rates)],
                    long_units=rng.choice([2.5, 3.0, 3.0, 3.5]), letter_gap=rng.choice([1, 3, 3]),
                    fade=rng.choice([0.0, 0.002, 0.005, 0.01]),
                    buzz=0.3 if i % 9 == 4 else 0.0))
                i += 1
    # Explicit MP3 64 kbit/s over the chord, extreme parameters.
    for freq, unit in [(300.0, 0.05), (3000.0, 0.05), (300.0, 0.3), (3000.0, 0.3), (440.0, 0.06),
                       (2000.0, 0.25)]:
        cases.append(rhythm_case("slss-%02d-mp3-chord" % i, rng, tmp, out, bed_kind="chord",
                                 bed_db=-6.0, freq=freq, unit=unit, place=rng.choice(["start", "end"]),
                                 container="mp3", rate=44100))
        i += 1
    # Wrong rhythms, over the same spread of beds.
    j = 0
    for rhythm in ["lsss", "ssss", "sls", "s-weak-l-ss"]:
        for b, db in [("silence", None), ("chord", -6.0), ("speech", -6.0), ("noise", -12.0),
                      ("melody", -10.0)]:
            cases.append(rhythm_case(
                "neg-%02d-%s-%s" % (j, rhythm, b), rng, tmp, out, bed_kind=b,
                bed_db=db if db is not None else 0.0,
                freq=math.exp(rng.uniform(math.log(300), math.log(3000))),
                unit=rng.uniform(0.05, 0.3), place=rng.choice(["start", "end"]),
                container=containers[j % len(containers)], rate=rates[j % len(rates)],
                rhythm=rhythm))
            j += 1
    for what, b in [("steady-tone", "silence"), ("steady-tone", "chord"), ("metronome", "silence"),
                    ("metronome", "speech"), ("vibrato-melody", "silence"), ("bed-only", "chord"),
                    ("bed-only", "melody"), ("bed-only", "speech"), ("bed-only", "noise"),
                    ("bed-only", "pink")]:
        cases.append(negative_case("neg-%02d-%s-%s" % (j, what, b), rng, tmp, out, what=what,
                                   rate=rates[j % len(rates)], container=containers[j % len(containers)],
                                   bed_kind=b, freq=math.exp(rng.uniform(math.log(300), math.log(3000)))))
        j += 1
    # Voice prompts against other inserted sounds.
    k = 0
    for voice, speed, pitch in [("cmn", 160, 50), ("cmn", 130, 30), ("cmn", 190, 75), ("en", 160, 50),
                                ("cmn", 150, 90), ("cmn", 170, 20)]:
        cases.append(voice_case("voice-%02d-speech-%s" % (k, voice), rng, tmp, out, insert="speech",
                                rate=rates[k % len(rates)], place=rng.choice(["start", "end"]),
                                speed=speed, pitch=pitch, voice=voice,
                                base_kind=rng.choice(["pink", "chord", "melody"])))
        k += 1
    for ins in ["noise", "pink-noise", "tone", "chord", "melody", "vibrato-melody"]:
        for _ in range(2):
            cases.append(voice_case("voice-%02d-%s" % (k, ins), rng, tmp, out, insert=ins,
                                    rate=rates[k % len(rates)], place=rng.choice(["start", "end"]),
                                    base_kind=rng.choice(["pink", "chord", "melody"])))
            k += 1
    return cases


def smoke_set(rng, tmp, out):
    """A handful of the hardest kinds, for the test suite (a few seconds)."""
    return [
        rhythm_case("slss-chord-mp3", rng, tmp, out, bed_kind="chord", bed_db=-6.0, freq=440.0,
                    unit=0.06, place="end", container="mp3", rate=44100),
        rhythm_case("slss-speech", rng, tmp, out, bed_kind="speech", bed_db=-6.0, freq=2000.0,
                    unit=0.25, place="start", container="wav", rate=16000),
        rhythm_case("slss-3000hz-noise", rng, tmp, out, bed_kind="noise", bed_db=-6.0,
                    freq=3000.0, unit=0.05, place="start", container="wav", rate=22050),
        rhythm_case("slss-300hz-chord", rng, tmp, out, bed_kind="chord", bed_db=-6.0, freq=300.0,
                    unit=0.3, place="end", container="wav", rate=16000),
        rhythm_case("neg-lsss-chord", rng, tmp, out, bed_kind="chord", bed_db=-6.0, freq=1000.0,
                    unit=0.12, place="start", container="wav", rate=16000, rhythm="lsss"),
        rhythm_case("neg-ssss-speech", rng, tmp, out, bed_kind="speech", bed_db=-6.0, freq=800.0,
                    unit=0.1, place="end", container="wav", rate=16000, rhythm="ssss"),
        negative_case("neg-bed-chord", rng, tmp, out, what="bed-only", rate=16000, container="wav",
                      bed_kind="chord"),
        negative_case("neg-metronome-speech", rng, tmp, out, what="metronome", rate=16000,
                      container="wav", bed_kind="speech"),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--subset", choices=["full", "smoke"], default="full")
    ap.add_argument("--seed", type=int, default=45438)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        cases = (full_set if a.subset == "full" else smoke_set)(rng, tmp, a.out)
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "calibration/rhythm/make.py", "seed": a.seed, "subset": a.subset,
                   "cases": cases}, f, ensure_ascii=False, indent=1)
    print("%d cases in %s" % (len(cases), a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
