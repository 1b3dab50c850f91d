"README.md must be in step with its source, nbs/index.ipynb (regenerate it with `python tests/make_readme.py`); the figures it and the experiments and benchmarks pages quote must be the recorded ones"
import json, re
from functools import cache
from pathlib import Path

from emotion_fastai.inference import DEFAULT_MODEL, WEBCAM_MODEL
from emotion_fastai.results import run_totals
from make_readme import repo_links

ROOT = Path(__file__).resolve().parents[1]
INDEX, README = ROOT/'nbs'/'index.ipynb', ROOT/'README.md'
COMMANDS = ['pip install -e ".[dev,download]" && emotion-fastai train --arch cnn_aug --data "${EMOTION_FASTAI_DATA:-data/fer2013}" '
            '--download --time-budget 3600 --out models/cnn_aug && emotion-fastai evaluate models/cnn_aug "${EMOTION_FASTAI_DATA:-data/fer2013}"',
            'bash .ci/test']
FIX = "README.md is out of step with nbs/index.ipynb: run `python tests/make_readme.py`"

def norm(s): return re.sub(r'\s+', ' ', s).strip()

def markdown_cells():
    "The home page's markdown cells as the README must hold them: links to notebooks pointed into nbs/"
    nb = json.loads(INDEX.read_text(encoding='utf-8'))
    return [norm(repo_links(''.join(c['source']))) for c in nb['cells'] if c['cell_type'] == 'markdown' and ''.join(c['source']).strip()]

def readme(): return norm(README.read_text(encoding='utf-8'))

EXPERIMENTS, BENCHMARKS = ROOT/'nbs'/'experiments'/'beyond_the_four.ipynb', ROOT/'nbs'/'experiments'/'benchmarks.ipynb'

def page_text(nb):
    "The markdown of notebook `nb`, as one text"
    return '\n\n'.join(''.join(c['source']) for c in json.loads(nb.read_text(encoding='utf-8'))['cells'] if c['cell_type'] == 'markdown')

@cache
def record(name):
    "The saved record results/<name>.json, read once"
    return json.loads((ROOT/'results'/f'{name}.json').read_text())

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
    for h in ('## Lessons', '## Data', '## Results', '## Get started'): assert re.search(rf'^{h}$', text, re.M), h

def results_row(arch):
    "The README's results row for `arch`, as it must read given results/<arch>.json"
    r = record(arch)
    tta = f"{r['valid_tta_accuracy']:.1%}" if r.get('valid_tta_accuracy') is not None else '–'
    t = run_totals(r)  # a model trained further counts all its runs
    return (f"| {arch} | {r['valid_accuracy']:.1%} | {tta} | {r['valid_macro_f1']:.3f} | {t['epochs_text']} | "
            f"{t['seconds']/60:.1f} min | {r['n_params']/1e6:.1f} M | {'yes' if r['pretrained'] else 'no'} |")

def test_results_figures_come_from_results_json():
    "Every figure in the README's results table is the one recorded in results/<arch>.json"
    text = README.read_text(encoding='utf-8')
    for arch in ('cnn', 'cnn_aug', 'vgg16_bn', 'resnet34', 'mobilenet_v2', 'mobilenet_v2_scratch'):
        assert results_row(arch) in text, f"README's row for {arch} differs from results/{arch}.json: {results_row(arch)}"
    d = json.loads((ROOT/'app'/'models'/DEFAULT_MODEL/'results.json').read_text())
    assert f"{d['model_bytes']/2**20:.1f} MB" in text and d['arch'] == 'cnn_aug'

