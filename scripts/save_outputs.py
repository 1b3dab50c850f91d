#!/usr/bin/env python
"""Run notebooks and save the outputs a reader should see.

    EMOTION_FASTAI_DATA=/path/to/fer2013.tgz python scripts/save_outputs.py nbs/01_scratch_cnn.ipynb [...]

Each notebook runs top to bottom in quick mode (the data subset `nbdev-test` uses), then its outputs are
cleaned before it is written back:

- cells marked `#| hide` or `#| output: false` keep no output: the first are tests, the second are cells whose
  output is for the reader to see on their own machine (FER2013 faces, training on the quick subset), which
  their notebook describes in prose and shows from the recorded full run instead;
- progress bars and anything written to stderr (warnings) are dropped;
- an error, a traceback or a path of this machine left in an output stops the script: fix the notebook.

FER2013 pixels never enter the repository, so a cell that draws data (`show_batch`, `plot_top_losses`...)
must be `#| output: false`; the script refuses to save an image from such a cell, unless the cell draws one of
scikit-image's public-domain photographs (`skimage.data.astronaut()` and friends).
Run `nbdev-clean` afterwards, as before every commit.
"""
import argparse, os, re, sys
from pathlib import Path

os.environ.setdefault('EMOTION_FASTAI_QUICK', '1')
for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '2')

from execnb.shell import CaptureShell, read_nb, write_nb

DRAWS_DATA = re.compile(r'show_batch|plot_top_losses|show_results|show_images|\.show\(')
PUBLIC_PHOTO = re.compile(r'skimage\.data\.')  # a cell that draws scikit-image's public-domain photographs may show them
PROGRESS = re.compile(r'<progress|█|\d+%\|')
MACHINE = re.compile(r'/(?:root|tmp|work|home)/|site-packages')


def directives(cell) -> dict:
    "The cell's `#| key: value` (or `#| flag`) lines"
    out = {}
    for line in cell.source.splitlines():
        m = re.match(r'#\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if m: out[m[1]] = m[2].strip()
    return out


def output_text(o) -> str:
    "Everything an output would show, as one string"
    if o.get('output_type') == 'stream': return ''.join(o.get('text', ''))
    if o.get('output_type') == 'error': return '\n'.join(o.get('traceback', [])) or o.get('ename', 'error')
    data = o.get('data', {})
    return '\n'.join(''.join(v) if isinstance(v, list) else str(v) for k, v in data.items() if k.startswith('text'))


def keep(o) -> bool:
    "Whether a reader should see output `o`"
    if o.get('output_type') == 'stream' and o.get('name') == 'stderr': return False
    return not PROGRESS.search(output_text(o))


def clean_outputs(nb, name):
    "Drop what a reader should not see from `nb`'s outputs; raise on what must be fixed in the notebook"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != 'code': continue
        d = directives(cell)
        if 'hide' in d or d.get('output') == 'false': cell.outputs = []; continue
        cell.outputs = [o for o in cell.get('outputs', []) if keep(o)]
        for o in cell.outputs:
            txt = output_text(o)
            if o.get('output_type') == 'error' or 'Traceback' in txt:
                raise SystemExit(f'{name}, cell {i}: an error in the output:\n{txt[-2000:]}')
            if MACHINE.search(txt):
                raise SystemExit(f'{name}, cell {i}: a path of this machine in the output: {MACHINE.search(txt)[0]!r}\n'
                                 f'{txt[:500]}')
            if 'image/png' in o.get('data', {}) and DRAWS_DATA.search(cell.source) and not PUBLIC_PHOTO.search(cell.source):
                raise SystemExit(f'{name}, cell {i}: draws the data but is not `#| output: false`')


def skip(cell) -> bool:
    "Cells that never run here: `#| eval: false`"
    return directives(cell).get('eval') == 'false'


def save(path):
    "Run notebook `path` and write it back with its cleaned outputs"
    path = Path(path).resolve()
    nb = read_nb(path)
    shell = CaptureShell(path.parent, mpl_format='png')
    here = os.getcwd()
    os.chdir(path.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(here)
    clean_outputs(nb, path.name)
    write_nb(nb, path)
    print(f'{path}: saved, {os.path.getsize(path) / 1024:.0f} KB')


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('notebooks', nargs='+', help='notebooks to run and save')
    for nb in p.parse_args().notebooks: save(nb)
