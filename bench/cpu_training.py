"""Training speed of the scratch CNN on a CPU: float32 against bfloat16 mixed precision, side by side.

`train_model` turns on `CPUMixedPrecision` (bf16 autocast, channels-last) where the CPU computes bf16
natively. This times fastai training steps (forward, loss, backward, AdamW step; batch size 256, 48×48
gray, random pixels) both ways in one process and prints ms per batch and minutes per FER2013 epoch.

    python bench/cpu_training.py --batches 8 --json results/bench_cpu_training.json
"""
import argparse, json, os, platform, time

import torch
from fastai.vision.all import Callback, CrossEntropyLossFlat, DataLoaders, Learner
from emotion_fastai.models import fer_cnn
from emotion_fastai.callbacks import cpu_has_bf16, use_mixed_precision

N_TRAIN = 28_709  # FER2013 Training images

class BatchTimes(Callback):
    "Wall-clock seconds of each training batch"
    def before_fit(self): self.times = []
    def before_batch(self): self.t0 = time.perf_counter()
    def after_batch(self): self.times.append(time.perf_counter() - self.t0)

def seconds_per_batch(mixed:bool, batches:int, bs:int, warmup:int=2) -> float:
    "Median training-step time of the scratch CNN, with or without CPU mixed precision"
    torch.manual_seed(0)
    n = (batches + warmup) * bs
    ds = list(zip(torch.randn(n, 1, 48, 48), torch.randint(0, 7, (n,))))
    dls = DataLoaders.from_dsets(ds, ds[:bs], bs=bs, device=torch.device('cpu'), drop_last=True)
    learn = Learner(dls, fer_cnn(), loss_func=CrossEntropyLossFlat())
    if mixed: use_mixed_precision(learn)
    timer = BatchTimes()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=timer)
    return float(torch.tensor(timer.times[warmup:]).median())

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--batches', type=int, default=8, help='timed batches per setting')
    p.add_argument('--bs', type=int, default=256)
    p.add_argument('--json', help='also write the figures to this JSON file')
    a = p.parse_args()
    if not cpu_has_bf16(): raise SystemExit('This CPU has no native bf16 (AVX-512 BF16/AMX): train_model keeps float32 here.')
    fp32, bf16 = (seconds_per_batch(m, a.batches, a.bs) for m in (False, True))
    per_epoch = lambda s: s * N_TRAIN / a.bs / 60
    res = dict(bs=a.bs, batches=a.batches, threads=torch.get_num_threads(), cpu_count=os.cpu_count(),
               cpu=platform.processor() or platform.machine(), torch=torch.__version__,
               float32_ms_per_batch=round(fp32*1000, 1), bf16_ms_per_batch=round(bf16*1000, 1),
               float32_min_per_epoch=round(per_epoch(fp32), 2), bf16_min_per_epoch=round(per_epoch(bf16), 2),
               speedup=round(fp32/bf16, 2))
    print(f"float32: {res['float32_ms_per_batch']:.0f} ms/batch ({res['float32_min_per_epoch']:.1f} min per FER2013 epoch)")
    print(f"bf16 + channels-last: {res['bf16_ms_per_batch']:.0f} ms/batch ({res['bf16_min_per_epoch']:.1f} min per epoch)")
    print(f"speed-up: {res['speedup']:.2f}x  ({res['threads']} threads, batch size {a.bs})")
    if a.json: open(a.json, 'w').write(json.dumps(res, indent=2) + '\n')

if __name__ == '__main__': main()
