"""The voice at the command line, as a user meets it: a clip with a face and a voice track gives face, voice and fused
rows; a sound file gives voice rows; `train --modality voice` and `evaluate` on a voice model. The clips are generated:
scikit-image's public-domain astronaut and a synthesized voice, never RAVDESS."""
import csv, io, json, os
from pathlib import Path

import numpy as np
import pytest
from skimage.data import astronaut

from emotion_fastai.audio import write_audio, write_clip
from emotion_fastai.inference import DEFAULT_MODEL
from emotion_fastai.voice import RAVDESS_ENV, synth_voice
from helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
FACE, VOICE = ROOT/'app'/'models'/DEFAULT_MODEL, ROOT/'app'/'models'/'voice'
SR = 16000


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    "A 5.5 s clip of the astronaut speaking (happy, a second of silence, angry), the same sound alone, and a silent clip"
    d = tmp_path_factory.mktemp('media')
    face = np.ascontiguousarray(astronaut()[:448, 32:480])
    voice = np.concatenate([synth_voice('happy', seconds=2.), np.zeros(SR, np.float32), synth_voice('angry', seconds=1.5)])
    write_clip(d/'talk.mp4', [face] * round(25 * len(voice) / SR), 25, audio=voice, sr=SR)
    write_clip(d/'mute.mp4', [face] * 25, 25)
    write_audio(d/'talk.wav', voice, SR)
    return d


def rows(stdout): return list(csv.DictReader(io.StringIO(stdout)))


def test_a_clip_with_a_face_and_a_voice_gives_both_and_their_fusion(media):
    code, out, err = run_cli('predict', FACE, media/'talk.mp4', '--csv', '--fps', 5)  # the demo's voice model, found beside the faces'
    assert code == 0, err
    table = rows(out)
    kinds = {m: [t for t in table if t['modality'] == m] for m in ('face', 'voice', 'fused')}
    assert len(kinds['face']) >= 25 and {t['label'] for t in kinds['face']} == {'happy'}
    spans = [(float(t['time_s']), float(t['end_s'])) for t in kinds['voice']]
    assert len(spans) == 3 and spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # 2 s windows, tiled
    assert len(kinds['fused']) == 3 and {t['sources'] for t in kinds['fused']} == {'face+voice'}
    for t in table[:1] + kinds['voice'] + kinds['fused']:
        assert abs(sum(float(t[c]) for c in ('angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise')) - 1) < 1e-3


def test_a_clip_without_sound_still_answers_with_faces(media):
    code, out, err = run_cli('predict', FACE, media/'mute.mp4', '--csv', '--fps', 5)
    assert code == 0, err
    table = rows(out)  # the face table as ever: no voice rows, no columns for them
    assert len(table) >= 5 and 'modality' not in table[0] and {t['label'] for t in table} == {'happy'}


def test_a_sound_file_gives_voice_rows_and_an_image_is_refused_by_a_voice_model(media):
    code, out, err = run_cli('predict', VOICE, media/'talk.wav', '--json')
    assert code == 0, err
    heard = [json.loads(l) for l in out.splitlines()]
    assert [h['modality'] for h in heard] == ['voice'] * 3 and all(h['label'] in VOICE_LABELS for h in heard)
    code, out, err = run_cli('predict', VOICE, ROOT/'app'/'examples'/sorted(os.listdir(ROOT/'app'/'examples'))[0], '--csv')
    assert code == 1 and 'no sound to hear' in err and out.count('\n') == 1, (err, out)  # the header alone


VOICE_LABELS = {'angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise', 'silence'}


def test_short_and_non_audio_files_get_one_sentence(media, tmp_path):
    write_audio(tmp_path/'blip.wav', synth_voice('happy')[:int(0.3 * SR)], SR)
    (tmp_path/'notes.wav').write_text('not a sound')
    for name, says in (('blip.wav', '0.5 s'), ('notes.wav', 'not an audio file')):
        code, out, err = run_cli('predict', VOICE, tmp_path/name, '--csv')
        assert code == 1 and says in err and 'Traceback' not in err, err


@pytest.mark.skipif(not os.environ.get(RAVDESS_ENV), reason=f'{RAVDESS_ENV} is not set')
def test_train_and_evaluate_a_voice_model(tmp_path):
    out = tmp_path/'voice'
    code, out_, err = run_cli('train', '--modality', 'voice', '--arch', 'cnn', '--quick', '--epochs', 1, '--out', out)
    assert code == 0 and '(voice): valid accuracy' in out_, err
    assert json.loads((out/'model.json').read_text())['modality'] == 'voice'
    code, out_, err = run_cli('evaluate', out, os.environ[RAVDESS_ENV], '--split', 'valid', '--json', tmp_path/'m.json')
    assert code == 0 and 'UAR' in out_, err
    m = json.loads((tmp_path/'m.json').read_text())
    assert m['actors'] == [19, 20, 21] and m['n'] == 180 and 'command' in m
    code, _, err = run_cli('train', '--modality', 'voice', '--arch', 'cnn', '--init', out, '--out', tmp_path/'x')
    assert code == 2 and '--init: face training only' in err, err
