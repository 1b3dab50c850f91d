"What the committed notebooks show a reader: clean outputs, no FER2013 pixels, a reading order, an end to each lesson"
import ast, json, re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)
def name(nb): return nb.relative_to(ROOT/'nbs').as_posix()
SIDEBAR = (ROOT/'nbs'/'sidebar.yml').read_text()
LESSONS = re.findall(r'^\s+- (\S+\.ipynb)$', SIDEBAR.split('section: Lessons')[1].split('section:')[0], re.M)
MAX_KB = 500
BAD_OUTPUT = {
    'a progress bar': re.compile(r'█|<progress|\d+%\|'),
    'a traceback or error': re.compile(r'Traceback \(most recent call last\)|^\w+Error: ', re.M),
    'a warning': re.compile(r'\w+Warning\b'),
    'a path of the machine that built it': re.compile(r'/(?:root|tmp|work|home)/|site-packages'),
}


def cells(nb): return json.loads(nb.read_text())['cells']
def source(c): return ''.join(c['source'])
def directives(c): return dict(re.findall(r'^#\|\s*([\w-]+)\s*:?\s*(.*)$', source(c), re.M))


def output_text(o):
    if o['output_type'] == 'stream': return ''.join(o['text'])
    if o['output_type'] == 'error': return '\n'.join(o.get('traceback', []))
    return '\n'.join(''.join(v) for k, v in o.get('data', {}).items() if k.startswith('text'))


@pytest.mark.parametrize('nb', NBS, ids=name)
def test_outputs_are_clean(nb):
    "No output shows a progress bar, a traceback, a warning or a path of the machine that saved it; no stderr at all"
    bad = [f'cell {i}: {what}' for i, c in enumerate(cells(nb)) for o in c.get('outputs', [])
           for what, pat in BAD_OUTPUT.items() if pat.search(output_text(o))]
    bad += [f'cell {i}: stderr output' for i, c in enumerate(cells(nb)) for o in c.get('outputs', [])
            if o.get('name') == 'stderr' or o['output_type'] == 'error']
    assert not bad, f'{nb.name}: ' + '; '.join(bad) + ' (re-save it with scripts/save_outputs.py)'


@pytest.mark.parametrize('nb', NBS, ids=name)
def test_hidden_and_reader_cells_keep_no_output(nb):
    "`#| hide` (tests) and `#| output: false` (the reader's own run: FER2013 faces, training) keep no saved output"
    bad = [i for i, c in enumerate(cells(nb)) if c.get('outputs')
           and ('hide' in directives(c) or directives(c).get('output') == 'false')]
    assert not bad, f'{nb.name}: cells {bad} are hidden or `output: false` but hold outputs'


@pytest.mark.parametrize('nb', NBS, ids=name)
def test_data_drawing_cells_show_nothing(nb):
    "A cell that draws the data set (FER2013 faces) must be `#| output: false`: its pixels never enter the repository"
    bad = [i for i, c in enumerate(cells(nb)) if re.search(r'show_batch|plot_top_losses|show_results', source(c))
           and c['cell_type'] == 'code' and directives(c).get('output') != 'false']
    assert not bad, f'{nb.name}: cells {bad} draw data but are not `#| output: false`'


@pytest.mark.parametrize('nb', NBS, ids=name)
def test_size(nb):
    assert nb.stat().st_size < MAX_KB * 1024, f'{nb.name} is {nb.stat().st_size // 1024} KB (at most {MAX_KB} KB)'


def is_import(node): return isinstance(node, (ast.Import, ast.ImportFrom))
EXPORTS = {'export', 'exports', 'exporti', 'exec_doc'}


@pytest.mark.parametrize('nb', NBS, ids=name)
def test_imports_stand_alone(nb):
    "nbdev runs every cell holding an import anywhere (and exported cells) to build the docs: such a cell must hold only imports"
    bad = []
    for i, c in enumerate(cells(nb)):
        if c['cell_type'] != 'code' or directives(c).keys() & EXPORTS or directives(c).get('eval') == 'false': continue
        code = '\n'.join(l for l in source(c).splitlines() if not l.startswith(('%', '!')))
        try: body = ast.parse(code).body
        except SyntaxError: continue
        if any(is_import(n) for t in body for n in ast.walk(t)) and not all(map(is_import, body)): bad.append(i)
    assert not bad, f'{nb.name}: cells {bad} mix imports with other code (nbdev would run them to build the docs)'


def module_of(nb):
    m = re.search(r'^#\|\s*default_exp\s+(\S+)', ''.join(source(c) for c in cells(nb)), re.M)
    return m and m[1]


def test_reading_order():
    "A lesson imports from the library only what lessons before it export (the reference notebooks of nbs/api/ may be used anywhere)"
    lessons = [nb for nb in NBS if nb.parent == ROOT/'nbs']
    order = {module_of(nb): nb.name for nb in lessons if module_of(nb)}
    bad = []
    for nb in lessons:
        for c in cells(nb):
            for mod in re.findall(r'^\s*(?:from|import) emotion_fastai\.(\w+)', source(c), re.M):
                if mod in order and order[mod] > nb.name: bad.append(f'{nb.name} imports {mod} ({order[mod]})')
    assert not bad, '; '.join(bad)


@pytest.mark.parametrize('name', LESSONS)
def test_lessons_end_with_questions(name):
    "Each lesson ends, as fastbook's chapters do, with a questionnaire and ideas for further research"
    md = '\n'.join(source(c) for c in cells(ROOT/'nbs'/name) if c['cell_type'] == 'markdown')
    for h in ('## Questionnaire', '## Further research'): assert h in md, f'{name} lacks {h}'


def test_sidebar_lists_every_notebook():
    listed = set(re.findall(r'(\S+\.ipynb)', SIDEBAR))
    names = set(map(name, NBS))
    assert listed == names, f'in nbs/ but not in the sidebar: {sorted(names - listed)}; in the sidebar but not in nbs/: {sorted(listed - names)}'