# The experiments page's table of runs: (label, results/<name>.json, four-view record or None)
BEYOND = [("lesson 2's `cnn_aug` (`app/models/cnn_aug`), the starting point", 'cnn_aug', 'cnn_aug'),
          ("mixup: 15 more epochs with `--mixup 0.4`", 'cnn_aug_mixup', None),
          ("progressive resizing: 10 more epochs at 64 px", 'cnn_aug_64', 'cnn_aug_64'),
          ("distillation: 9 more epochs, `cnn_aug` and the 64 px model as teachers (the demo's model)", 'cnn_aug_kd', 'cnn_aug_kd'),
          ("the same distillation with seed 7 instead of 42", 'cnn_aug_kd_seed7', 'cnn_aug_kd_seed7'),
          ("a second round: 8 more epochs, the distilled model a third teacher", 'cnn_aug_kd2', 'cnn_aug_kd2'),
          ("distillation from the start: 30 epochs from random initialisation", 'cnn_aug_kds', 'cnn_aug_kds'),
          ("another network: EfficientNet-Lite0 fine-tuned from ImageNet weights, 2 + 10 epochs at 96 px (lesson 6)",
           'effnet_lite0', 'effnet_lite0'),
          ("the same network from random weights, 12 epochs at 96 px (lesson 6)", 'effnet_lite0_scratch', 'effnet_lite0_scratch'),
          ("progressive resizing of the EfficientNet: 2 more epochs at 128 px, cut short (lesson 6)", 'effnet_lite0_128', 'effnet_lite0_128'),
          ("distillation from another network: 9 more epochs, the EfficientNet as the only teacher", 'cnn_aug_kd_effnet', 'cnn_aug_kd_effnet')]

def four_views(name):
    "The four-view accuracy `emotion-fastai evaluate --tta all` recorded in results/evaluate_<name>_tta_all.json"
    m = record(f'evaluate_{name}_tta_all')
    assert m['split'] == 'valid' and m['tta'] == ['plain', 'flip', 'zoom', 'zoom_flip'], name
    return m

def beyond_row(label, name, views):
    "The experiments page's row for one run, as it must read given its records"
    r = record(name)
    four = f"{four_views(views)['accuracy']:.1%}" if views else '–'
    return (f"| {label} | {r['valid_accuracy']:.1%} | {r['valid_macro_f1']:.3f} | {r['valid_tta_accuracy']:.1%} | "
            f"{four} | `results/{name}.json` |")

# The experiments page's ensembles: (label, results/evaluate_<name>_tta_all.json, the models it averages)
ENSEMBLES = [("ensemble: `cnn_aug` and the 64 px model, probabilities averaged", 'ensemble',
              ['app/models/cnn_aug', 'app/models/cnn_aug_64']),
             ("ensemble of two architectures: the distilled CNN and the EfficientNet", 'ensemble_effnet',
              ['app/models/cnn_aug_kd', 'app/models/effnet_lite0'])]

def ensemble_row(label, name, models):
    "The experiments page's row for an ensemble, as it must read given its four-view record"
    m = four_views(name)
    return (f"| {label} (four-view macro F1 {m['macro_f1']:.3f}) "
            f"| – | – | – | {m['accuracy']:.1%} | `results/evaluate_{name}_tta_all.json` |")

def test_beyond_the_four_rows_come_from_results_json():
    "Every figure in the experiments page's table of runs is the one its run or evaluation recorded"
    text = page_text(EXPERIMENTS)
    for row in BEYOND: assert beyond_row(*row) in text, f"the experiments page's row differs from its records: {beyond_row(*row)}"
    for label, name, models in ENSEMBLES:
        assert four_views(name)['model'] == models, name
        assert ensemble_row(label, name, models) in text, ensemble_row(label, name, models)

