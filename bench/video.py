#!/usr/bin/env python
"""How fast, and in how much memory, `analyse_video` reads a video.

Side by side in one run, alternating the two in every round: frames per second analysed on a 640×480 clip with
one face and with three, by `analyse_video` (every face of 16 frames in one batch) and by the per-frame loop one
would write around the predictor (`Predictor.predict` on each frame). Then the peak memory (RSS) of a process
that analyses a 1-minute and a 10-minute clip at 5 frames a second: it must not grow with the length.
The clips are made here from the public-domain photograph in app/examples.

    python bench/video.py --json results/bench_video.json
"""
from __future__ import annotations
import argparse, json, os, platform, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
FACE = np.asarray(Image.open(ROOT/'app'/'examples'/'astronaut.png').convert('RGB'))[20:240, 150:370]


def frame(t:float, n_faces:int) -> np.ndarray:
    "A 640×480 frame at time `t` with `n_faces` faces drifting slowly"
    canvas = np.full((480, 640, 3), 90, np.uint8)
    for k in range(n_faces):
        side = 150
        x = int(20 + k*210 + 20*np.sin(t + k))
        y = int(150 + 40*np.cos(0.7*t + k))
        canvas[y:y+side, x:x+side] = cv2.resize(FACE, (side, side), interpolation=cv2.INTER_AREA)
    return canvas


def make_clip(path, seconds, n_faces, fps=25):
    from emotion_fastai.video import write_video
    return write_video((frame(i/fps, n_faces) for i in range(int(seconds*fps))), path, fps)


def batched(pred, path) -> float:
    from emotion_fastai.video import analyse_video
    t0 = time.perf_counter(); n = len({r['frame'] for r in analyse_video(pred, path)})
    return time.perf_counter() - t0


def per_frame(pred, path) -> float:
    "The loop a user writes today: read each frame, `Predictor.predict` it"
    t0, cap = time.perf_counter(), cv2.VideoCapture(str(path))
    while True:
        ok, bgr = cap.read()
        if not ok: break
        pred.predict(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return time.perf_counter() - t0


PEAK = """
import resource, sys
from emotion_fastai.inference import DEFAULT_MODEL, Predictor
from emotion_fastai.video import analyse_video
n = sum(1 for _ in analyse_video(Predictor(sys.argv[2]), sys.argv[1], fps=5))
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss(path, model) -> tuple:
    "Rows and peak resident memory (MB) of a fresh process analysing `path` at 5 frames a second"
    out = subprocess.run([sys.executable, '-c', PEAK, str(path), str(model)], capture_output=True, text=True, check=True)
    rows, kb = out.stdout.split()[-2:]
    return int(rows), int(kb) / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--seconds', type=float, default=8, help='length of the throughput clips')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--model', default=str(ROOT/'app'/'models'/DEFAULT_MODEL))
    p.add_argument('--json', help='also write the figures here')
    args = p.parse_args()
    from emotion_fastai.inference import Predictor
    import torch
    pred = Predictor(args.model)
    tmp = Path(tempfile.mkdtemp())
    res = dict(model=Path(args.model).name, threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
               platform=platform.platform(), command=' '.join(['python', 'bench/video.py', *sys.argv[1:]]))
    print(f"{os.cpu_count()} CPU cores, torch with {torch.get_num_threads()} threads; model {res['model']}")
    for n_faces in (1, 3):
        clip = make_clip(tmp/f'faces{n_faces}.mp4', args.seconds, n_faces)
        n = int(cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT))
        times = {'analyse_video': [], 'per-frame loop': []}
        for _ in range(args.rounds):
            times['analyse_video'].append(batched(pred, clip))
            times['per-frame loop'].append(per_frame(pred, clip))
        fps = {k: n / statistics.median(v) for k, v in times.items()}
        res[f'fps_{n_faces}_face'] = fps
        print(f"640×480, {n_faces} face(s), {n} frames: analyse_video {fps['analyse_video']:.1f} frames/s, "
              f"per-frame loop {fps['per-frame loop']:.1f} frames/s ({fps['analyse_video']/fps['per-frame loop']:.2f}×)")
    for minutes in (1, 10):
        clip = make_clip(tmp/f'{minutes}min.mp4', 60*minutes, 1)
        rows, mb = peak_rss(clip, args.model)
        res[f'peak_rss_mb_{minutes}min'] = mb; res[f'rows_{minutes}min'] = rows
        print(f"{minutes}-minute clip at 5 frames/s: {rows} rows, peak memory {mb:.0f} MB")
        clip.unlink()
    if args.json: Path(args.json).write_text(json.dumps(res, indent=2))


if __name__ == '__main__': main()
