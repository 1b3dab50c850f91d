"""What a newcomer meets on the command line: time budgets that hold, results alone on stdout, and one clear
sentence (exit code 2) for every bad model directory or checkpoint"""
import json, os, subprocess, tarfile, time
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from emotion_fastai.sources import make_fixture
from emotion_fastai.models import fer_cnn
from emotion_fastai.saved_model import save_model
from emotion_fastai.train import TrainConfig
from helpers import run_cli as _run

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT/'app'/'examples'/'astronaut.png'
pytestmark = pytest.mark.usefixtures('scratch_cache')




def test_data_json_parses_on_a_cold_cache(tmp_path, cli_cmd):
    folder = make_fixture(tmp_path/'fer2013', n_train=3, n_test=2)
    archive = tmp_path/'fer2013.tgz'
    with tarfile.open(archive, 'w:gz') as t: t.add(folder, arcname='fer2013')
    r = subprocess.run(cli_cmd('data', archive, '--json'), capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, 'EMOTION_FASTAI_CACHE': str(tmp_path/'cold')})
    assert r.returncode == 0, r.stderr[-2000:]
    counts = json.loads(r.stdout)  # the whole of stdout is the JSON: extraction and decoding report on stderr
    assert counts['train']['total'] == 21 and counts['valid']['total'] == counts['test']['total'] == 14
    assert 'Warning' not in r.stderr and 'warnings.warn' not in r.stderr


@pytest.fixture
def model_dir(tmp_path):
    torch.manual_seed(0)
    return save_model(fer_cnn().eval(), tmp_path/'model', 'cnn', 48, 1, [0.5], [0.25])


def _edit_meta(d, **kw):
    meta = json.loads((d/'model.json').read_text()) | kw
    (d/'model.json').write_text(json.dumps(meta))


BAD_MODELS = {  # how to damage a model directory, and what the message must say
    'missing weights': (lambda d: (d/'model.safetensors').unlink(), 'is not a model directory'),
    'random bytes': (lambda d: (d/'model.safetensors').write_bytes(os.urandom(4096)), 'corrupt or truncated'),
    'truncated': (lambda d: (d/'model.safetensors').write_bytes((d/'model.safetensors').read_bytes()[:100_000]),
                  'corrupt or truncated'),
    'arch mismatch': (lambda d: _edit_meta(d, arch='resnet34', channels=3),
                      'says resnet34 with 3 input channel(s), but model.safetensors holds the weights of cnn with 1 input channel(s)'),
    'unknown arch': (lambda d: _edit_meta(d, arch='alexnet'), "Unknown arch 'alexnet'"),
    'broken json': (lambda d: (d/'model.json').write_text('{"format": "emotion-fastai-model/1", '), 'is not valid JSON'),
}


@pytest.mark.parametrize('case', BAD_MODELS)
def test_bad_model_directory_is_one_clear_sentence(case, model_dir, tmp_path):
    damage, says = BAD_MODELS[case]
    damage(model_dir)
    data = make_fixture(tmp_path/'fx', n_train=1, n_test=1)
    for argv in (['predict', model_dir, PHOTO], ['evaluate', model_dir, data]):
        code, out, err = _run(*argv)
        assert code == 2, (case, argv[0], err)
        assert says in err, (case, argv[0], err)
        assert 'Traceback' not in err and out == ''
        assert len(err.strip().splitlines()) == 1, err


class Payload:
    "An object a pickle would rebuild, and so run code for: no weights file holds one"


def test_resume_refuses_a_checkpoint_that_is_not_plain_weights(tmp_path):
    data, out = make_fixture(tmp_path/'fx', n_train=2, n_test=1), tmp_path/'run'
    out.mkdir()
    cfg = TrainConfig('cnn', epochs=2)  # what `train --arch cnn --epochs 2` builds
    (out/'checkpoint.json').write_text(json.dumps(dict(config=asdict(cfg), epochs_done=1, seconds=1., history=[{}])))
    torch.save({'model': Payload(), 'opt': {}}, out/'checkpoint.pth')
    code, _, err = _run('train', '--arch', 'cnn', '--epochs', 2, '--data', data, '--out', out, '--resume')
    assert code == 2, err
    assert 'refused for safety' in err and 'checkpoint.pth' in err
    assert 'weights_only' not in err and 'Traceback' not in err


def test_time_budget_holds(tmp_path, cli_cmd):
    "A run planned for far more epochs than fit ends within its budget plus one epoch, saved and recorded"
    data, out, budget = make_fixture(tmp_path/'fx', n_train=12, n_test=4), tmp_path/'model', 25
    t0 = time.time()
    r = subprocess.run(cli_cmd('train', '--arch', 'cnn', '--data', data, '--epochs', 500, '--bs', 16,
                            '--time-budget', budget, '--out', out), capture_output=True, text=True, cwd=ROOT)
    wall = time.time() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out/'results.json').read_text())
    epoch = res['seconds'] / res['epochs']
    assert res['epochs'] < 500 and res['config']['planned_epochs'] == 500
    assert wall <= budget + epoch + 5, (wall, epoch)  # 5 s for the interpreter's start and exit
    assert res['wall_seconds'] <= budget + epoch
    assert not list(out.glob('checkpoint*')) and (out/'model.safetensors').stat().st_mode & 0o777 == 0o644
    assert 'speed of training' in r.stderr and 'about' in r.stderr  # what it is doing, on stderr
    assert len(r.stdout.strip().splitlines()) == 1 and 'valid accuracy' in r.stdout  # the result alone on stdout
