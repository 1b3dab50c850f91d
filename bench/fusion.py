"""Late fusion of face and voice, measured on a stated proxy (no labelled audio-visual set is used here).

    python bench/fusion.py --json results/bench_fusion.json

Each voice clip of RAVDESS's held-out actors is paired with a FER2013 PublicTest face of the same label, drawn at
random (seeded): as many pairs per label as the smaller side has, for several seeds. The face model (the demo's, as
it serves: int8) and the voice model (`app/models/voice`) score their halves, and `emotion_fastai.audio.fusion_table`
scores the fused probabilities for each face weight. The rule the predictor uses, equal weights (0.5), was fixed
before this measurement; the validation actors (19-21) show the curve, the test actors (22-24) confirm it.

The proxy flatters fusion: a face and a voice drawn independently make independent errors, which one person's face
and voice do not. Read it as an upper bound on what averaging two models of these accuracies can buy.
Needs $EMOTION_FASTAI_DATA (FER2013) and $EMOTION_FASTAI_RAVDESS.
"""
import argparse, json, os, sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from emotion_fastai.data import CLASSES, DATA_ENV, load_fer
from emotion_fastai.inference import Predictor, default_model_dir
from emotion_fastai.voice import RAVDESS_ENV, load_voice, load_voice_model, predict_specs
from emotion_fastai.audio import fusion_table

WEIGHTS = (0., .25, .5, .75, 1.)

def pairs(face_y, voice_y, seed):
    "Indices (faces, voices) pairing each label's voices with as many faces of that label, drawn at random"
    rng, fi, vi = np.random.default_rng(seed), [], []
    for c in range(len(CLASSES)):
        f, v = np.flatnonzero(face_y == c), np.flatnonzero(voice_y == c)
        n = min(len(f), len(v))
        fi += list(rng.choice(f, n, replace=False)); vi += list(rng.choice(v, n, replace=False))
    return np.array(fi), np.array(vi)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--json', help='write the record here')
    p.add_argument('--seeds', type=int, default=5)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    faces = load_fer(os.environ[DATA_ENV], quick=False).split('valid')
    pred = Predictor(default_model_dir())  # the demo's model, as it serves
    face_probs = pred.classify(list(faces.images))
    model, meta = load_voice_model(ROOT/'app'/'models'/'voice')
    voices = load_voice(os.environ[RAVDESS_ENV], quick=False, **meta['features'])
    rec = dict(face_model=pred.model_dir.name, face_backend=pred.backend, voice_model='voice', seeds=a.seeds,
               faces='FER2013 PublicTest', command='python bench/fusion.py' + (f' --json {a.json}' if a.json else ''))
    for split in ('valid', 'test'):
        idx = voices.idxs(split)
        vp, vy = predict_specs(model, meta, voices.x[idx]), voices.labels[idx]
        tables = []
        for seed in range(a.seeds):
            fi, vi = pairs(faces.labels, vy, seed)
            tables.append(fusion_table(face_probs[fi], vp[vi], vy[vi], WEIGHTS))
        mean = sum(tables) / len(tables)
        rec[split] = dict(actors=sorted(map(int, set(voices.items.actor.values[idx]))), pairs=int(len(vi)),
                          table={f'{w:g}': dict(accuracy=float(r.accuracy), uar=float(r.uar)) for w, r in mean.iterrows()})
        print(f"{split} actors {rec[split]['actors']}, {len(vi)} pairs, mean of {a.seeds} seeds:\n{mean.round(3).to_string()}\n")
    if a.json: Path(a.json).write_text(json.dumps(rec, indent=2))

if __name__ == '__main__': main()
