"""Evaluation corpus rendered from MIDI with exact ground truth (beats, downbeats, tempo, key).

Each track is a seeded random arrangement: a drum pattern of one genre, a bass line, chords and a melody in
one key, on a beat grid that may swing, step to a new tempo or ramp. The note list becomes a ``PrettyMIDI``
object (written next to the audio) and is rendered either with the General MIDI soundfont inside the
``pretty_midi`` wheel through ``tinysoundfont``, or, where that is not installed, with a small numpy
synthesiser. The ground truth is computed from the same beat grid the notes were placed on.

Nothing is downloaded; the cache lives under ``var/corpus/<synth>/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 48000
TRACK_SECONDS = 30.0
ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / "var" / "corpus"
VERSION = 1

PITCH = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
KICK, SNARE, RIM, CLAP, HAT, OPEN_HAT, PEDAL_HAT, RIDE, SHAKER = 36, 38, 37, 39, 42, 46, 44, 51, 70

# 16th-note step patterns per bar: (drum, steps, velocity). 3/4 bars have 12 steps.
GENRES: dict[str, dict[str, Any]] = {
    "rock": {
        "tempo": (90, 150),
        "meter": 4,
        "drums": [(KICK, [0, 8, 10], 115), (SNARE, [4, 12], 110), (HAT, [0, 2, 4, 6, 8, 10, 12, 14], 80)],
    },
    "house": {
        "tempo": (118, 130),
        "meter": 4,
        "drums": [(KICK, [0, 4, 8, 12], 120), (CLAP, [4, 12], 95), (OPEN_HAT, [2, 6, 10, 14], 85)],
    },
    "hiphop": {
        "tempo": (80, 100),
        "meter": 4,
        "swing": (0.58, 0.66),
        "drums": [(KICK, [0, 7, 10], 118), (SNARE, [4, 12], 112), (HAT, list(range(16)), 70)],
    },
    "dnb": {
        "tempo": (160, 190),
        "meter": 4,
        "drums": [(KICK, [0, 10], 120), (SNARE, [4, 12], 115), (HAT, [0, 2, 4, 6, 8, 10, 12, 14], 75)],
    },
    "funk": {
        "tempo": (95, 115),
        "meter": 4,
        "drums": [
            (KICK, [0, 3, 6, 10], 115),
            (SNARE, [4, 12], 110),
            (SNARE, [7, 15], 45),
            (HAT, list(range(16)), 72),
        ],
    },
    "reggae": {
        "tempo": (70, 90),
        "meter": 4,
        "drums": [(KICK, [8], 115), (RIM, [8], 100), (HAT, [2, 6, 10, 14], 85)],
    },
    "ballad": {
        "tempo": (60, 76),
        "meter": 4,
        "drums": [(KICK, [0, 10], 105), (SNARE, [4, 12], 95), (HAT, list(range(16)), 55)],
    },
    "waltz": {
        "tempo": (90, 160),
        "meter": 3,
        "drums": [(KICK, [0], 110), (PEDAL_HAT, [4, 8], 85), (HAT, [0, 2, 4, 6, 8, 10], 60)],
    },
    "bossa": {
        "tempo": (120, 150),
        "meter": 4,
        "drums": [(KICK, [0, 6, 8, 14], 100), (RIM, [0, 6, 12], 90), (SHAKER, list(range(16)), 60)],
    },
    "swing": {
        "tempo": (120, 190),
        "meter": 4,
        "swing": (0.64, 0.68),
        "drums": [(RIDE, [0, 4, 6, 8, 12, 14], 90), (PEDAL_HAT, [4, 12], 80), (KICK, [0, 4, 8, 12], 55)],
    },
}
# (genre, track count); tempo changes are added to some tracks by seed
PLAN = [
    ("rock", 4),
    ("house", 3),
    ("hiphop", 3),
    ("dnb", 3),
    ("funk", 3),
    ("reggae", 2),
    ("ballad", 3),
    ("waltz", 2),
    ("bossa", 2),
    ("swing", 3),
]
PROGRESSIONS = {
    "major": [(0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4), (1, 4, 0, 5)],
    "minor": [(0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2)],
}
INSTRUMENTS = {"bass": (33, 34, 38), "chords": (0, 4, 48, 89, 24), "melody": (73, 80, 65, 11)}


@dataclass
class Truth:
    name: str
    genre: str
    seed: int
    bpm: float  # tempo of the longest constant-tempo section (the final one where the tempo changes)
    bpm_start: float
    bpm_end: float
    tempo_change: str  # "none", "step" or "ramp"
    swing: float
    meter: int
    key: str
    beats: list[float] = field(default_factory=list)
    downbeats: list[float] = field(default_factory=list)
    synth: str = ""


@dataclass
class Note:
    channel: int
    pitch: int
    start: float
    end: float
    velocity: int


def _beat_grid(rng: np.random.Generator, genre: str, seconds: float) -> tuple[list[float], Truth]:
    spec = GENRES[genre]
    lo, hi = spec["tempo"]
    start = float(rng.uniform(lo, hi))
    change = str(rng.choice(["none", "none", "step", "ramp"]))
    factor = float(rng.choice([0.88, 0.92, 1.08, 1.12]))
    end = float(np.clip(start * factor, 60.0, 190.0)) if change != "none" else start
    beats = [0.5]
    t_change = seconds / 3.0
    while beats[-1] < seconds + 2.0:
        t = beats[-1]
        if change == "step":
            bpm = start if t < t_change else end
        elif change == "ramp":
            frac = min(1.0, max(0.0, (t - t_change) / 6.0))
            bpm = start + (end - start) * frac
        else:
            bpm = start
        beats.append(t + 60.0 / bpm)
    truth = Truth(
        name="",
        genre=genre,
        seed=0,
        bpm=end,
        bpm_start=start,
        bpm_end=end,
        tempo_change=change,
        swing=0.5,
        meter=int(spec["meter"]),
        key="",
    )
    return beats, truth


def _time_of(beats: list[float], position: float) -> float:
    """Seconds at a fractional beat index on the (possibly non-uniform) grid."""
    i = min(int(position), len(beats) - 2)
    return beats[i] + (position - i) * (beats[i + 1] - beats[i])


def _arrange(seed: int, genre: str, name: str) -> tuple[list[Note], dict[int, int], Truth]:
    rng = np.random.default_rng(seed)
    spec = GENRES[genre]
    beats, truth = _beat_grid(rng, genre, TRACK_SECONDS)
    meter = truth.meter
    swing = float(rng.uniform(*spec["swing"])) if "swing" in spec else 0.5
    truth.swing = round(swing, 3)
    mode = "major" if rng.random() < 0.5 else "minor"
    tonic = int(rng.integers(12))
    truth.key = f"{PITCH[tonic]} {mode}"
    truth.name, truth.seed = name, seed
    scale = MAJOR if mode == "major" else MINOR
    programs = {
        0: int(rng.choice(INSTRUMENTS["bass"])),
        1: int(rng.choice(INSTRUMENTS["chords"])),
        2: int(rng.choice(INSTRUMENTS["melody"])),
    }
    notes: list[Note] = []
    n_beats = len(beats) - 2
    n_bars = n_beats // meter
    steps = 4 * meter

    def step_time(bar: int, step: int) -> float:
        pos = bar * meter + step / 4.0
        sub = step % 4
        if swing != 0.5 and genre == "swing" and sub == 2:  # swung 8ths
            pos += (swing - 0.5) * 1.0
        elif swing != 0.5 and sub % 2 == 1:  # swung 16ths
            pos += (swing - 0.5) * 0.5
        return _time_of(beats, pos)

    fills = rng.random(n_bars) < 0.15
    for bar in range(n_bars):
        for drum, pattern, vel in spec["drums"]:
            for step in pattern:
                if step >= steps:
                    continue
                t = step_time(bar, step)
                v = int(np.clip(vel + rng.normal(0, 6) + (8 if step == 0 else 0), 20, 127))
                notes.append(Note(9, drum, t, t + 0.08, v))
        if fills[bar] and genre not in ("reggae", "ballad"):
            for step in range(steps - 4, steps):
                t = step_time(bar, step)
                notes.append(Note(9, int(rng.choice([45, 47, 48, SNARE])), t, t + 0.08, int(rng.integers(70, 110))))
        # harmony: one chord per bar
        prog = PROGRESSIONS[mode][(seed + bar // 8) % len(PROGRESSIONS[mode])]
        degree = prog[bar % len(prog)]
        triad = [scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4)]
        if mode == "minor" and degree == 4:
            triad[1] += 1  # harmonic-minor dominant, as real minor-key music does
        root = tonic + scale[degree]
        bar_start = _time_of(beats, bar * meter)
        bar_end = _time_of(beats, (bar + 1) * meter)
        for b in range(meter):
            if genre in ("reggae",) and b % 2 == 0:
                continue
            t = _time_of(beats, bar * meter + b)
            notes.append(Note(0, 36 + (root % 12), t, t + 0.9 * (beats[1] - beats[0]), int(rng.integers(85, 105))))
        chord_base = 60 + tonic
        if genre in ("reggae", "bossa"):  # off-beat skank / comping
            for b in range(meter):
                t = _time_of(beats, bar * meter + b + 0.5)
                for iv in triad:
                    notes.append(Note(1, chord_base + iv, t, t + 0.15, 80))
        else:
            for iv in triad:
                notes.append(Note(1, chord_base + iv, bar_start, bar_end - 0.02, int(rng.integers(60, 80))))
        # melody: 8th notes from the scale, chord tones on strong beats, some rests
        for e in range(meter * 2):
            if rng.random() < 0.3:
                continue
            pos = bar * meter + e / 2.0
            iv = triad[int(rng.integers(3))] if e % 2 == 0 else scale[int(rng.integers(7))]
            t = _time_of(beats, pos)
            dur = 0.45 * (beats[1] - beats[0])
            notes.append(Note(2, 72 + tonic + iv - (12 if tonic > 6 else 0), t, t + dur, int(rng.integers(70, 95))))
    truth.beats = [round(b, 6) for b in beats[: n_bars * meter] if b < TRACK_SECONDS]
    truth.downbeats = [round(beats[i], 6) for i in range(0, n_bars * meter, meter) if beats[i] < TRACK_SECONDS]
    notes = [n for n in notes if n.start < TRACK_SECONDS - 0.05]
    return notes, programs, truth


def _to_midi(notes: list[Note], programs: dict[int, int]) -> Any:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    drums = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    tracks = {ch: pretty_midi.Instrument(program=prog, name=f"ch{ch}") for ch, prog in programs.items()}
    for n in notes:
        target = drums if n.channel == 9 else tracks[n.channel]
        target.notes.append(pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.start, end=n.end))
    pm.instruments.extend([drums, *tracks.values()])
    return pm


def soundfont_path() -> Path:
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def synth_kind() -> tuple[str, str]:
    """("sf2", "") when tinysoundfont can render, else ("numpy", reason)."""
    try:
        import tinysoundfont  # noqa: F401
    except ImportError as exc:
        return "numpy", f"tinysoundfont unavailable: {exc}"
    return "sf2", ""


def _render_sf2(notes: list[Note], programs: dict[int, int], seconds: float) -> np.ndarray:
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=SAMPLE_RATE)
    sfid = synth.sfload(str(soundfont_path()))
    synth.program_select(9, sfid, 128, 0, True)
    for ch, prog in programs.items():
        synth.program_select(ch, sfid, 0, prog)
    events: list[tuple[int, int, int, int, int]] = []  # (sample, order, channel, pitch, velocity)
    for n in notes:
        events.append((round(n.start * SAMPLE_RATE), 1, n.channel, n.pitch, n.velocity))
        events.append((round(n.end * SAMPLE_RATE), 0, n.channel, n.pitch, 0))
    events.sort()
    total = round(seconds * SAMPLE_RATE)
    out = np.zeros(total, np.float32)
    pos = 0
    for sample, on, ch, pitch, vel in events:
        sample = min(sample, total)
        if sample > pos:
            buf = np.frombuffer(synth.generate(sample - pos), dtype=np.float32)
            out[pos:sample] = buf[0::2] + buf[1::2]
            pos = sample
        if on:
            synth.noteon(ch, pitch, vel)
        else:
            synth.noteoff(ch, pitch)
    if pos < total:
        buf = np.frombuffer(synth.generate(total - pos), dtype=np.float32)
        out[pos:] = buf[0::2] + buf[1::2]
    return out


def _render_numpy(notes: list[Note], seconds: float, seed: int) -> np.ndarray:
    """Fallback synthesiser: simple drum models and additive tones with envelopes."""
    rng = np.random.default_rng(seed)
    total = round(seconds * SAMPLE_RATE)
    out = np.zeros(total + SAMPLE_RATE, np.float64)
    for n in notes:
        i = round(n.start * SAMPLE_RATE)
        amp = (n.velocity / 127.0) ** 2
        if n.channel == 9:
            if n.pitch == KICK:
                length = int(0.25 * SAMPLE_RATE)
                t = np.arange(length) / SAMPLE_RATE
                freq = 50 + 90 * np.exp(-t * 30)
                wave = np.sin(2 * np.pi * np.cumsum(freq) / SAMPLE_RATE) * np.exp(-t * 12)
            elif n.pitch in (SNARE, RIM, CLAP, 45, 47, 48):
                length = int(0.18 * SAMPLE_RATE)
                t = np.arange(length) / SAMPLE_RATE
                wave = 0.6 * rng.standard_normal(length) * np.exp(-t * 25) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(
                    -t * 30
                )
            else:
                length = int((0.25 if n.pitch == OPEN_HAT else 0.05) * SAMPLE_RATE)
                t = np.arange(length) / SAMPLE_RATE
                noise = np.diff(rng.standard_normal(length + 1))
                wave = 0.3 * noise * np.exp(-t * (10 if n.pitch == OPEN_HAT else 60))
        else:
            length = round((n.end - n.start + 0.1) * SAMPLE_RATE)
            t = np.arange(length) / SAMPLE_RATE
            f0 = 440.0 * 2 ** ((n.pitch - 69) / 12)
            wave = np.zeros(length)
            for h in range(1, 7):
                if f0 * h < SAMPLE_RATE / 2:
                    wave += np.sin(2 * np.pi * f0 * h * t) / h
            env = np.minimum(1.0, t / 0.01) * np.exp(-t * 2.0)
            release = np.clip((n.end - n.start + 0.1 - t) / 0.1, 0, 1)
            wave *= 0.25 * env * release
        out[i : i + wave.size] += amp * wave[: out.size - i]
    return out[:total].astype(np.float32)


def track_names() -> list[tuple[str, str, int]]:
    names = []
    seed = 1000
    for genre, count in PLAN:
        for k in range(count):
            seed += 1
            names.append((f"{genre}-{k + 1}", genre, seed))
    return names


def build(kind: str | None = None, verbose: bool = True) -> Path:
    """Render every track that is not cached yet; returns the corpus directory."""
    import soundfile

    chosen, reason = synth_kind()
    kind = kind or chosen
    if reason and verbose:
        print(f"{reason}; rendering with the numpy synthesiser")
    folder = CACHE / f"{kind}-v{VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, genre, seed in track_names():
        wav = folder / f"{name}.wav"
        meta = folder / f"{name}.json"
        if wav.exists() and meta.exists():
            continue
        notes, programs, truth = _arrange(seed, genre, name)
        truth.synth = kind
        audio = (
            _render_sf2(notes, programs, TRACK_SECONDS) if kind == "sf2" else _render_numpy(notes, TRACK_SECONDS, seed)
        )
        peak = float(np.max(np.abs(audio))) or 1.0
        audio = (audio * (0.7 / peak)).astype(np.float32)
        _to_midi(notes, programs).write(str(folder / f"{name}.mid"))
        tmp = folder / f".{name}.wav.tmp"
        soundfile.write(str(tmp), audio, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        os.replace(tmp, wav)
        meta.write_text(json.dumps(asdict(truth), indent=1))
        if verbose:
            print(f"  {name}: {truth.bpm_start:.1f}->{truth.bpm_end:.1f} BPM ({truth.tempo_change}), {truth.key}")
    return folder


@dataclass
class Track:
    name: str
    audio: np.ndarray
    truth: dict[str, Any]


def load(kind: str | None = None) -> list[Track]:
    import soundfile

    folder = build(kind, verbose=False)
    tracks = []
    for name, _, _ in track_names():
        audio, sr = soundfile.read(str(folder / f"{name}.wav"), dtype="float32")
        assert sr == SAMPLE_RATE
        tracks.append(Track(name, audio, json.loads((folder / f"{name}.json").read_text())))
    return tracks


def describe(tracks: list[Track]) -> str:
    tempos = [t.truth["bpm"] for t in tracks]
    changes = sum(t.truth["tempo_change"] != "none" for t in tracks)
    swung = sum(t.truth["swing"] != 0.5 for t in tracks)
    minor = sum(t.truth["key"].endswith("minor") for t in tracks)
    return (
        f"{len(tracks)} tracks x {TRACK_SECONDS:.0f} s at {SAMPLE_RATE} Hz ({tracks[0].truth['synth']} synth), "
        f"{len(GENRES)} genres, tempo {min(tempos):.0f}-{max(tempos):.0f} BPM, {changes} with tempo changes, "
        f"{swung} swung, {minor} minor keys"
    )
