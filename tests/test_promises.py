"""What a user can trust, input by input: boxes in the pixels of the file, a damaged optional file that costs speed
and never the answer, and one sentence on standard error for every input that cannot be used"""
import io, json, os, shutil, subprocess, tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from helpers import run_cli as _run
from emotion_fastai.inference import DEFAULT_MODEL, Predictor
from emotion_fastai.sources import make_fixture

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT/'app'/'models'/DEFAULT_MODEL
PHOTO = ROOT/'app'/'examples'/'astronaut.png'
pytestmark = pytest.mark.usefixtures('scratch_cache')




def _overlap(a, b):
    ix = max(0, min(a[0]+a[2], b[0]+b[2]) - max(a[0], b[0])); iy = max(0, min(a[1]+a[3], b[1]+b[3]) - max(a[1], b[1]))
    return ix*iy / (a[2]*a[3] + b[2]*b[3] - ix*iy)


def test_boxes_are_in_the_pixels_of_a_large_photo(tmp_path):
    "A 4000×3000 phone-sized JPEG: the box is where the face is in the file, not in the shrunk copy the detector saw"
    face = np.asarray(Image.open(PHOTO).convert('RGB'))
    x, y, w, h = Predictor(MODEL).predict(face)['faces'][0]['box']
    big = np.full((3000, 4000, 3), 60, np.uint8)
    big[500:2548, 1200:3248] = cv2.resize(face, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    Image.fromarray(big).save(tmp_path/'phone.jpg', quality=90)
    expected = (1200 + 4*x, 500 + 4*y, 4*w, 4*h)
    code, out, err = _run('predict', MODEL, tmp_path/'phone.jpg', '--json')
    assert code == 0, err
    assert _overlap(json.loads(out)[0]['faces'][0]['box'], expected) > 0.8
    code, out, err = _run('predict', MODEL, tmp_path/'phone.jpg', '--csv')
    row = out.splitlines()[1].split(',')
    assert code == 0 and _overlap([int(v) for v in row[4:8]], expected) > 0.8  # file,time_s,frame,face_id,x,y,w,h


@pytest.fixture
def damaged(tmp_path):
    "A copy of the default model whose int8 file is damaged, its float weights intact"
    d = Path(shutil.copytree(MODEL, tmp_path/'damaged'))
    (d/'model.int8.onnx').write_bytes(b'\0' * 100)
    return d


def test_damaged_int8_falls_back_to_the_float_weights(damaged, tmp_path):
    code, out, err = _run('predict', damaged, PHOTO, '--json')
    assert code == 0 and json.loads(out)[0]['faces'][0]['label'] == 'happy'
    said = [l for l in err.splitlines() if 'is damaged' in l]
    assert len(said) == 1 and 'Using the float weights instead' in said[0] and 'Traceback' not in err
    code, out, err = _run('evaluate', damaged, make_fixture(tmp_path/'fx', n_train=1, n_test=1), '--split', 'valid')
    assert code == 0 and 'run in PyTorch' in out and err.count('is damaged') == 1
    code, _, err = _run('predict', damaged, PHOTO, '--backend', 'int8')  # asked for by name: it cannot be given
    assert code == 2 and 'is damaged' in err and 'Traceback' not in err


def test_no_data_names_both_ways_to_give_it(monkeypatch, tmp_path):
    monkeypatch.delenv('EMOTION_FASTAI_DATA', raising=False)
    for argv in (('train', '--arch', 'cnn', '--out', tmp_path/'m'), ('quantize', MODEL)):
        code, out, err = _run(*argv)
        assert code == 2 and '--data PATH' in err and 'EMOTION_FASTAI_DATA' in err and out == '', argv


def test_bad_data_files_get_a_sentence_that_names_them(tmp_path):
    (tmp_path/'fer2013.csv').touch()
    code, _, err = _run('data', tmp_path/'fer2013.csv')
    assert code == 2 and 'fer2013.csv is empty' in err
    with tarfile.open(tmp_path/'evil.tgz', 'w:gz') as t:
        info = tarfile.TarInfo('../outside.txt'); info.size = 1; t.addfile(info, io.BytesIO(b'x'))
    code, _, err = _run('data', tmp_path/'evil.tgz')
    assert code == 2 and 'refused for safety' in err and 'download it again' not in err
    assert not (tmp_path/'outside.txt').exists()
    code, _, err = _run('quantize', MODEL, '--n', 0)
    assert code == 2 and 'at least 1' in err


def test_a_damaged_checkpoint_starts_the_run_over(tmp_path, cli_cmd):
    "A checkpoint that cannot be read is said once and the run starts over; and training leaves nothing in the working directory"
    from dataclasses import asdict
    from emotion_fastai.train import TrainConfig
    data, out, cwd = make_fixture(tmp_path/'fx', n_train=2, n_test=1), tmp_path/'m', tmp_path/'cwd'
    out.mkdir(); cwd.mkdir()
    (out/'checkpoint.json').write_text('{"config": {"arch": "cn')  # cut off mid-write
    train = cli_cmd('train', '--arch', 'cnn', '--epochs', 2, '--data', data, '--out', out)
    r = subprocess.run(train, capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.count('is damaged') == 1 and 'starts over' in r.stderr
    assert json.loads((out/'results.json').read_text())['epochs'] == 2 and not list(out.glob('checkpoint*'))
    assert list(cwd.iterdir()) == []  # fastai's `learn.save` would have left an empty models/ here

    (out/'checkpoint.json').write_text(json.dumps(dict(config=asdict(TrainConfig('cnn', epochs=2)), epochs_done=1,
                                                       seconds=1., history=[{}])))
    (out/'checkpoint.pth').write_bytes(b'PK\x03\x04' + b'\0' * 20)  # a truncated weights file
    r = subprocess.run([*train, '--resume'], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.count('checkpoint.pth is damaged') == 1 and 'cannot resume, so it starts over' in r.stderr
    assert len(json.loads((out/'results.json').read_text())['history']) == 2


def test_no_network_and_no_detector_file_falls_back_to_haar(monkeypatch, tmp_path):
    "Offline, without YuNet's file: the command still answers, with the Haar cascade, and says so once on stderr"
    import emotion_fastai.detect as detect
    monkeypatch.delenv(detect.YUNET_ENV, raising=False)
    monkeypatch.setenv('EMOTION_FASTAI_CACHE', str(tmp_path/'cache'))  # no copy in the cache either
    monkeypatch.setattr(detect, 'YUNET_URL', 'http://127.0.0.1:9/' + detect.YUNET_FILE)  # nothing listens there
    detect.default_detector.cache_clear()
    try: code, out, err = _run('predict', MODEL, PHOTO, '--json')
    finally: detect.default_detector.cache_clear()
    assert code == 0 and json.loads(out)[0]['faces'][0]['label'] == 'happy'
    said = [l for l in err.splitlines() if 'YuNet face detector unavailable' in l]
    assert len(said) == 1 and 'Haar cascade' in said[0] and 'Traceback' not in err