def test_beyond_the_four_runs_are_what_the_rows_say():
    "The configs behind the rows: what each run started from and learnt from"
    cfg = {name: record(name)['config'] for _, name, _ in BEYOND}
    teachers = ['app/models/cnn_aug', 'app/models/cnn_aug_64']
    assert cfg['cnn_aug_mixup']['mixup'] == 0.4 and cfg['cnn_aug_64']['size'] == 64
    for name in ('cnn_aug_kd', 'cnn_aug_kd_seed7'):
        assert cfg[name]['init'] == 'app/models/cnn_aug' and cfg[name]['teachers'] == teachers
    assert (cfg['cnn_aug_kd']['seed'], cfg['cnn_aug_kd_seed7']['seed']) == (42, 7)
    recipe = lambda c: {k: v for k, v in c.items() if k not in ('seed', 'time_budget', 'planned_epochs')}
    assert recipe(cfg['cnn_aug_kd']) == recipe(cfg['cnn_aug_kd_seed7']), "the seed-7 run must repeat the recipe exactly"
    assert cfg['cnn_aug_kd2']['init'] == 'app/models/cnn_aug_kd' and cfg['cnn_aug_kd2']['teachers'] == teachers + ['app/models/cnn_aug_kd']
    assert cfg['cnn_aug_kds']['init'] is None and cfg['cnn_aug_kds']['teachers'] == teachers and cfg['cnn_aug_kds']['epochs'] == 30
    e = cfg['effnet_lite0']
    assert (e['arch'], e['pretrained'], e['size'], e['freeze_epochs'], e['epochs']) == ('effnet_lite0', True, 96, 2, 10)
    s = cfg['effnet_lite0_scratch']
    assert (s['arch'], s['pretrained'], s['size'], s['epochs']) == ('effnet_lite0', False, 96, 12), "the same network, budget and inputs"
    assert {k: v for k, v in s.items() if k not in ('pretrained', 'epochs', 'planned_epochs')} == \
           {k: v for k, v in e.items() if k not in ('pretrained', 'epochs', 'planned_epochs')}, "and otherwise the same recipe"
    b = cfg['effnet_lite0_128']
    assert (b['init'], b['size'], b['epochs']) == ("app/models/effnet_lite0", 128, 2), "the pretrained EfficientNet, 2 more epochs at 128 px"
    k = cfg['cnn_aug_kd_effnet']
    later = lambda c: {f: v for f, v in recipe(c).items() if f != 'lr_mult'}  # a pretrained body's, recorded only by later runs
    assert k['teachers'] == ['app/models/effnet_lite0'] and later(k | {'teachers': teachers}) == later(cfg['cnn_aug_kd']), \
        "the first round's recipe, with the EfficientNet as its only teacher"
    shipped = json.loads((ROOT/'app'/'models'/'cnn_aug_kd'/'results.json').read_text())
    assert shipped['valid_accuracy'] == record('cnn_aug_kd')['valid_accuracy'], "app/models/cnn_aug_kd is the run of results/cnn_aug_kd.json"

def kd_range(key):
    "The range of `key` over the two seeds of the distillation recipe, as the experiments page writes it"
    lo, hi = sorted(record(n)[key] for n in ('cnn_aug_kd', 'cnn_aug_kd_seed7'))
    return f"{lo:.1%}–{hi:.1%}"

def test_distillation_seed_ranges_come_from_results_json():
    "The experiments page's summary of the two seeds quotes the ranges their records hold"
    text = norm(page_text(EXPERIMENTS))
    assert f"reaches {kd_range('valid_accuracy')} alone and {kd_range('valid_tta_accuracy')} with fastai's TTA" in text

def test_latency_table_comes_from_bench_json():
    "The README and the benchmarks page show the table bench/latency.py recorded beside fer, with its command"
    b, readme, page = record('bench_latency'), norm(README.read_text(encoding='utf-8')), norm(page_text(BENCHMARKS))
    assert b['faces'] == 'FER2013 PublicTest' and b['fer_installed'], "the recorded run must score PublicTest and measure fer"
    fer_rows, thread_rows = b['table'].split('\n\n')[:2]
    for line in fer_rows.splitlines(): assert norm(line) in readme and norm(line) in page, f"a latency row differs: {line}"
    for line in thread_rows.splitlines(): assert norm(line) in page, f"a thread row differs: {line}"
    assert b['command'] in readme and b['command'] in page
    acc = b['accuracy']
    assert (f"On the same faces `cnn_tiny` scores {acc['cnn_tiny']:.1%}, the small CNN {acc[b['webcam']]:.1%}, the demo's "
            f"model {acc[b['default']]:.1%} and `fer` {acc['fer']:.1%}") in readme
    for k, v in b['webcam_fps'].items(): assert f"{k}: {v:.0f} frames/s" in page

def test_the_webcam_runs_the_most_accurate_fast_model():
    "The webcam's model is the most accurate of the benchmarked models that answer one face at least twice as fast as the default"
    b = record('bench_latency')
    ms = {label: b['rows'][f'one 48×48 face, bare classifier · {label}']['project']['idle'] for label in b['models']}
    fast = [label for label in b['models'] if ms[label] <= ms[b['default']] / 2]
    assert max(fast, key=b['accuracy'].get) == b['webcam'] == f'{WEBCAM_MODEL} (webcam)', (ms, b['accuracy'])

