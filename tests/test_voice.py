"""The voice side end to end, without the command line: RAVDESS from a zip of the synthetic fixture, a quick model
trained, saved, loaded and scored, the shipped voice model reading recordings (stereo, another rate, a video's sound
track, silence, too short), and the errors a user meets"""
import json, zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from emotion_fastai.data import CLASSES
from emotion_fastai.audio import AudioError, write_clip
from emotion_fastai.saved_model import ModelDirError
from emotion_fastai.voice import (SAMPLE_RATE, VoiceDataError, VoicePredictor, evaluate_voice, find_ravdess, load_voice_model,
                                  make_voice_fixture, synth_voice, train_voice, voice_baseline, voice_items)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT/'app'/'models'/'voice'
pytestmark = pytest.mark.usefixtures('scratch_cache')


@pytest.fixture(scope='module')
def fixture_zip(tmp_path_factory):
    "The synthetic fixture zipped as Zenodo's archive is: Actor_XX folders at the top"
    d = make_voice_fixture(tmp_path_factory.mktemp('ravdess')/'Audio_Speech_Actors_01-24', clips=1)
    z = d.parent/'Audio_Speech_Actors_01-24.zip'
    with zipfile.ZipFile(z, 'w') as f:
        for p in sorted(d.rglob('*.flac')): f.write(p, p.relative_to(d))
    return z


def test_train_save_load_evaluate(fixture_zip, tmp_path):
    torch.set_num_threads(1)
    rec = train_voice(fixture_zip, tmp_path/'voice', 'cnn', epochs=1, quick=True)
    assert rec['actors'] == {'train': [1, 2, 3, 4], 'valid': [19, 20], 'test': [22]}
    saved = json.loads((tmp_path/'voice'/'results.json').read_text())
    assert saved['valid_uar'] == rec['valid_uar'] and 0 <= rec['valid_uar'] <= 1
    model, meta = load_voice_model(tmp_path/'voice')
    assert meta['modality'] == 'voice' and meta['classes'] == CLASSES and meta['features']['n_mels'] == 64
    ev = evaluate_voice(tmp_path/'voice', fixture_zip, split='test', quick=True)
    assert ev['actors'] == [22] and ev['n'] == 8 and set(ev['per_class_recall']) == set(CLASSES)
    with pytest.raises(ValueError, match='split must be one of'): evaluate_voice(tmp_path/'voice', fixture_zip, split='all')


def test_baseline(fixture_zip):
    res = voice_baseline(fixture_zip, quick=True)
    assert res['n_features'] == 282 and set(res) >= {'valid', 'test'} and 0 <= res['valid']['uar'] <= 1


def test_bad_sources(tmp_path):
    with pytest.raises(VoiceDataError, match='does not exist'): find_ravdess(tmp_path/'nothing.zip')
    (tmp_path/'notes.txt').write_text('hi')
    with pytest.raises(VoiceDataError, match='neither a folder nor an archive'): find_ravdess(tmp_path/'notes.txt')
    (tmp_path/'Actor_03').mkdir()
    sf.write(tmp_path/'Actor_03'/'03-01-05-01-01-01-04.wav', synth_voice(), SAMPLE_RATE)
    with pytest.raises(VoiceDataError, match="actor 04's clip but lies in Actor_03"): voice_items(find_ravdess(tmp_path))
    with pytest.raises(ModelDirError, match='not a model directory'): load_voice_model(tmp_path)


@pytest.mark.skipif(not SHIPPED.exists(), reason='no shipped voice model')
def test_shipped_model_reads_recordings(tmp_path):
    pred = VoicePredictor(SHIPPED)
    y = np.concatenate([synth_voice('angry', 130, 2.0), np.zeros(5*SAMPLE_RATE, np.float32), synth_voice('sad', 130, 1.2)])
    stereo = np.stack([y, y*0.5], 1)
    sf.write(f := tmp_path/'talk.wav', stereo, SAMPLE_RATE)
    rows = pred.predict_file(f)
    assert [r['start'] for r in rows][:3] == [0, 2, 4] and rows[-1]['end'] == pytest.approx(len(y)/SAMPLE_RATE, abs=0.01)
    assert any(r['silent'] and r['label'] is None for r in rows)
    spoken = [r for r in rows if not r['silent']]
    assert spoken and all(r['label'] in CLASSES and abs(sum(r['probabilities'].values()) - 1) < 1e-4 for r in spoken)
    # another rate: the same sound at 44.1 kHz gives nearly the same answer
    import librosa
    p16 = pred.predict(y[:2*SAMPLE_RATE])
    p44 = pred.predict(librosa.resample(y[:2*SAMPLE_RATE], orig_sr=SAMPLE_RATE, target_sr=44100), sr=44100)
    assert np.abs(p16 - p44).max() < 0.1
    with pytest.raises(AudioError, match='at least 0.5 s'): pred.predict(np.zeros(SAMPLE_RATE//4))
    sf.write(short := tmp_path/'short.flac', y[:SAMPLE_RATE//5], SAMPLE_RATE)
    with pytest.raises(AudioError, match='at least 0.5'): pred.predict_file(short)


@pytest.mark.skipif(not SHIPPED.exists(), reason='no shipped voice model')
def test_shipped_model_reads_a_video(tmp_path):
    frames = [np.full((64, 64, 3), 90, np.uint8)] * 60
    y = synth_voice('happy', 200, 2.5)
    try: write_clip(f := tmp_path/'clip.mp4', frames, 20, y, SAMPLE_RATE)
    except Exception as e: pytest.skip(f'this FFmpeg cannot write a clip with sound: {e}')
    rows = VoicePredictor(SHIPPED).predict_file(f, window=1.0)
    assert len(rows) >= 3 and all(r['end'] > r['start'] for r in rows)
