"""The docs, as readers see them: the preview of `scripts/build_docs_preview.py` (pandoc, no Quarto) opened in Chromium.

The preview is built once per session. Each check gathers every problem on every page and fails once with the list.
Needs pandoc (else everything skips) and /usr/bin/chromium with playwright (else the browser checks skip).
"""
import json, os, re, shutil, subprocess, sys
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest, yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
CHROMIUM = '/usr/bin/chromium'
SITE = 'https://emotion-fastai.github.io/emotion-fastai/'  # README and index.ipynb link the published pages here
# what must never show on a page: (what it is, pattern over the page's visible text, line by line)
BAD_TEXT = [
    ('traceback', re.compile(r'Traceback \(most recent call last\)')),
    ('exception', re.compile(r'(?<!except )\b[A-Z]\w*(?:Error|Exception): ')),  # NameError: ..., (URLError: ...)
    ('warning', re.compile(r'\b[A-Z]\w*Warning: ')),
    ('progress bar', re.compile(r'█|\d+%\|| \d+\.\d\d% \[\d+/\d+|\bEpoch \d+/\d+')),
    ('machine path', re.compile(r'/root/|/tmp/|/work/|/home/|/Users/|site-packages')),
]
# lines that may match BAD_TEXT all the same, as (page, regex): a lesson showing one of the library's error messages, say
ALLOW = [  # (page, regex) of lines that show an error on purpose: the lessons teach what the library says when input is bad
    ('inference.html', r'is not a readable image \(OSError: image file is truncated\)'),
    ('transfer.html', r'could not be downloaded \(ConnectionError: no network\)'),
    ('data.html', r'except pd\.errors\.EmptyDataError: raise'),  # the source of `read_fer_csv`, shown by the lesson
]
READ_PAGE = """() => ({
    title: document.title,
    h1: [...document.querySelectorAll('h1')].map(e => e.innerText.trim()),
    text: document.body.innerText,
    ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name')),
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
    imgs: [...document.images].map(i => ({src: (i.getAttribute('src') || '').slice(0, 80), w: i.naturalWidth})),
    height: document.documentElement.scrollHeight,
})"""
SCREEN = {'width': 1280, 'height': 900}  # a laptop's browser window
MAX_SCREENS = 10  # a lesson page, at most; the experiments pages tell whole stories and may run longer
# lessons still longer than that, each to be split in two or to move its reference code into nbs/api/ (screens measured
# at 1280×900 when listed); the test fails when one of them gets short, so that it leaves the list
LONG_PAGES = {'data.html', 'evaluation.html', 'inference.html', 'interpret.html', 'video.html', 'app.html'}


def page_name(nb):
    "The page nbdev/Quarto make of notebook `nb`, relative to nbs/ (`00_data.ipynb` -> `data.html`, `api/00_results.ipynb` -> `api/results.html`)"
    from nbdev.config import nbpath2html
    return nbpath2html(nb).as_posix()


def nb_title(path):
    "The title nbdev gives a notebook: the first `# ` heading of its markdown cells"
    for c in json.loads(Path(path).read_text())['cells']:
        m = c['cell_type'] == 'markdown' and re.search(r'^#\s+(\S.*?)\s*$', ''.join(c['source']), re.MULTILINE)
        if m: return m.group(1)


