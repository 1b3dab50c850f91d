"""Rebuild the per-epoch `history` of a results JSON from its training log (the epoch table fastai prints).

The first full runs (Nov 2026) recorded `history` after `get_preds`, which resets fastai's Recorder, so the saved
history was wrong; their logs (results/logs/<arch>.txt, the epoch table of each run's stdout) hold the real values.
Usage: python scripts/history_from_log.py results/logs/cnn.txt results/cnn.json [more pairs...]
"""
import json, re, sys
from pathlib import Path

def history_from_log(log):
    "The epoch table of a fastai training log as a list of dicts"
    lines = Path(log).read_text().splitlines()
    names = next(l.split() for l in lines if l.startswith('epoch'))[1:-1]
    rows = [l.split() for l in lines if re.match(r'^\d+\s', l)]
    return [dict(zip(names, map(float, r[1:-1]))) for r in rows]

if __name__ == '__main__':
    args = sys.argv[1:]
    for log, res in zip(args[::2], args[1::2]):
        r = json.loads(Path(res).read_text())
        r['history'] = history_from_log(log)
        if len(r['history']) != r['epochs']: sys.exit(f"{log}: {len(r['history'])} epochs in the log, {r['epochs']} in {res}")
        r['history_source'] = f'rebuilt from {log} by scripts/history_from_log.py'
        Path(res).write_text(json.dumps(r, indent=2))
        print(f"{res}: {len(r['history'])} epochs")
