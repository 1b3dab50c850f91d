#!/usr/bin/env python
"""Latency of the emotion-fastai predictor and app on CPU, with the `fer` package side by side when it is installed.

Measured in one run, on the same machine, each as the median of many calls after a few warm-up calls:

- `classify`: one 48×48 grayscale face through the model (preprocessing + forward + softmax), no detection;
- `predict 640x480`: a 640×480 photo with one face through the whole path (Haar detection, crop, classify);
- `app request`: one `/predict` request through the running Gradio app with `gradio_client` (upload, queue,
  load, detect, classify, draw, encode the annotated PNG, download), sequential requests.

The predictor runs with PyTorch at its default thread count (and with 1 thread), and with ONNX Runtime when
`onnxruntime` is installed. `fer` (which needs TensorFlow) is not a dependency: it is measured only when importable.

    python bench/latency.py --runs 200 --requests 30 --json results/bench_latency.json
"""
from __future__ import annotations
import argparse, json, os, platform, socket, statistics, sys, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore')
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import cv2
import torch

from emotion_fastai.inference import Predictor, load_image, default_model_dir, export_onnx


def median_ms(fn, runs, warmup=10) -> float:
    "Median wall time of `fn()` in milliseconds"
    for _ in range(warmup): fn()
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def test_images():
    "A 48×48 face crop and a 640×480 photo with one face, both from the public-domain astronaut portrait"
    astro = load_image(ROOT/'app'/'examples'/'astronaut.png')
    photo = np.full((480, 640, 3), 128, np.uint8)
    photo[:, 80:560] = cv2.resize(astro, (480, 480), interpolation=cv2.INTER_AREA)
    pred = Predictor()
    face = pred.faces(astro)[1][0]
    assert face.shape == (48, 48) and len(pred.predict(photo)['faces']) == 1
    return face, photo


def bench_predictor(pred, face, photo, runs) -> dict:
    return {'classify_48x48_ms': median_ms(lambda: pred.classify([face]), runs),
            'predict_640x480_ms': median_ms(lambda: pred.predict(photo), max(20, runs // 4))}


def ours(face, photo, runs, model_dir) -> dict:
    out = {}
    default_threads = torch.get_num_threads()
    pred = Predictor(model_dir)
    for n in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(n)
        out[f'torch ({n} thread{"s" * (n > 1)})'] = bench_predictor(pred, face, photo, runs)
    torch.set_num_threads(default_threads)
    try: import onnxruntime as ort
    except ImportError: print('onnxruntime: not installed, ONNX path skipped'); return out
    fast = Predictor(model_dir, backend='onnx')
    out['onnxruntime (default threads)'] = bench_predictor(fast, face, photo, runs)
    opts = ort.SessionOptions(); opts.intra_op_num_threads = 1; opts.log_severity_level = 3
    fast.session = ort.InferenceSession(str(export_onnx(fast)), opts, providers=['CPUExecutionProvider'])
    out['onnxruntime (1 thread)'] = bench_predictor(fast, face, photo, runs)
    return out


def fer_package(face, photo, runs) -> dict | None:
    "The `fer` package (Keras mini-Xception, Haar detection), when installed"
    try: from fer import FER
    except Exception as e:
        print(f'fer: not importable ({type(e).__name__}); not measured. It needs TensorFlow, which this project '
              'does not install.')
        return None
    det = FER(mtcnn=False)
    rgb = cv2.cvtColor(face, cv2.COLOR_GRAY2RGB)
    return {'fer': {'classify_48x48_ms': median_ms(lambda: det.detect_emotions(rgb, face_rectangles=[(0, 0, 48, 48)]), runs),
                    'predict_640x480_ms': median_ms(lambda: det.detect_emotions(photo), max(20, runs // 4))}}


def app_requests(photo, n, url=None) -> dict:
    "Median latency of sequential `/predict` requests through the app (started here unless `url` is given)"
    from gradio_client import Client, handle_file
    import tempfile
    from PIL import Image
    demo = None
    if url is None:
        from emotion_fastai.app import build_app
        with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
        demo = build_app(ROOT/'app'/'models', ROOT/'app'/'examples')
        demo.launch(server_name='127.0.0.1', server_port=port, prevent_thread_lock=True, quiet=True)
        url = f'http://127.0.0.1:{port}/'
    try:
        path = Path(tempfile.mkdtemp())/'photo_640x480.png'
        Image.fromarray(photo).save(path)
        client = Client(url, verbose=False)
        call = lambda: client.predict(handle_file(str(path)), 'default', 0, False, False, api_name='/predict')
        assert len(call()[5]['faces']) == 1
        return {'app_request_640x480_ms': median_ms(call, n, warmup=3), 'url': url}
    finally:
        if demo is not None: demo.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', help='model directory (default: app/models/default)')
    p.add_argument('--runs', type=int, default=200, help='calls per predictor measurement (default 200)')
    p.add_argument('--requests', type=int, default=30, help='requests through the app (default 30; 0 to skip)')
    p.add_argument('--url', help='measure an app already running at this URL instead of starting one')
    p.add_argument('--json', help='also write the figures to this JSON file')
    a = p.parse_args(argv)
    model_dir = Path(a.model) if a.model else default_model_dir()
    face, photo = test_images()
    print(f'model {model_dir} · CPU {os.cpu_count()} cores · torch {torch.__version__} '
          f'({torch.get_num_threads()} threads by default) · load average {os.getloadavg()[0]:.1f}')
    results = ours(face, photo, a.runs, model_dir)
    if fer := fer_package(face, photo, a.runs): results.update(fer)
    print(f"\n{'':32}{'48×48 face, classify':>22}{'640×480 photo, detect+classify':>33}")
    for name, r in results.items():
        print(f"{name:32}{r['classify_48x48_ms']:>19.2f} ms{r['predict_640x480_ms']:>30.2f} ms")
    app = app_requests(photo, a.requests, a.url) if a.requests else None
    if app: print(f"\napp: one /predict request (640×480 PNG in, annotated JPEG out), median of {a.requests}: "
                  f"{app['app_request_640x480_ms']:.1f} ms")
    if a.json:
        out = dict(model=str(model_dir.relative_to(ROOT) if model_dir.is_relative_to(ROOT) else model_dir),
                   runs=a.runs, requests=a.requests, predictor=results, fer_installed='fer' in results, app=app,
                   machine=dict(cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
                                load_average=os.getloadavg()[0], platform=platform.platform(),
                                python=platform.python_version(), torch=torch.__version__),
                   command='python bench/latency.py ' + ' '.join(argv if argv is not None else sys.argv[1:]))
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2))
        print(f'wrote {a.json}')


if __name__ == '__main__': main()
