#!/usr/bin/env python
"""Build a static HTML preview of the docs site without Quarto: `python scripts/build_docs_preview.py [--out _preview]`.

Step 1 processes the notebooks as `nbdev-proc-nbs` does (nbdev's `_pre_docs`, less its Quarto install and with the
committed `nbs/sidebar.yml` left alone) into `_proc/`. Step 2 turns each processed notebook into `<out>/<page>.html`
with pandoc, under the page name Quarto gives it, with the sidebar of `nbs/sidebar.yml` on every page.
The site for readers stays Quarto's (`nbdev-docs`); this preview is what `tests/test_docs.py` checks.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time, warnings
from html import escape
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MARK = '.docs_preview'  # marks a folder this script built, and so may delete
IMPORT_WARNING = 'Found cells containing imports and other code'
TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>$pagetitle$</title>
<style>
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #222; }
nav.sidebar { position: fixed; top: 0; bottom: 0; left: 0; width: 15rem; overflow-y: auto; padding: 1rem;
  background: #f6f7f9; border-right: 1px solid #ddd; font-size: 0.9rem; box-sizing: border-box; }
nav.sidebar ul { list-style: none; padding-left: 0.6rem; margin: 0.2rem 0 0.8rem; }
nav.sidebar a { text-decoration: none; } nav.sidebar a.active { font-weight: bold; }
main { margin-left: 15rem; padding: 1rem 2.5rem; max-width: 60rem; }
pre { background: #f4f4f4; padding: 0.6rem; overflow-x: auto; } img { max-width: 100%; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.2rem 0.5rem; }
$highlighting-css$
</style>
<link rel="stylesheet" href="$root$styles.css">
</head><body>
<nav class="sidebar">$sidebar$</nav>
<main><header><h1 class="title">$title$</h1>$if(description)$<p class="description">$description$</p>$endif$</header>
$body$
</main></body></html>
"""


def _indent(s): return s.replace('\n', '\n    ')


def process_notebooks(force=True):
    "nbdev's `_pre_docs` without `_ensure_quarto` or `nbdev_sidebar`, serially in this process to catch its warnings"
    os.environ.setdefault('OMP_NUM_THREADS', '1')  # notebooks' import cells may import torch
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))  # the notebooks import emotion_fastai: this checkout's, installed or not
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml
    from nbdev.serve import proc_nbs
    import nbdev.doclinks, nbdev.serve_drv
    cfg = get_config()
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    problems, drv = [], nbdev.serve_drv.main

    def _proc_one(o):  # nbdev's worker, noting which notebook failed or warned, and going on with the others
        src, dst, _ = o
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            try: drv(o)
            except Exception as e:
                Path(dst).unlink(missing_ok=True)
                problems.append(f'{src.name}: {_indent(str(e))}')
        problems.extend(f'{src.name}: a cell has imports and other code; nbdev runs it for the docs (give the imports a '
                        f'cell of their own):\n    {_indent(str(w.message).split("---")[1].strip())}'
                        for w in caught if IMPORT_WARNING in str(w.message))

    nbdev.serve_drv.main = _proc_one
    try: cache = proc_nbs(cfg.nbs_path, n_workers=0, force=force)  # n_workers=0: serial, in this process
    finally: nbdev.serve_drv.main = drv
    return Path(cache), problems


def split_front_matter(nb):
    "Remove the raw `---` cell nbdev puts first and return its YAML as a dict"
    cells = nb['cells']
    m = cells and cells[0]['cell_type'] == 'raw' and re.match(r'\s*---\s*\n(.*?)\n---\s*$', ''.join(cells[0]['source']), re.S)
    if not m: return {}
    cells.pop(0)
    return yaml.safe_load(m.group(1)) or {}


def cell_options(src):
    "Quarto's `#| key: value` options at the top of a code cell, and the source without them"
    lines, opts = src.splitlines(), {}
    n = next((i for i, l in enumerate(lines) if not l.startswith('#|')), len(lines))
    for l in lines[:n]:
        k, colon, v = l[2:].partition(':')
        try: opts[k.strip()] = yaml.safe_load(v) if colon else True
        except yaml.YAMLError: opts[k.strip()] = v.strip()
    return opts, '\n'.join(lines[n:])


