"The GPU recipe (`python -m emotion_fastai.recipe`) end to end on the CPU in quick mode: one schedule over two commands, then the model directory it wrote, loaded and scored again by the library"
import json, os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def few_faces(data_source, tmp_path_factory):
    "4 faces per class and split of the test data as a FER2013 CSV, and its packed copy (what travels to the GPU machine)"
    from emotion_fastai.data import load_fer, sample, to_fer_csv
    from emotion_fastai.recipe import pack_data
    d = tmp_path_factory.mktemp('few')
    csv = to_fer_csv(sample(load_fer(data_source, quick=False), n_per_class=4), d/'fer2013.csv')
    return csv, pack_data(csv, d/'few.npz')


def recipe(*args):
    "Run the recipe's command line on one CPU thread: (exit code, stdout, stderr)"
    cmd = [sys.executable, '-m', 'emotion_fastai.recipe', *map(str, args), '--device', 'cpu', '--threads', '1']
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    return r.returncode, r.stdout, r.stderr


def test_one_schedule_over_two_commands(few_faces, tmp_path):
    csv, packed = few_faces
    out = tmp_path/'vgg_fer'
    code, stdout, err = recipe('--data', csv, '--out', out, '--quick', '--epochs', 2, '--run-epochs', 1, '--minutes', 3)
    assert code == 0, err
    first = json.loads((out/'results.json').read_text())
    assert json.loads(stdout)['epochs'] == 1 and stdout.count('\n') == 1  # the figures alone on stdout, one line
    assert (first['epochs'], first['planned_epochs'], first['finished'], len(first['history'])) == (1, 2, False, 1)
    assert first['command'].startswith('python -m emotion_fastai.recipe --data ') and '--run-epochs 1' in first['command']
    assert (out/'checkpoint.pt').is_file() and (out/'model.json').is_file()

    # the second command carries on the same schedule from the packed copy of the same faces: epoch 2 of 2, not 1 of 2 again
    code, stdout, err = recipe('--data', packed, '--out', out, '--quick', '--resume', '--minutes', 3)
    assert code == 0, err
    rec = json.loads((out/'results.json').read_text())
    assert (rec['epochs'], rec['planned_epochs'], rec['finished'], len(rec['history'])) == (2, 2, True, 2)
    assert rec['history'][0] == first['history'][0] and rec['steps'] == 2*first['steps']
    assert [r['from_step'] for r in rec['runs']] == [0, first['steps']] and '--resume' in rec['runs'][1]['command']
    assert 0 <= rec['valid_accuracy'] <= 1 and 0 <= rec['valid_tta_accuracy'] <= 1

    code, _, err = recipe('--data', packed, '--out', out, '--quick', '--resume', '--minutes', 3)
    assert code == 2 and 'is finished' in err and err.count('\n') == 1
    code, _, err = recipe('--data', packed, '--out', out, '--quick', '--minutes', 3)
    assert code == 2 and 'add --resume' in err

    # the model directory: rebuilt by the library from the registry, fed as trained (the centre 40x40 of the 48 px face)
    from emotion_fastai.saved_model import load_model
    from emotion_fastai.evaluate import evaluate_model
    model, meta = load_model(out)
    assert (meta['arch'], meta['size'], meta['crop'], meta['channels']) == ('vgg_fer', 40, 48, 1)
    plain = evaluate_model(out, csv, split='valid', tta=False, progress=False, int8=False)
    assert plain['n_images'] == rec['n_valid']
    assert abs(plain['accuracy'] - rec['valid_accuracy']) <= 1/rec['n_valid'] + 1e-9  # the same weights, the same crop
    ten = evaluate_model(out, csv, split='valid', tta='ten', progress=False, int8=False)
    assert ten['n_images'] == rec['n_valid'] and 0 <= ten['accuracy'] <= 1 and len(ten['tta']) == 10


def run_main(*argv):
    "Run the recipe's `main` in this process: (exit code, stdout, stderr)"
    import contextlib, io
    from emotion_fastai.recipe import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main([str(a) for a in argv]); code = 0
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize('argv, says', [(['--minutes', '0'], 'argument --minutes: 0 is out of range'),
                                        (['--epochs', 'two'], "argument --epochs: 'two' is not a whole number"),
                                        (['--erase', '1.5'], 'argument --erase: 1.5 is out of range')])
def test_bad_options_in_one_sentence(argv, says, tmp_path):
    code, stdout, err = run_main('--data', tmp_path/'none.npz', '--out', tmp_path/'m', *argv)
    assert (code, stdout, err.count('\n')) == (2, '', 1) and says in err


def test_missing_data_in_one_sentence(tmp_path):
    code, stdout, err = run_main('--data', tmp_path/'none.npz', '--out', tmp_path/'m', '--quick', '--device', 'cpu')
    assert (code, stdout) == (2, '') and 'none.npz does not exist' in err and err.count('\n') == 1
