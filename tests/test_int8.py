"The int8 path end to end: `emotion-fastai quantize`, the predictor's backends, a stale int8 file, and int8 against float on FER2013"
import json, os, shutil, subprocess, sys
from pathlib import Path

import numpy as np
import pytest

from emotion_fastai.data import DATA_ENV
from emotion_fastai.sources import make_fixture
from emotion_fastai.inference import DEFAULT_MODEL, Predictor, load_image
from emotion_fastai.saved_model import INT8_FILE, ModelDirError, load_model, save_model
from emotion_fastai.quantize import int8_file

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT/'app'/'models'/DEFAULT_MODEL
ASTRONAUT = ROOT/'app'/'examples'/'astronaut.png'

def cli(*args, **kw):
    return subprocess.run([sys.executable, '-m', 'emotion_fastai.cli', *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'}, **kw)

@pytest.fixture(scope='module')
def quantized(tmp_path_factory):
    "A copy of the default model without its int8 file, quantised by the command on a generated data set"
    d = tmp_path_factory.mktemp('int8')
    model = Path(shutil.copytree(DEFAULT, d/'model', ignore=shutil.ignore_patterns(INT8_FILE)))
    fixture = make_fixture(d/'fixture', n_train=4, n_test=2)
    r = cli('quantize', model, '--data', fixture)
    assert r.returncode == 0, r.stderr
    return model, r

def test_quantize_command(quantized):
    model, r = quantized
    assert 'wrote' in r.stdout and 'validation (14 faces)' in r.stdout
    q = json.loads((model/'model.json').read_text())['int8']
    assert q['file'] == INT8_FILE and q['calibration_faces'] == 28 and 0 <= q['valid_agreement'] <= 1
    assert int8_file(model) == model/INT8_FILE

def test_backends(quantized):
    model, _ = quantized
    assert Predictor(model).backend == 'int8' and Predictor(model, backend='torch').backend == 'torch'
    crops = Predictor(model).faces(load_image(ASTRONAUT))[1]
    p8, p32 = Predictor(model).classify(crops), Predictor(model, backend='torch').classify(crops)
    # calibrated on 28 generated faces, not real ones: a real face's probabilities move by about 5 points
    # (0.049 with every layer in int8, 0.051 with the first convolution in float)
    assert p8.argmax(1).tolist() == p32.argmax(1).tolist() and np.abs(p8 - p32).max() < 0.07
    with pytest.raises(ValueError, match='backend must be one of'): Predictor(model, backend='tflite')

def test_stale_int8_is_ignored(quantized, tmp_path):
    model, _ = quantized
    m, meta = load_model(model)
    stale = Path(shutil.copytree(model, tmp_path/'stale'))
    save_model(m, tmp_path/'other', meta['arch'], 48, 1, meta['mean'], meta['std'])  # the same network saved as float32:
    shutil.copy(tmp_path/'other'/'model.safetensors', stale/'model.safetensors')  # other bytes than the int8 file was made from
    assert int8_file(stale) is None and Predictor(stale).backend == 'torch'
    with pytest.raises(ModelDirError, match='no up-to-date int8 model'): Predictor(stale, backend='int8')
    r = cli('predict', stale, ASTRONAUT, '--backend', 'int8')
    assert r.returncode == 2 and 'emotion-fastai quantize' in r.stderr and 'Traceback' not in r.stderr

def test_predict_and_evaluate_commands_use_int8(quantized, tmp_path):
    model, _ = quantized
    r = cli('predict', model, ASTRONAUT, '--json')
    assert r.returncode == 0 and json.loads(r.stdout)[0]['faces'][0]['label'] == 'happy'
    fixture = make_fixture(tmp_path/'fx', n_train=1, n_test=2)
    r = cli('evaluate', model, fixture, '--split', 'PublicTest')
    assert r.returncode == 0 and 'run as int8 (model.int8.onnx)' in r.stdout and 'float network (PyTorch): accuracy' in r.stdout
    alone = cli('evaluate', model, fixture, '--split', 'PublicTest', '--no-int8').stdout
    assert 'run in PyTorch' in alone and 'float network' not in alone

SHIPPED_INT8 = [d for d in sorted((ROOT/'app'/'models').iterdir()) if (d/INT8_FILE).exists()]

@pytest.mark.skipif(not os.environ.get(DATA_ENV), reason=f'needs FER2013 ({DATA_ENV})')
@pytest.mark.parametrize('model', SHIPPED_INT8, ids=lambda d: d.name)
def test_int8_agrees_with_float_on_publictest(model):
    "Each shipped int8 model gives its float model's label for at least 98% of PublicTest, and loses at most 0.3 points"
    from emotion_fastai.evaluate import evaluate_model
    assert int8_file(model), f'{model.name}: its int8 file was not made from its weights: run emotion-fastai quantize'
    m = evaluate_model(model, os.environ[DATA_ENV], split='valid', progress=False)
    assert m['n_images'] == 3589
    assert m['backend'] == 'int8' and m['float']['agreement'] >= 0.98 and m['float']['accuracy'] - m['accuracy'] <= 0.003

@pytest.mark.parametrize('model', SHIPPED_INT8, ids=lambda d: d.name)
def test_shipped_int8_weights_have_seven_bits(model):
    "Each shipped int8 file keeps its weights within 7 bits, so CPUs without VNNI (AVX2 alone) cannot saturate on it"
    from emotion_fastai.quantize import int8_weight_range
    lo, hi = int8_weight_range(model/INT8_FILE)
    assert -64 <= lo and hi <= 64, f'{model.name}: weights from {lo} to {hi}: quantise again with emotion-fastai quantize'
