"""Data-parallel training without a GPU: two CPU processes (gloo), started by `accelerate launch`, train the quick
subset for one epoch with the same seed; one model directory comes out, both processes hold the same weights,
and the model loads and evaluates like any other"""
import json, os, shutil, socket, subprocess, time
from pathlib import Path

import psutil
import pytest

from emotion_fastai.sources import make_fixture
from emotion_fastai.saved_model import load_model
from emotion_fastai.evaluate import evaluate_model

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.usefixtures('scratch_cache'),
              pytest.mark.skipif(shutil.which('accelerate') is None, reason='accelerate is not installed')]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_processes_train_one_model(tmp_path):
    data, out = make_fixture(tmp_path/'fx', n_train=8, n_test=2), tmp_path/'runs'/'cnn'
    cmd = ['accelerate', 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
           '--main_process_port', str(_free_port()), '--mixed_precision', 'no', '--dynamo_backend', 'no',
           '-m', 'emotion_fastai.cli', 'train', '--arch', 'cnn', '--data', str(data), '--epochs', '1', '--bs', '16',
           '--seed', '7', '--out', str(out)]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'CUDA_VISIBLE_DEVICES': ''}  # one thread per process: 2 cores, 2 processes
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    seconds = time.time() - t0
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-4000:])
    assert [p.name for p in (tmp_path/'runs').iterdir()] == ['cnn']  # exactly one model directory
    assert sorted(p.name for p in out.iterdir()) == ['model.json', 'model.safetensors', 'results.json']
    res = json.loads((out/'results.json').read_text())
    d = res['distributed']
    assert (res['processes'], res['batch_size'], res['effective_batch_size']) == (2, 8, 16)
    assert d['backend'] == 'gloo' and d['weights_agree'] is True
    n_train, bs = res['n_train'], res['batch_size']  # each process: its half of the epoch, in whole batches (drop_last)
    assert d['samples_per_process'] == [(n_train + 1)//2 // bs * bs] * 2, d
    assert res['config']['lr'] == 3e-3  # the learning rate is not scaled: the effective batch is the config's
    assert r.stdout.count('valid accuracy') == 1  # one process reports
    model, meta = load_model(out)
    m = evaluate_model(out, data, split='valid', progress=False)
    assert m['n_images'] == res['n_valid'] and abs(m['accuracy'] - res['valid_accuracy']) < 1e-9
    print(f"two CPU processes, one epoch of {n_train} images: {seconds:.1f}s, samples per process {d['samples_per_process']}")


def test_a_multi_process_run_resumes(tmp_path):
    "Killed after its first checkpoint, a two-process run carries on with `--resume` from the epoch it reached"
    data, out = make_fixture(tmp_path/'fx', n_train=8, n_test=2), tmp_path/'cnn'
    launch = lambda *extra: ['accelerate', 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
                             '--main_process_port', str(_free_port()), '--mixed_precision', 'no', '--dynamo_backend', 'no',
                             '-m', 'emotion_fastai.cli', 'train', '--arch', 'cnn', '--data', str(data), '--epochs', '12',
                             '--bs', '16', '--lr', '1e-3', '--out', str(out), *extra]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'CUDA_VISIBLE_DEVICES': ''}
    run = subprocess.Popen(launch(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    deadline, done = time.time() + 300, 0
    while done < 2 and run.poll() is None and time.time() < deadline:
        time.sleep(0.05)
        try: done = json.loads((out/'checkpoint.json').read_text())['epochs_done']
        except (FileNotFoundError, json.JSONDecodeError): pass
    for proc in [*psutil.Process(run.pid).children(recursive=True), psutil.Process(run.pid)]:  # the launcher's
        proc.kill()  # workers run in sessions of their own, so the whole tree is killed, as a power cut would
    run.wait()
    done = json.loads((out/'checkpoint.json').read_text())['epochs_done']
    assert 2 <= done < 12 and not (out/'results.json').exists(), 'the run was not stopped mid-way'
    r = subprocess.run(launch('--resume'), capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    res = json.loads((out/'results.json').read_text())
    assert (res['epochs'], len(res['history']), res['processes']) == (12, 12, 2)
    assert res['distributed']['weights_agree'] and not list(out.glob('checkpoint*'))
