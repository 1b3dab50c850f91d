#!/usr/bin/env python
"""DataLoader throughput on FER2013: fastai's plain image-folder `DataBlock` vs the cached arrays of `emotion_fastai.data`.

Both paths are measured side by side in one run on the same machine, first without augmentation and then with
the same `aug_transforms` as batch transforms (plus `Normalize` on both). Each train `DataLoader` is iterated for
`--batches` batches after one warm-up batch (which also starts the worker processes), timed with `time.perf_counter`.

    python bench/data_throughput.py --data ../shared/data/fer2013.tgz --batches 100 --json results/bench_data.json

The folder path needs FER2013's image folders: an archive is extracted once into the cache by
`emotion_fastai.data.find_source`. The cached path decodes every image once into one array (also cached).
"""
from __future__ import annotations
import argparse, json, os, platform, sys, time, warnings
from pathlib import Path

warnings.filterwarnings('ignore', category=FutureWarning)

import torch
import fastai
from fastai.vision.all import (DataBlock, ImageBlock, CategoryBlock, PILImageBW, get_image_files, GrandparentSplitter,
                               parent_label, aug_transforms, Normalize)
from fastai.torch_core import defaults

from emotion_fastai.data import DATA_ENV, find_source, load_fer, fer_dataloaders, data_stats, FERDataError
from emotion_fastai.results import shown_path

AUG = dict(do_flip=True, max_rotate=10, max_zoom=1.1, max_lighting=0.2, max_warp=0.1)
TARGETS = {'no_aug': 10.0, 'aug': 2.5}  # cached/folder speed-ups we aim for on a 2-core CPU


def augs(on:bool) -> list: return aug_transforms(**AUG) if on else []


def folder_dls(root, bs, aug, stats, num_workers=None):
    "The plain fastai `DataBlock` over the JPEG folders (fastai's default `num_workers` unless given)"
    dblock = DataBlock(blocks=(ImageBlock(PILImageBW), CategoryBlock), get_items=get_image_files,
                       splitter=GrandparentSplitter(train_name='train', valid_name='test'), get_y=parent_label,
                       batch_tfms=[*augs(aug), Normalize.from_stats(*stats)])
    kw = {} if num_workers is None else {'num_workers': num_workers}
    return dblock.dataloaders(root, bs=bs, device='cpu', **kw)


def cached_dls(data, bs, aug):
    "The cached path: batches gathered straight from the decoded `uint8` array"
    return fer_dataloaders(data, bs=bs, aug=augs(aug), device='cpu')


def throughput(dl, n_batches) -> dict:
    "Images/second over `n_batches` train batches after one warm-up batch"
    n_batches = min(n_batches, len(dl) - 1)
    if n_batches < 1: raise SystemExit(f"The train DataLoader has only {len(dl)} batch(es): lower --bs.")
    it = iter(dl)
    t0 = time.perf_counter()
    next(it)  # warm-up: starts workers, fills caches
    warm = time.perf_counter() - t0
    n, t0 = 0, time.perf_counter()
    for _ in range(n_batches):
        xb, yb = next(it)
        n += xb.shape[0]
    dt = time.perf_counter() - t0
    del it
    return {'images': n, 'batches': n_batches, 'seconds': round(dt, 3), 'img_per_s': round(n / dt, 1),
            'warmup_s': round(warm, 3), 'num_workers': dl.fake_l.num_workers}


def run(data_path, n_batches=100, bs=128, folder_workers=None) -> dict:
    kind, root = find_source(data_path)
    if kind != 'folder':
        raise FERDataError(f"{data_path} is a CSV source; the folder benchmark needs FER2013's image folders (Kaggle layout).")
    t0 = time.perf_counter()
    data = load_fer(data_path, quick=False)
    load_s = time.perf_counter() - t0
    stats = data_stats(data)
    print(f"FER2013 from {data_path}\n  folder root: {root}\n  cached arrays: {len(data):,} images loaded in {load_s:.2f}s")
    print(f"  bs={bs}, {n_batches} timed batches after 1 warm-up, {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}, fastai default num_workers={min(16, defaults.cpus)}\n")
    res = {}
    for aug in (False, True):
        key = 'aug' if aug else 'no_aug'
        f = throughput(folder_dls(root, bs, aug, stats, folder_workers).train, n_batches)
        c = throughput(cached_dls(data, bs, aug).train, n_batches)
        res[key] = {'folder': f, 'cached': c, 'ratio': round(c['img_per_s'] / f['img_per_s'], 2)}
    return {'data': shown_path(data_path), 'bs': bs, 'batches': n_batches, 'augment': AUG, 'results': res,
            'targets': TARGETS, 'cached_load_s': round(load_s, 3),
            'machine': {'cpus': os.cpu_count(), 'torch_threads': torch.get_num_threads(), 'python': platform.python_version(),
                        'torch': torch.__version__, 'fastai': fastai.__version__, 'platform': platform.platform()}}


def report(out:dict):
    rows = [('augmentation', 'path', 'workers', 'images', 'seconds', 'img/s')]
    for key, name in (('no_aug', 'none'), ('aug', 'aug_transforms')):
        for path in ('folder', 'cached'):
            r = out['results'][key][path]
            rows.append((name, path, str(r['num_workers']), f"{r['images']:,}", f"{r['seconds']:.2f}", f"{r['img_per_s']:,.0f}"))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print('  '.join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(r)))
        if j == 0: print('  '.join('-'*x for x in w))
    print()
    for key, name in (('no_aug', 'without augmentation'), ('aug', 'with aug_transforms')):
        ratio, target = out['results'][key]['ratio'], out['targets'][key]
        print(f"cached/folder {name}: {ratio:.2f}x (target >= {target}x: {'met' if ratio >= target else 'NOT met'})")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data', default=os.environ.get(DATA_ENV),
                   help=f"FER2013 in the image-folder layout: folder or .tgz/.zip (default ${DATA_ENV})")
    p.add_argument('--batches', type=int, default=100, help="timed batches per DataLoader (default 100)")
    p.add_argument('--bs', type=int, default=128, help="batch size (default 128)")
    p.add_argument('--folder-workers', type=int, default=None,
                   help="num_workers of the folder DataLoader (default: fastai's, min(16, CPUs))")
    p.add_argument('--json', metavar='OUT', help="also write the figures as JSON, e.g. results/bench_data.json")
    a = p.parse_args(argv)
    if not a.data: p.error(f"pass --data or set {DATA_ENV} (FER2013's image folders, or their .tgz)")
    try: out = run(a.data, a.batches, a.bs, a.folder_workers)
    except FERDataError as e: sys.exit(f"error: {e}")
    report(out)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2) + '\n')
        print(f"\nwrote {a.json}")
    return out


if __name__ == '__main__': main()
