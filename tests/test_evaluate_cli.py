"Tests of `emotion_fastai.evaluate.evaluate_command` and the `emotion-fastai evaluate` command, on generated faces"
import json, shutil, subprocess, sys
from pathlib import Path

import pytest

from emotion_fastai.data import CLASSES, FERDataError, load_fer, to_fer_csv
from emotion_fastai.sources import make_fixture
from emotion_fastai.saved_model import ModelDirError, save_model
from emotion_fastai.models import fer_cnn
from emotion_fastai.evaluate import evaluate_command
from emotion_fastai.inference import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT/'app'/'models'/DEFAULT_MODEL
KEYS = {'accuracy', 'balanced_accuracy', 'macro_f1', 'per_class', 'confusion', 'classes', 'n_images', 'split',
        'images_per_second', 'model', 'source', 'tta'}


@pytest.fixture(autouse=True)
def scratch_cache(tmp_path, monkeypatch):
    "Keep the decoded fixtures out of the real cache"
    monkeypatch.setenv('EMOTION_FASTAI_CACHE', str(tmp_path/'cache'))


@pytest.fixture
def kaggle(tmp_path):
    "A tiny synthetic FER2013 in Kaggle's layout: 1 train, 2 PublicTest and 2 PrivateTest images per class"
    return make_fixture(tmp_path/'kaggle', n_train=1, n_test=2)


def _cli(*args):
    "Run `emotion-fastai ARGS` (the installed command, else the same entry point through this Python)"
    exe = [shutil.which('emotion-fastai')] if shutil.which('emotion-fastai') else [
        sys.executable, '-c', 'from emotion_fastai.cli import main; main()']
    return subprocess.run([*exe, *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def test_folder_and_csv_agree(kaggle, tmp_path):
    csv = to_fer_csv(load_fer(kaggle, quick=False), tmp_path/'fer2013.csv')
    a = evaluate_command(MODEL, kaggle, json_out=tmp_path/'a.json')
    b = evaluate_command(MODEL, csv)
    assert set(a) == KEYS | {'backend', 'file', 'float'}  # the default model's int8 copy serves: the headline
    assert a['backend'] == 'int8' and set(a['float']) == {'accuracy', 'balanced_accuracy', 'macro_f1', 'agreement', 'images_per_second'}
    assert (a['split'], a['n_images']) == ('test', 14)
    for k in ('accuracy', 'balanced_accuracy', 'macro_f1', 'per_class', 'confusion', 'n_images', 'split'):
        assert a[k] == b[k], k
    saved = json.loads((tmp_path/'a.json').read_text())
    assert saved['confusion'] == a['confusion'] and saved['accuracy'] == a['accuracy']


def test_private_test_only_folder(kaggle, tmp_path):
    priv = tmp_path/'private'
    for f in (kaggle/'test').glob('*/PrivateTest_*'):
        (priv/f.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, priv/f.parent.name/f.name)
    m = evaluate_command(MODEL, priv)
    assert (m['split'], m['n_images'], sum(map(sum, m['confusion']))) == ('test', 14, 14)


def test_split_picks_a_split(kaggle, capsys):
    assert evaluate_command(MODEL, kaggle, split='valid')['split'] == 'valid'
    m = evaluate_command(MODEL, kaggle, split='PrivateTest', tta=True)
    assert (m['split'], m['tta']) == ('test', ['plain', 'flip'])
    assert "split 'test', 14 images, TTA plain+flip" in capsys.readouterr().out
    with pytest.raises(FERDataError, match=r"has no 'holdout' split: it has \['train', 'valid', 'test'\]"):
        evaluate_command(MODEL, kaggle, split='holdout')


def test_not_a_model(kaggle, tmp_path):
    with pytest.raises(ModelDirError, match='is not a model directory'):
        evaluate_command(tmp_path, kaggle)


def test_unknown_class(kaggle, tmp_path):
    shutil.copytree(kaggle/'test'/'happy', kaggle/'test'/'contempt')
    with pytest.raises(FERDataError, match=r"Unknown class folder\(s\) \['contempt'\]"):
        evaluate_command(MODEL, kaggle)
    # a class the data layer knows but the model does not
    six = [c for c in CLASSES if c != 'disgust']
    save_model(fer_cnn(n_out=6), tmp_path/'six', 'cnn', 48, 1, [0.5], [0.25], classes=six)
    shutil.rmtree(kaggle/'test'/'contempt')
    with pytest.raises(FERDataError, match=r"\['disgust'\], which the model does not know"):
        evaluate_command(tmp_path/'six', kaggle)


def _has_evaluate() -> bool:
    return 'evaluate' in _cli('--help').stdout


def test_cli(kaggle, tmp_path):
    if not _has_evaluate(): pytest.skip('`emotion-fastai evaluate` is not wired into the CLI yet')
    out = tmp_path/'m.json'
    r = _cli('evaluate', MODEL, kaggle, '--json', out, '--split', 'valid')
    assert r.returncode == 0, r.stderr
    m = json.loads(out.read_text())
    assert set(m) >= KEYS and (m['split'], m['n_images']) == ('valid', 14)
    assert 'macro F1' in r.stdout


def test_cli_errors(kaggle, tmp_path, capsys):
    if not _has_evaluate(): pytest.skip('`emotion-fastai evaluate` is not wired into the CLI yet')
    from emotion_fastai.cli import main
    for args, msg in (([tmp_path, kaggle], 'is not a model directory'), ([MODEL, kaggle, '--split', 'holdout'], "no 'holdout' split")):
        with pytest.raises(SystemExit) as e: main(['evaluate', *map(str, args)])
        assert e.value.code != 0
        assert msg in capsys.readouterr().err


def test_cli_ensemble(kaggle, tmp_path):
    "Two model directories score their ensemble; `--tta all` uses the four views"
    out = tmp_path/'e.json'
    r = _cli('evaluate', MODEL, MODEL.parent/'cnn', kaggle, '--split', 'valid', '--tta', 'all', '--json', out)
    assert r.returncode == 0, r.stderr
    m = json.loads(out.read_text())
    shown = [f'app/models/{DEFAULT_MODEL}', 'app/models/cnn']  # records show paths inside the working directory relative to it
    assert m['model'] == shown and m['tta'] == ['plain', 'flip', 'zoom', 'zoom_flip']
    assert ' + '.join(shown) in r.stdout
    assert m['command'].startswith(f'emotion-fastai evaluate app/models/{DEFAULT_MODEL} app/models/cnn '), m['command']
    r = _cli('evaluate', MODEL, kaggle, '--tta', 'most')
    assert r.returncode == 2 and "invalid choice: 'most'" in r.stderr