def test_int8_figures_come_from_model_json():
    "The README's int8 figures are the ones `emotion-fastai quantize` recorded in the demo's model.json"
    text, q = README.read_text(encoding='utf-8'), json.loads((ROOT/'app'/'models'/DEFAULT_MODEL/'model.json').read_text())['int8']
    assert f"{q['valid_agreement']:.2%} of the\n3,589 PublicTest faces" in text
    assert f"{q['valid_accuracy']:.2%} accuracy against {q['float_valid_accuracy']:.2%} in float" in text

def test_detection_figures_come_from_bench_json():
    "The README's detector comparison is what bench/detection.py recorded, with its command"
    text, b = README.read_text(encoding='utf-8'), record('bench_detection')
    y, h = b['detectors'][next(k for k in b['detectors'] if 'package default' in k)], b['detectors']['Haar cascade']
    assert b['command'] in text and f"On {b['scenes']['n_images']}\ngenerated 640×480 scenes" in text
    assert (f"YuNet finds {y['recall']:.1%} of the\nfaces with {y['false_faces_per_image']:.3f} false faces per image in "
            f"{y['ms_per_frame']['1 thread']:.1f} ms a frame, the Haar cascade {h['recall']:.1%} with "
            f"{h['false_faces_per_image']:.3f} in {h['ms_per_frame']['1 thread']:.1f} ms") in text

def test_the_demo_ships_the_best_model_recorded():
    "The demo's model has the best PublicTest accuracy of the models in app/models, with an int8 copy; the README says so from its record"
    acc = {d.name: json.loads((d/'results.json').read_text())['valid_accuracy'] for d in (ROOT/'app'/'models').iterdir()
           if (d/'results.json').is_file() and json.loads((d/'results.json').read_text()).get('modality', 'face') == 'face'}
    assert max(acc, key=acc.get) == DEFAULT_MODEL, acc
    assert (ROOT/'app'/'models'/DEFAULT_MODEL/'model.int8.onnx').is_file()
    r, text = record(DEFAULT_MODEL), norm(README.read_text(encoding='utf-8'))
    assert r['valid_accuracy'] == acc[DEFAULT_MODEL], f"app/models/{DEFAULT_MODEL} is the run of results/{DEFAULT_MODEL}.json"
    assert f"it reaches {r['valid_accuracy']:.1%} ({r['valid_tta_accuracy']:.1%} with TTA, `results/{DEFAULT_MODEL}.json`)" in text

def test_voice_figures_come_from_results_json():
    "The README's voice figures are those of the shipped voice model's run and of the baseline, on the actors they name"
    text, cnn, svm = norm(README.read_text(encoding='utf-8')), record('voice_cnn'), record('voice_mfcc_svm')
    shipped = json.loads((ROOT/'app'/'models'/'voice'/'results.json').read_text())
    assert shipped['valid_accuracy'] == cnn['valid_accuracy'] and cnn['test']['actors'] == [22, 23, 24]
    assert (f"reaches {cnn['test']['accuracy']:.1%} accuracy and {cnn['test']['uar']:.1%} unweighted average recall "
            f"({cnn['valid_accuracy']:.1%} and {cnn['valid_uar']:.1%} on the validation actors), against "
            f"{svm['test']['accuracy']:.1%} and {svm['test']['uar']:.1%} for MFCC statistics") in text
    assert cnn['valid_uar'] > svm['valid']['uar'] and cnn['valid_accuracy'] > svm['valid']['accuracy']

def test_fusion_figures_come_from_bench_json():
    "The README's fusion figures are bench/fusion.py's, on the test actors, at the equal weights the predictor uses"
    text, b = norm(README.read_text(encoding='utf-8')), record('bench_fusion')
    t = b['test']['table']
    assert b['command'] in text and b['test']['actors'] == [22, 23, 24]
    assert f"fused, {t['0.5']['accuracy']:.1%} of the pairs are right, against {t['1']['accuracy']:.1%} for the face alone and {t['0']['accuracy']:.1%} for the voice alone" in text
