"End to end: `emotion-fastai train` killed mid-run, then resumed from its checkpoint with `--resume`; and its time budget under load"
import json, re, signal, subprocess, sys, time
from pathlib import Path

import pytest

from emotion_fastai.sources import make_fixture

ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 12


pytestmark = pytest.mark.usefixtures('scratch_cache')


def _epochs_done(out):
    try: return json.loads((out/'checkpoint.json').read_text())['epochs_done']
    except (FileNotFoundError, json.JSONDecodeError): return 0  # not written yet, or being written


def _trained_epochs(stdout):
    "The epochs that fastai's progress table shows losses for (an epoch skipped on resuming shows none)"
    rows = (re.match(r'(\d+)\s+\d+\.\d+\s+\d+\.\d+', l) for l in re.split(r'[\r\n]', stdout))
    return [int(m[1]) for m in rows if m]


def test_killed_run_resumes(tmp_path, cli_cmd):
    data, out = make_fixture(tmp_path/'kaggle', n_train=5, n_test=1), tmp_path/'model'
    train = ['train', '--arch', 'cnn', '--data', data, '--epochs', EPOCHS, '--bs', 8, '--lr', 1e-3, '--out', out]
    run = subprocess.Popen(cli_cmd(*train), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.time() + 300
    while _epochs_done(out) < 2 and run.poll() is None and time.time() < deadline: time.sleep(0.02)
    run.send_signal(signal.SIGKILL); run.wait()
    done = _epochs_done(out)
    assert 2 <= done < EPOCHS and not (out/'results.json').exists(), 'the run was not stopped mid-way'
    saved = json.loads((out/'checkpoint.json').read_text())

    again = subprocess.run(cli_cmd(*train), capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2 and 'unfinished run' in again.stderr and '--resume' in again.stderr
    other = subprocess.run(cli_cmd(*train[:-4], '--lr', 0.1, '--out', out, '--resume'), capture_output=True, text=True, cwd=ROOT)
    assert other.returncode == 2 and 'lr=0.001 there, 0.1 here' in other.stderr

    resumed = subprocess.run(cli_cmd(*train, '--resume'), capture_output=True, text=True, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert _trained_epochs(resumed.stderr) == list(range(done, EPOCHS))  # progress goes to stderr
    res = json.loads((out/'results.json').read_text())
    assert res['epochs'] == EPOCHS and len(res['history']) == EPOCHS
    assert all(h['train_loss'] > 0 for h in res['history'])  # every epoch trained on some batches
    assert res['history'][:done] == saved['history'] and res['seconds'] >= saved['seconds']
    assert not list(out.glob('checkpoint*'))


def test_resume_needs_a_checkpoint(tmp_path, cli_cmd):
    data = make_fixture(tmp_path/'kaggle', n_train=1, n_test=1)
    r = subprocess.run(cli_cmd('train', '--arch', 'cnn', '--data', data, '--epochs', 1, '--out', tmp_path/'m', '--resume'),
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and 'No checkpoint' in r.stderr


BUDGET = 40
# The budget counts from the start of `cli.main()`, before fastai and torch are imported, up to the written
# results.json. Outside it are only the start of the interpreter (and of the pyenv shim, where there is one) before
# `main()` runs, and its exit after (unloading torch): a few seconds together on a loaded 2-core machine.
SLACK = 10


def test_time_budget_holds_under_load(tmp_path, cli_cmd):
    "One core kept busy by another process: a run asked for far more epochs than fit still ends within its budget"
    data, out = make_fixture(tmp_path/'kaggle', n_train=40, n_test=20), tmp_path/'model'  # 17 batches of 16 an epoch
    busy = subprocess.Popen([sys.executable, '-c', 'while True: pass'])
    try:
        t0 = time.time()
        r = subprocess.run(cli_cmd('train', '--arch', 'cnn', '--quick', '--epochs', 50, '--bs', 16, '--data', data,
                                   '--time-budget', BUDGET, '--out', out), capture_output=True, text=True, cwd=ROOT)
        wall = time.time() - t0
    finally: busy.kill(); busy.wait()
    assert r.returncode == 0, r.stderr[-2000:]
    assert wall < BUDGET + SLACK, f'{wall:.1f}s for a budget of {BUDGET}s'
    res = json.loads((out/'results.json').read_text())
    assert res['stopped'] and f'time budget of {BUDGET}s' in res['stopped'], res['stopped']
    assert res['wall_seconds'] <= BUDGET and 'over_budget_seconds' not in res
    assert res['epochs'] == len(res['history']) < 50
    assert res['stopped'] in r.stderr and res['stopped'] in r.stdout  # said on stderr, and in the final line
    assert (out/'model.safetensors').exists() and not list(out.glob('checkpoint*'))


def test_refit_trains_on_both_splits_and_claims_no_validation(tmp_path, cli_cmd):
    "`train --refit`: the final fit on Training + PublicTest; its record and its line on stdout say what its figure is"
    data, out = make_fixture(tmp_path/'kaggle', n_train=5, n_test=2), tmp_path/'refit'
    r = subprocess.run(cli_cmd('train', '--arch', 'cnn', '--data', data, '--epochs', 1, '--bs', 8, '--refit', '--out', out),
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert 'refit on Training + PublicTest' in r.stdout and 'not a validation' in r.stdout
    res = json.loads((out/'results.json').read_text())
    assert res['refit'] and res['valid_accuracy'] is None and res['n_train'] == 7*7 and res['seen']['n_faces'] == 7*2
    r = subprocess.run(cli_cmd('train', '--arch', 'cnn', '--data', data, '--refit', '--time-budget', 60, '--out', out),
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and 'give its epochs' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
