"README.md must be in step with its source, nbs/index.ipynb (regenerate it with `python tests/make_readme.py`)"
import json, re
from pathlib import Path

from emotion_fastai.train import run_totals

ROOT = Path(__file__).resolve().parents[1]
INDEX, README = ROOT/'nbs'/'index.ipynb', ROOT/'README.md'
COMMANDS = ['pip install -e ".[dev,download]" && emotion-fastai train --arch cnn_aug --data "${EMOTION_FASTAI_DATA:-data/fer2013}" '
            '--download --time-budget 3600 --out models/cnn_aug && emotion-fastai evaluate models/cnn_aug "${EMOTION_FASTAI_DATA:-data/fer2013}"',
            'bash .ci/test']
FIX = "README.md is out of step with nbs/index.ipynb: run `python tests/make_readme.py`"

def norm(s): return re.sub(r'\s+', ' ', s).strip()

def markdown_cells():
    nb = json.loads(INDEX.read_text(encoding='utf-8'))
    return [norm(''.join(c['source'])) for c in nb['cells'] if c['cell_type'] == 'markdown' and ''.join(c['source']).strip()]

def readme(): return norm(README.read_text(encoding='utf-8'))

def test_index_starts_with_title_and_summary():
    cells = markdown_cells()
    assert cells and re.match(r'^# emotion-fastai > \S', cells[0]), "index.ipynb must open with `# emotion-fastai` then `> summary`"

def test_every_markdown_cell_in_readme_in_order():
    text, pos = readme(), 0
    for cell in markdown_cells():
        i = text.find(cell, pos)
        assert i >= 0, f"{FIX}. Missing or out of order: {cell[:120]!r}"
        pos = i + len(cell)

def test_readme_has_the_two_commands():
    text = README.read_text(encoding='utf-8')
    for cmd in COMMANDS:
        assert re.search(rf'^{re.escape(cmd)}$', text, re.M), f"README.md lacks the command on a line of its own: {cmd}"

def test_readme_sections():
    text = README.read_text(encoding='utf-8')
    for h in ('## Lessons', '## Data', '## Results', '## Benchmarks'): assert re.search(rf'^{h}$', text, re.M), h

def results_row(arch):
    "The README's results row for `arch`, as it must read given results/<arch>.json"
    r = json.loads((ROOT/'results'/f'{arch}.json').read_text())
    tta = f"{r['valid_tta_accuracy']:.1%}" if r.get('valid_tta_accuracy') is not None else '–'
    t = run_totals(r)  # a model trained further counts all its runs
    return (f"| {arch} | {r['valid_accuracy']:.1%} | {tta} | {r['valid_macro_f1']:.3f} | {t['epochs_text']} | "
            f"{t['seconds']/60:.1f} min | {r['n_params']/1e6:.1f} M | {'yes' if r['pretrained'] else 'no'} |")

def test_results_figures_come_from_results_json():
    "Every figure in the README's results table is the one recorded in results/<arch>.json"
    text = README.read_text(encoding='utf-8')
    for arch in ('cnn', 'cnn_aug', 'vgg16_bn', 'resnet34'):
        assert results_row(arch) in text, f"README's row for {arch} differs from results/{arch}.json: {results_row(arch)}"
    d = json.loads((ROOT/'app'/'models'/'default'/'results.json').read_text())
    assert f"{d['model_bytes']/2**20:.1f} MB" in text and d['arch'] == 'cnn_aug'

def test_ensemble_figure_comes_from_results_json():
    "The README's ensemble accuracy is the one recorded by `emotion-fastai evaluate` in results/"
    m = json.loads((ROOT/'results'/'evaluate_ensemble_tta_all.json').read_text())
    assert m['model'] == ['app/models/default', 'app/models/cnn_aug_64'] and m['split'] == 'valid'
    assert f"reach **{m['accuracy']:.1%}** validation accuracy" in norm(README.read_text(encoding='utf-8'))

def test_distilled_figures_come_from_results_json():
    "The README's figures for the distilled model are the ones its run recorded, and the model it names ships"
    r = json.loads((ROOT/'results'/'cnn_aug_kd.json').read_text())
    assert r['config']['teachers'] == ['app/models/default', 'app/models/cnn_aug_64'] and r['arch'] == 'cnn_aug'
    shipped = json.loads((ROOT/'app'/'models'/'cnn_aug_kd'/'results.json').read_text())
    assert shipped['valid_accuracy'] == r['valid_accuracy']
    text = norm(README.read_text(encoding='utf-8'))
    assert (f"reach **{r['valid_accuracy']:.1%}** alone and **{r['valid_tta_accuracy']:.1%}** with fastai's TTA, "
            f"macro F1 {r['valid_macro_f1']:.3f}") in text
    r2 = json.loads((ROOT/'results'/'cnn_aug_kd2.json').read_text())
    assert r2['config']['init'] == 'app/models/cnn_aug_kd' and 'app/models/cnn_aug_kd' in r2['config']['teachers']
    assert f"back to **{r2['valid_accuracy']:.1%}** ({r2['valid_tta_accuracy']:.1%} with TTA)" in text
    r3 = json.loads((ROOT/'results'/'cnn_aug_kds.json').read_text())
    assert r3['config']['init'] is None and r3['config']['teachers'] == r['config']['teachers'] and r3['epochs'] == 30
    assert (f"reached **{r3['valid_accuracy']:.1%}** ({r3['valid_tta_accuracy']:.1%} with TTA), "
            f"macro F1 {r3['valid_macro_f1']:.3f}") in text
