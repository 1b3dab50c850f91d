"Sound files as users have them: an hour read in bounded memory (in another process, to see FFmpeg's memory too), and RAVDESS when it is there"
import os, subprocess, sys, time
from pathlib import Path

import av
import numpy as np
import pytest

from emotion_fastai.audio import AudioError, SAMPLE_RATE, audio_duration, audio_windows, is_silent, read_audio

HOUR = 3600


def write_hour(path, sr=8000):
    "An hour of a quiet 200 Hz tone as 8 kHz mono FLAC (about 12 MB), written ten seconds at a time: never whole in memory"
    ten = (0.3 * np.sin(2 * np.pi * 200 * np.arange(10 * sr) / sr)).astype(np.float32)[None]
    with av.open(str(path), 'w') as c:
        s = c.add_stream('flac', rate=sr, layout='mono')
        for i in range(HOUR // 10):
            f = av.AudioFrame.from_ndarray(ten, format='fltp', layout='mono')
            f.sample_rate, f.pts = sr, i * 10 * sr
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return path


@pytest.fixture(scope='module')
def hour(tmp_path_factory): return write_hour(tmp_path_factory.mktemp('audio')/'hour.flac')


READ_WINDOWS = '''
import sys
from emotion_fastai.audio import audio_windows
def rss_mb(): return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
base = peak = rss_mb()
for n, (start, end, x) in enumerate(audio_windows(sys.argv[1]), 1): peak = max(peak, rss_mb())
print(n, end, len(x), round(peak - base, 1))
'''


@pytest.mark.skipif(not Path('/proc/self/statm').exists(), reason='reads resident memory from /proc (Linux)')
def test_an_hour_is_read_in_windows_in_bounded_memory(hour):
    "1,800 windows of 2 s, to the end; resident memory grows by far less than the 230 MB the hour takes as 16 kHz floats"
    r = subprocess.run([sys.executable, '-c', READ_WINDOWS, str(hour)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and not r.stderr, r.stderr
    n, end, last, grew = r.stdout.split()
    assert (int(n), float(end), int(last)) == (HOUR // 2, HOUR, 2 * SAMPLE_RATE)
    assert float(grew) < 40, f'resident memory grew by {grew} MB while reading an hour in windows'


def test_read_audio_refuses_an_hour_before_decoding_it(hour):
    "`max_seconds` is checked against the header first: the refusal is immediate, and points to `audio_windows`"
    assert audio_duration(hour) == HOUR
    t = time.perf_counter()
    with pytest.raises(AudioError, match=r'^hour\.flac is 3600 s long, more than max_seconds=60: read it in windows with audio_windows\.$'):
        read_audio(hour, max_seconds=60)
    assert time.perf_counter() - t < 1


def ravdess_files(n=4):
    "A few clips of `$EMOTION_FASTAI_RAVDESS` (a folder or an archive, extracted once into the cache), read at test time only"
    if not os.environ.get('EMOTION_FASTAI_RAVDESS'): return []
    from emotion_fastai.voice import find_ravdess
    root = Path(find_ravdess())
    return sorted([*root.rglob('*.wav'), *root.rglob('*.flac')])[:n]


@pytest.mark.skipif(not ravdess_files(), reason='set EMOTION_FASTAI_RAVDESS to RAVDESS (a folder or an archive) to read real speech')
@pytest.mark.parametrize('path', ravdess_files(), ids=lambda p: p.name)
def test_real_speech(path):
    "RAVDESS's clips (the original 48 kHz WAVs or the 16 kHz FLAC copy): read at 16 kHz, as long as their header says, speech not silence, in windows that tile them"
    a = read_audio(path)
    assert a.dtype == np.float32 and abs(len(a) / SAMPLE_RATE - audio_duration(path)) < 0.01
    assert not is_silent(a)
    windows = list(audio_windows(path, min_seconds=0))
    assert np.array_equal(np.concatenate([x for *_, x in windows]), a)