def sidebar_sections():
    "{section: [notebook, ...]} from nbs/sidebar.yml ('' for the entries outside any section)"
    res = {}
    def walk(entries, section):
        for e in entries:
            if isinstance(e, dict) and 'section' in e: walk(e.get('contents', []), e['section'])
            else: res.setdefault(section, []).append(e.get('href') if isinstance(e, dict) else e)
    walk(yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents'], '')
    return res


def notebooks(): return sorted(p.relative_to(NBS).as_posix() for p in NBS.rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
def built_pages(folder): return {p.relative_to(folder).as_posix() for p in Path(folder).rglob('*.html')}


def report(problems, what):
    "One failure listing every problem"
    if problems: pytest.fail(f'{len(problems)} {what}:\n  ' + '\n  '.join(problems), pytrace=False)


# ---- building and reading the pages

@pytest.fixture(scope='session')
def build(tmp_path_factory):
    "Build the preview into a temporary folder: (folder, the build's CompletedProcess)"
    if not shutil.which('pandoc'):
        if os.environ.get('CI'): pytest.fail('pandoc is not installed, and CI must build the docs preview (apt-get install pandoc)')
        pytest.skip('pandoc is not installed (apt-get install pandoc): no docs preview')
    out = tmp_path_factory.mktemp('docs_preview')
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    res = subprocess.run([sys.executable, str(ROOT/'scripts/build_docs_preview.py'), '--keep-going', '--out', str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    return out, res


def read_pages(folder):
    "Open every page of `folder` in Chromium: {page name: what READ_PAGE gathers}"
    if not Path(CHROMIUM).exists():
        if os.environ.get('CI'): pytest.fail(f'{CHROMIUM} is missing, and CI must check the docs in a browser (apt-get install chromium)')
        pytest.skip(f'{CHROMIUM} is missing (apt-get install chromium)')
    sync_api = pytest.importorskip('playwright.sync_api')
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'], headless=True)
        try:
            page, res = browser.new_page(viewport=SCREEN), {}
            for f in sorted(Path(folder).resolve().rglob('*.html')):
                page.goto(f.as_uri(), wait_until='load')
                res[f.relative_to(Path(folder).resolve()).as_posix()] = page.evaluate(READ_PAGE)
        finally: browser.close()
    return res


@pytest.fixture(scope='session')
def pages(build):
    res = read_pages(build[0])
    if not res: pytest.fail(f'the preview has no pages:\n{build[1].stderr[-3000:]}', pytrace=False)
    return res


# ---- the checks, as functions of the pages read, so that they can be tried on pages made to be bad

def title_problems(pages, titles):
    "Pages without a <title>, or whose <h1> is not the notebook's title (`titles`: {page: title})"
    norm = lambda s: re.sub(r'\s+', ' ', re.sub(r'[`*]', '', s or '')).strip()
    res = [f'{p}: empty <title>' for p, d in pages.items() if not d['title'].strip()]
    return res + [f'{p}: <h1> is {d["h1"]}, expected [{titles[p]!r}]' for p, d in pages.items()
                  if p in titles and norm(titles[p]) not in map(norm, d['h1'])]


def image_problems(pages, need_figures):
    "Images that did not load, and pages of `need_figures` without any image that did"
    res = [f'{p}: image {i["src"]!r} did not load' for p, d in pages.items() for i in d['imgs'] if not i['w']]
    return res + [f'{p}: no figure (no <img> that loaded)' if p in pages else f'{p}: no such page'
                  for p in need_figures if not any(i['w'] for i in pages.get(p, {}).get('imgs', []))]


def text_problems(pages, most=4):
    "Visible lines that look like a traceback, an exception, a warning, a progress bar or a path of the machine"
    res = []
    for p, d in pages.items():
        for what, rx in BAD_TEXT:
            hits = [l.strip()[:110] for l in d['text'].splitlines()
                    if rx.search(l) and not any(p == a and re.search(r, l) for a, r in ALLOW)]
            res += [f'{p}: {what}: {h!r}' for h in hits[:most]]
            if len(hits) > most: res.append(f'{p}: {what}: ... and {len(hits) - most} more lines')
    return res


def resolve(target, pages, base='index.html'):
    "Why `target` (a link made on page `base`) does not resolve to a built page and anchor; None when it does"
    if target.startswith(SITE): target, base = target[len(SITE):] or 'index.html', 'index.html'  # from the site's root
    elif urlsplit(target).scheme: return None  # another site: not ours to check
    url = urlsplit(urljoin(base, target))
    name, anchor = url.path.lstrip('/') or base, unquote(url.fragment)
    if not name.endswith('.html'): return None
    if name not in pages: return f'{name}: no such page'
    if anchor and anchor not in pages[name]['ids']: return f'{name}#{anchor}: no such anchor'


def link_problems(pages):
    "Links between pages that lead nowhere, each with the pages it is on"
    bad = {}
    for p, d in pages.items():
        for href in d['links']:
            if (why := resolve(href, pages, p)): bad.setdefault(why, []).append(p)
    where = lambda ps: 'every page' if len(set(ps)) == len(pages) > 1 else ', '.join(sorted(set(ps)))
    return [f'{why} (linked from {where(ps)})' for why, ps in sorted(bad.items())]


def readme_problems(pages, readme):
    "README links to the docs site, or to notebooks in nbs/, that lead nowhere"
    text = readme.read_text()
    res = [f'{u}: {why}' for u in sorted(set(re.findall(re.escape(SITE) + r'[^\s)"\'<>\]]*', text)))
           if (why := resolve(u, pages))]
    return res + [f'{u}: no such file' for u in sorted(set(re.findall(r'(?<![\w/])nbs/[\w./-]*\.ipynb', text)))
                  if not (readme.parent/u).exists()]


# ---- the tests

def test_notebooks_process(build):
    "nbdev processes every notebook for the docs: no cell fails, no import cell mixed with other code"
    out, res = build
    if res.returncode: pytest.fail(f'scripts/build_docs_preview.py failed:\n{res.stderr[-20000:]}', pytrace=False)


def test_every_notebook_has_a_page(build):
    "Each notebook gives a page; the sidebar lists only notebooks that exist, and lists them all"
    built, side = built_pages(build[0]), sidebar_sections()
    listed = [nb for nbs in side.values() for nb in nbs]
    res = [f'{nb}: no page {page_name(nb)}' for nb in notebooks() if page_name(nb) not in built]
    res += [f'sidebar.yml lists {nb}, which is not in nbs/' for nb in listed if not (NBS/nb).exists()]
    res += [f'{nb} is in no section of sidebar.yml' for nb in notebooks() if nb not in listed]
    report(res, 'problems with the pages')


def test_titles(pages):
    report(title_problems(pages, {page_name(nb): nb_title(NBS/nb) for nb in notebooks()}), 'pages with a bad title')


def test_figures(pages):
    "Every lesson and experiment shows at least one figure, and every image loads"
    side = sidebar_sections()
    need = [page_name(nb) for nb in side.get('Lessons', []) + side.get('Experiments', [])]
    report(image_problems(pages, need), 'image problems')


def test_no_tracebacks_warnings_progress_bars_or_paths(pages):
    report(text_problems(pages), 'bad lines on the pages')


def test_links_between_pages(pages):
    report(link_problems(pages), 'broken links')


def test_readme_links(pages):
    report(readme_problems(pages, ROOT/'README.md'), 'broken links in README.md')


def test_navbar_links(build):
    "The site's top bar (nbs/_quarto.yml) links to pages the build makes"
    hrefs = re.findall(r'^\s*href:\s*(\S+)', (NBS/'_quarto.yml').read_text(), re.M)
    built = built_pages(build[0])
    assert hrefs, 'no navbar links found in nbs/_quarto.yml'
    report([f'{h}: no such page' for h in hrefs if h not in built], 'broken navbar links')


def test_checks_catch_a_bad_page(tmp_path):
    "The checks above flag what they should, on two pages made to be bad"
    img = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
    (tmp_path/'good.html').write_text(f'<title>Good</title><h1 id="top">Good</h1><img src="{img}">'
                                      '<a href="bad.html#here">ok</a><a href="https://example.com/x">ok</a>'
                                      '<pre>try: load()\nexcept OSError: pass</pre>')
    (tmp_path/'bad.html').write_text(
        '<title></title><h1>Wrong</h1><img src="missing.png"><p id="here">'
        '<a href="gone.html">1</a><a href="good.html#nowhere">2</a><a href="' + SITE + 'good.html#top">ok</a></p>'
        '<pre>Traceback (most recent call last):\nNameError: name \'x\' is not defined\n'
        '/opt/x.py:3: UserWarning: careful\n 50%|█████     | 1/2\nEpoch 1/34\nsaved to /tmp/abc\n'
        'weights not downloaded (URLError: no network)</pre>'
        '<pre style="display:none">Traceback (most recent call last): hidden, so not seen</pre>')
    pages = read_pages(tmp_path)
    assert title_problems(pages, {'good.html': 'Good', 'bad.html': 'Bad'}) == [
        'bad.html: empty <title>', "bad.html: <h1> is ['Wrong'], expected ['Bad']"]
    assert image_problems(pages, ['good.html', 'bad.html', 'none.html']) == [
        "bad.html: image 'missing.png' did not load", 'bad.html: no figure (no <img> that loaded)',
        'none.html: no such page']
    assert all(l.startswith('bad.html: ') for l in text_problems(pages)), text_problems(pages)
    found = {l.split(': ')[1] for l in text_problems(pages)}
    assert found == {'traceback', 'exception', 'warning', 'progress bar', 'machine path'}, found
    assert len(text_problems(pages)) == 7  # the progress bar twice (█, Epoch), the exception twice; no hidden line
    assert link_problems(pages) == ['gone.html: no such page (linked from bad.html)',
                                    'good.html#nowhere: no such anchor (linked from bad.html)']
    readme = tmp_path/'README.md'
    readme.write_text(f'[a]({SITE}good.html#top) [b]({SITE}bad.html#gone) [c]({SITE}) [d](nbs/00_nothing.ipynb)'
                      f' [e](nbs/00_data.ipynb) [f]({SITE}index.html)')
    (tmp_path/'nbs').mkdir(); (tmp_path/'nbs/00_data.ipynb').write_text('{}')
    assert readme_problems(pages, readme) == [f'{SITE}: index.html: no such page', f'{SITE}bad.html#gone: bad.html#gone: no such anchor',
                                              f'{SITE}index.html: index.html: no such page', 'nbs/00_nothing.ipynb: no such file']


# what each lesson teaches must be on its page as code, not only as a signature: {page: [strings in its <code>]}
TAUGHT = {
    'scratch_cnn.html': ['nn.MaxPool2d(2)', 'ConvLayer(', 'nn.Linear(', 'fit_one_cycle('],
    'augmentation.html': ['aug_transforms(do_flip=True', 'fer_augmentations()'],
    'transfer.html': ['vision_learner(dls, mobilenet_v2', '.fine_tune(', 'learn.freeze()', 'learn.unfreeze()',
                      'slice(lr/2/lr_mult, lr/2)', "model_meta[mobilenet_v2]"],
    'data.html': ['def load_fer(', 'DataBlock(blocks=(ImageBlock(', 'def fer_dataloaders('],
    'evaluation.html': ['def tta_batch(', 'def predict_views(', 'def evaluate_model('],
    'interpret.html': ['def cam_maps(', 'def gradcam('],
    'inference.html': ['class Predictor:', 'def classify(self, faces)', 'def predict(self:Predictor'],
    'video.html': ['class FaceTracker:', 'def analyse_video(', 'class LiveFaces:'],
    'app.html': ['class EmotionApp:', 'gr.Blocks(title='],
}


def code_problems(folder, taught):
    "Strings that a page's code blocks should show and do not"
    from html import unescape
    res = []
    for page, needles in taught.items():
        f = Path(folder)/page
        if not f.exists(): res.append(f'{page}: no such page'); continue
        code = unescape(re.sub(r'<[^>]+>', '', ' '.join(re.findall(r'<code[^>]*>(.*?)</code>', f.read_text(), re.S))))
        res += [f'{page}: its code does not show {n!r}' for n in needles if n not in code]
    return res


def test_lessons_show_the_code_they_teach(build):
    report(code_problems(build[0], TAUGHT), 'lessons that hide what they teach')


def test_code_check_catches_a_hidden_layer(tmp_path):
    (tmp_path/'a.html').write_text('<pre><code>x = <span>nn.MaxPool2d</span>(2)</code></pre><p>nn.Linear(</p>')
    assert code_problems(tmp_path, {'a.html': ['nn.MaxPool2d(2)', 'nn.Linear('], 'b.html': []}) == [
        "a.html: its code does not show 'nn.Linear('", 'b.html: no such page']


def length_problems(pages, exempt, known_long):
    "Pages longer than MAX_SCREENS that are not `exempt`, and pages of `known_long` that are no longer long"
    screens = {p: d['height'] / SCREEN['height'] for p, d in pages.items()}
    res = [f'{p}: {n:.1f} screens at 1280×900 (at most {MAX_SCREENS})' for p, n in sorted(screens.items())
           if n > MAX_SCREENS + 0.5 and p not in exempt | known_long]
    return res + [f'{p}: {screens[p]:.1f} screens now: take it off LONG_PAGES' for p in sorted(known_long)
                  if p in screens and screens[p] <= MAX_SCREENS + 0.5]


def test_page_lengths(pages):
    "A page is read in one sitting: at most about ten screens, but for the experiments pages"
    exempt = {page_name(nb) for nb in sidebar_sections().get('Experiments', [])}
    report(length_problems(pages, exempt, LONG_PAGES), 'pages of the wrong length')


def test_length_check_catches_a_long_page():
    pages = {'a.html': {'height': 20*900}, 'b.html': {'height': 2*900}, 'c.html': {'height': 30*900}, 'd.html': {'height': 900}}
    assert length_problems(pages, {'c.html'}, {'d.html'}) == ['a.html: 20.0 screens at 1280×900 (at most 10)',
                                                              'd.html: 1.0 screens now: take it off LONG_PAGES']