def _text(o):
    "An output's markdown, or its text when it is a stream; None for other outputs"
    t = o.get('data', {}).get('text/markdown', o.get('text') if o['output_type'] == 'stream' else None)
    return None if t is None else ''.join(t)


def quarto_cells(nb):
    "Apply the cell options Quarto honours when rendering without executing: include, echo, output, warning"
    cells = []
    for c in nb['cells']:
        if c['cell_type'] != 'code': cells.append(c); continue
        opts, c['source'] = cell_options(''.join(c['source']))
        c['metadata'], outs = {}, c['outputs']
        if opts.get('include') is False or opts.get('output') is False: outs = []
        if opts.get('warning') is False: outs = [o for o in outs if o.get('name') != 'stderr']
        for o in outs:  # pandoc 2.17 rejects the `null` count nbdev leaves on results it computed
            if o['output_type'] == 'execute_result' and o.get('execution_count') is None: o['execution_count'] = 0
        if opts.get('echo') is False or opts.get('include') is False: c['source'] = ''
        md = [t for t in map(_text, outs) if t is not None] if opts.get('output') == 'asis' else []
        c['outputs'] = [o for o in outs if _text(o) is None] if md else outs
        if c['source'].strip() or c['outputs']: cells.append(c)
        if md: cells.append({'cell_type': 'markdown', 'metadata': {}, 'source': '\n\n'.join(md)})  # show_doc's
    nb['cells'] = cells


def page_of(nb_name, fm=None):
    "The page Quarto makes of a notebook (a path relative to nbs/): the `output-file` nbdev puts in the front matter of one with a title, else its name, in the notebook's folder"
    from nbdev.config import nbpath2html
    if fm is None: return nbpath2html(nb_name).as_posix()  # not processed: the page nbdev will name (`00_data` -> `data.html`)
    return (Path(nb_name).parent/(fm.get('output-file') or Path(nb_name).with_suffix('.html').name)).as_posix()


def rel(page, current):
    "The link from page `current` to page `page` (both relative to the site's root)"
    return os.path.relpath(page, os.path.dirname(current) or '.').replace(os.sep, '/')


def sidebar_html(entries, pages, current):
    "Nested <ul> for the `contents` of sidebar.yml; notebooks link to their pages, titled"
    items = []
    for e in entries:
        if isinstance(e, dict) and 'section' in e:
            items.append(f'<li><strong>{escape(e["section"])}</strong>{sidebar_html(e.get("contents", []), pages, current)}</li>')
            continue
        name = e.get('href', '') if isinstance(e, dict) else e
        page, title = pages.get(name, (page_of(name), Path(name).stem))
        if isinstance(e, dict) and e.get('text'): title = e['text']
        active = ' class="active"' if page == current else ''
        items.append(f'<li><a href="{escape(rel(page, current))}"{active}>{escape(str(title))}</a></li>')
    return '<ul>' + ''.join(items) + '</ul>'


def fix_links(html, pages, nb):
    "Point relative links to notebooks at their pages, as Quarto does (`nb`: the notebook of the page, relative to nbs/)"
    def _sub(m):
        name = os.path.normpath(os.path.join(os.path.dirname(nb), m.group(2))).replace(os.sep, '/')
        page = pages[name][0] if name in pages else page_of(name)
        return m.group(1) + rel(page, nb) + (m.group(3) or '') + '"'
    html = re.sub(r'(href=")(?![a-z]+:)([^"#]*\.ipynb)(#[^"]*)?"', _sub, html)
    return re.sub(r'<div class="sourceCode"[^>]*><pre[^>]*><code[^>]*></code></pre></div>\n?', '', html)  # echo: false


