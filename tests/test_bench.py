"The latency benchmark end to end, in a minute: every row measured idle and beside a busy core, the record written"
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_latency_bench_writes_every_row(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != 'EMOTION_FASTAI_DATA'}  # the astronaut's face: no 3,589-face rows
    out = tmp_path/'bench.json'
    cmd = [sys.executable, str(ROOT/'bench'/'latency.py'), '--rounds', '1', '--frames', '2', '--batch', '40',
           '--requests', '0', '--json', str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    b = json.loads(out.read_text())
    names = list(b['rows'])
    for model in ('cnn_tiny', 'small (webcam)', 'cnn_aug_kd (default)'):
        assert f'one 48×48 face, bare classifier · {model}' in names and f'evaluate, 40 faces · {model}' in names
    assert any(n.startswith('640×480 photo') for n in names) and any('2 threads taking chunks' in n for n in names)
    for n, row in b['rows'].items():
        assert all(row['project'][c] > 0 for c in ('idle', 'busy core')), (n, row)
        if 'fer' in row and b['fer_installed']: assert all(row['fer'][c] > 0 for c in ('idle', 'busy core')), (n, row)
    assert b['table'].splitlines()[0].startswith('| path · model |') and b['command'].startswith('python bench/latency.py')
    assert b['machine']['cpu_flags'] and set(b['webcam_fps']) == {'1 face', '3 faces'}
    assert '| path · model |' in r.stdout  # the table, on standard output; progress on standard error
