"Helpers the test files share: the CLI run in this process, and a local server's port and start"
import contextlib, io, socket, time, urllib.request

def run_cli(*argv):
    "Run the `emotion-fastai` CLI in this process: (exit code, stdout, stderr)"
    from emotion_fastai.cli import main
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main([str(a) for a in argv])
        except SystemExit as e: code = e.code
    return code, out.getvalue(), err.getvalue()

def free_port() -> int:
    "A loopback port nothing listens on now"
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def wait_until_up(url, proc, timeout=120) -> bool:
    "Whether `url` answers 200 within `timeout` seconds while the server process `proc` runs"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None: return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200: return True
        except OSError: time.sleep(0.5)
    return False