def build_page(src, name, fm, pages, sidebar, out):
    "Convert one processed notebook (`name`, relative to nbs/) to `out/<page>`"
    page, title = pages[name]
    nb = json.loads(src.read_text())
    split_front_matter(nb)
    quarto_cells(nb)
    meta = {'title': title, **({'description': fm['description']} if fm.get('description') else {})}
    with tempfile.TemporaryDirectory() as tmp:
        (tpl := Path(tmp)/'page.html').write_text(TEMPLATE)
        (inp := Path(tmp)/src.name).write_text(json.dumps(nb))
        (mf := Path(tmp)/'meta.yml').write_text(yaml.safe_dump(meta))  # read as markdown, as Quarto does
        cmd = ['pandoc', '-f', 'ipynb', '-t', 'html5', '--standalone', '--wrap=none', '--section-divs',
               f'--template={tpl}', f'--metadata-file={mf}', f'--extract-media={Path(page).stem}_files',
               '-V', f'sidebar={sidebar_html(sidebar, pages, page)}', '-V', f'root={rel(".", page)}/', str(inp)]
        (out/page).parent.mkdir(parents=True, exist_ok=True)
        res = subprocess.run(cmd, cwd=(out/page).parent, capture_output=True, text=True)
    if res.returncode: raise RuntimeError(f'pandoc failed on {name}:\n{res.stderr}')
    (out/page).write_text(fix_links(res.stdout, pages, name))
    return page


def build_site(cache, out):
    "Build every page in `cache` into `out`; return {notebook: (page, title)}"
    if out.exists() and any(out.iterdir()) and not (out/MARK).exists():
        sys.exit(f'{out} holds files that are not a preview: give --out an empty or new folder')
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    (out/MARK).write_text('built by scripts/build_docs_preview.py: the whole folder is replaced at each build\n')
    nbs = {p.relative_to(cache).as_posix(): p for p in sorted(cache.rglob('*.ipynb'))}
    fms = {n: split_front_matter(json.loads(p.read_text())) for n, p in nbs.items()}
    pages = {n: (page_of(n, fms[n]), fms[n].get('title', Path(n).stem)) for n in nbs}
    sidebar = yaml.safe_load((cache/'sidebar.yml').read_text())['website']['sidebar']['contents']
    for f in cache.rglob('*'):  # styles.css, pictures the notebooks link to
        if f.is_file() and f.suffix not in ('.ipynb', '.yml'):
            (dst := out/f.relative_to(cache)).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, dst)
    failed = []
    for n, p in nbs.items():
        try: print(f'{n} -> {build_page(p, n, fms[n], pages, sidebar, out)}: {pages[n][1]}')
        except Exception as e: failed.append(n); print(f'{n}: FAILED {e}', file=sys.stderr)
    missing = [e for e in re.findall(r'[\w./-]+\.ipynb', (cache/'sidebar.yml').read_text()) if e not in pages]
    if missing: print(f'warning: sidebar.yml lists notebooks that have no page: {", ".join(missing)}', file=sys.stderr)
    if failed: sys.exit(f'{len(failed)} page(s) failed: {", ".join(failed)}')
    return pages


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='_preview', help='folder for the HTML pages (default: _preview)')
    ap.add_argument('--keep-going', action='store_true',
                    help='build the pages of the notebooks that processed even when others failed (still exits 1)')
    ap.add_argument('--no-force', action='store_true', help="reuse nbdev's cache in _proc/ for unchanged notebooks "
                    '(faster, but then warnings about those notebooks are not seen)')
    args = ap.parse_args(argv)
    if shutil.which('pandoc') is None: sys.exit('pandoc is not installed (apt-get install pandoc)')
    t0, out = time.time(), Path(args.out).resolve()
    cache, problems = process_notebooks(force=not args.no_force)
    report = 'Processing the notebooks for the docs failed:\n\n' + '\n\n'.join(problems)
    if problems and not args.keep_going: sys.exit(report)
    print(f'processed the notebooks into {cache.relative_to(ROOT)}/ in {time.time()-t0:.0f}s')
    pages = build_site(cache, out)
    print(f'built {len(pages)} pages into {args.out}/ in {time.time()-t0:.0f}s')
    if problems: sys.exit(report)


if __name__ == '__main__': main()
