"Tests of `emotion_fastai.inference` and the `emotion-fastai predict` command, on generated images and the astronaut"
import io, json, shutil, subprocess, sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emotion_fastai.inference import (DEFAULT_MODEL, ImageError, Predictor, load_image, detect_faces, predict_command, draw_faces,
                                      default_model_dir)

ROOT = Path(__file__).resolve().parents[1]
ASTRONAUT = ROOT/'app'/'examples'/'astronaut.png'
CLASSES = ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise']

@pytest.fixture(scope='module')
def pred(): return Predictor(ROOT/'app'/'models'/DEFAULT_MODEL)

@pytest.fixture(scope='module')
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp('images')
    shutil.copy(ASTRONAUT, d/'astronaut.png')
    Image.new('RGB', (64, 48), (200, 200, 200)).save(d/'blank.jpg')
    (d/'notes.txt').write_text('not an image')
    (d/'broken.png').write_bytes(ASTRONAUT.read_bytes()[:5000])
    return d

def _bytes(im, fmt='PNG', **kw):
    buf = io.BytesIO(); im.save(buf, fmt, **kw); return buf.getvalue()

def test_load_image_modes():
    rgba = Image.new('RGBA', (8, 8), (0, 0, 0, 0))
    assert (load_image(_bytes(rgba)) == 255).all()  # transparent -> white
    im16 = Image.fromarray(np.full((4, 4), 65535 // 2, np.uint16))
    assert load_image(_bytes(im16))[0, 0, 0] == 127  # scaled, not clipped to 255
    assert load_image(_bytes(Image.new('CMYK', (4, 4), (0, 255, 255, 0)), 'TIFF'))[0, 0].tolist() == [255, 0, 0]
    assert load_image(_bytes(Image.new('P', (4, 4)))).shape == (4, 4, 3)
    exif = Image.Exif(); exif[0x0112] = 6
    assert load_image(_bytes(Image.new('RGB', (30, 10)), 'JPEG', exif=exif)).shape == (30, 10, 3)
    assert load_image(np.zeros((5000, 100), np.uint8)).shape == (1600, 32, 3)

def test_load_image_refuses(tmp_path):
    with pytest.raises(ImageError, match='decompression bomb'):
        load_image(ASTRONAUT, max_pixels=10_000)
    (tmp_path/'x.jpg').write_text('hello')
    for bad in (tmp_path/'x.jpg', tmp_path/'missing.png', b'', b'\x00' * 100, ASTRONAUT.read_bytes()[:3000]):
        with pytest.raises(ImageError): load_image(bad)

def test_astronaut(pred):
    res = pred.predict(ASTRONAUT)
    assert len(res['faces']) == 1 and res['message'] == ''
    f = res['faces'][0]
    assert list(f['probabilities']) == CLASSES and f['label'] == 'happy'
    assert abs(sum(f['probabilities'].values()) - 1) < 1e-4
    assert draw_faces(load_image(ASTRONAUT), res).shape == (512, 512, 3)

def test_no_face_and_whole_image(pred):
    blank = np.full((50, 80, 3), 90, np.uint8)
    assert pred.predict(blank)['faces'] == [] and 'No face' in pred.predict(blank)['message']
    assert pred.predict(blank, whole_image=True)['faces'][0]['box'] == [15, 0, 50, 50]
    assert detect_faces(np.zeros((1, 1), np.uint8)) == []

def test_onnx_matches_torch(pred):
    pytest.importorskip('onnxruntime')
    crops = pred.faces(load_image(ASTRONAUT))[1]
    by_torch, by_onnx = (Predictor(pred.model_dir, backend=b) for b in ('torch', 'onnx'))
    np.testing.assert_allclose(by_onnx.classify(crops), by_torch.classify(crops), atol=1e-4)

def test_predict_files_survives_bad_files(pred, files):
    res = pred.predict_files([files, files/'missing.jpg'])
    by = {Path(r['file']).name: r for r in res}
    assert set(by) == {'astronaut.png', 'blank.jpg', 'broken.png', 'missing.jpg'}  # notes.txt: not an image suffix
    assert by['astronaut.png']['faces'][0]['label'] == 'happy' and by['astronaut.png']['error'] is None
    assert by['blank.jpg']['faces'] == [] and by['blank.jpg']['error'] is None
    assert by['broken.png']['error'] and by['missing.jpg']['error']

def test_predict_command(files, capsys):
    assert predict_command(default_model_dir(), [files/'astronaut.png'], json_out=True) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]['faces'][0]['label'] == 'happy' and 'error' not in out[0]
    assert predict_command(None, [files/'astronaut.png', files/'notes.txt']) == 1
    text = capsys.readouterr()
    assert 'astronaut.png: 1 face' in text.out and 'notes.txt' not in text.out  # results alone on stdout...
    assert 'notes.txt is not a readable image' in text.err  # ...what went wrong on stderr

def _cli(*args, timeout=120):
    exe = shutil.which('emotion-fastai')
    cmd = [exe] if exe else [sys.executable, '-c', 'from emotion_fastai.cli import main; main()']
    return subprocess.run(cmd + list(map(str, args)), capture_output=True, text=True, timeout=timeout)

def test_cli_predict(files):
    if 'predict' not in _cli('--help').stdout: pytest.skip('`emotion-fastai predict` is not wired yet')
    model = ROOT/'app'/'models'/DEFAULT_MODEL
    r = _cli('predict', model, files/'astronaut.png', files/'blank.jpg', '--json')
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [len(x['faces']) for x in out] == [1, 0] and out[0]['faces'][0]['label'] == 'happy'
    r = _cli('predict', model, files/'astronaut.png', files/'notes.txt')
    assert r.returncode != 0 and 'happy' in r.stdout and 'notes.txt' not in r.stdout
    assert 'notes.txt is not a readable image' in r.stderr and 'Traceback' not in r.stderr
    r = _cli('predict', model, files/'blank.jpg')
    assert r.returncode == 0 and 'no face found (try a frontal, well-lit face, or --whole-image' in r.stdout
