"""`emotion-fastai app` as users start it: the port it serves on ($GRADIO_SERVER_PORT, --port), one sentence when
that port is taken, and uploads over the demo's limit refused at upload time. Every server dies with its test."""
import os, socket, subprocess, time
from pathlib import Path

import pytest

from helpers import free_port as _free_port, wait_until_up as _wait_until_up

ROOT = Path(__file__).resolve().parents[1]


def _env(**kw):
    env = {k: v for k, v in os.environ.items() if k not in ('GRADIO_SERVER_PORT', 'GRADIO_SERVER_NAME')}
    return {**env, 'GRADIO_ANALYTICS_ENABLED': 'False', 'PYTHONUNBUFFERED': '1', **kw}


def _stop(proc):
    proc.terminate()
    try: proc.wait(10)
    except subprocess.TimeoutExpired: proc.kill(); proc.wait(10)

@pytest.mark.parametrize('how', ['--port', 'GRADIO_SERVER_PORT'])
def test_busy_port_is_one_sentence(cli_cmd, how):
    "A port that is taken, asked for with --port or $GRADIO_SERVER_PORT: rc 2, one sentence naming it, no traceback, before the models load"
    with socket.socket() as held:
        held.bind(('127.0.0.1', 0)); held.listen()
        port = held.getsockname()[1]
        args, env = (['app', '--port', port], _env()) if how == '--port' else (['app'], _env(GRADIO_SERVER_PORT=str(port)))
        start = time.monotonic()
        r = subprocess.run(cli_cmd(*args), capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        took = time.monotonic() - start
    err = r.stderr.strip()
    assert r.returncode == 2, (r.returncode, err[-2000:])
    assert 'Traceback' not in err and len(err.splitlines()) == 1, err
    assert f'{port}' in err and 'in use' in err and '--port' in err and 'GRADIO_SERVER_PORT' in err
    assert took < 60, f'{took:.0f} s to refuse a busy port'

def test_gradio_server_port_and_upload_limit(cli_cmd, tmp_path):
    "$GRADIO_SERVER_PORT is where `emotion-fastai app` serves; an upload over the demo's limit is refused (413), a small one taken"
    import httpx
    from emotion_fastai.app import MAX_VIDEO_MB
    port, log = _free_port(), tmp_path/'server.log'
    with open(log, 'w') as f:
        proc = subprocess.Popen(cli_cmd('app'), stdout=f, stderr=subprocess.STDOUT, env=_env(GRADIO_SERVER_PORT=str(port)),
                                cwd=tmp_path)
    try:
        url = f'http://127.0.0.1:{port}/'
        assert _wait_until_up(url, proc), f'not serving on {port}:\n{log.read_text()[-3000:]}'
        big = tmp_path/'big.mp4'
        with open(big, 'wb') as f: f.truncate(MAX_VIDEO_MB * 2**20 + 1)
        with open(big, 'rb') as f: r = httpx.post(url + 'gradio_api/upload', files={'files': f}, timeout=60)
        assert r.status_code == 413, (r.status_code, r.text[:300])
        r = httpx.post(url + 'gradio_api/upload', files={'files': ('small.mp4', b'0' * 1000)}, timeout=60)
        assert r.status_code == 200, (r.status_code, r.text[:300])
    finally: _stop(proc)
