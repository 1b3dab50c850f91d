"""The emotion-fastai demo: `python app/app.py` from a checkout (after `pip install -e .`), or a Hugging Face Space.

The models (`models/`) and examples (`examples/`) are found next to this file, whatever the working directory.
The library is imported when it is installed, when it sits one folder up (a source checkout), or when the
`emotion_fastai/` folder was copied beside this file (a Space). See README.md."""
import argparse, importlib.util, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if importlib.util.find_spec('emotion_fastai') is None:  # neither installed nor copied beside this file:
    sys.path.insert(0, str(HERE.parent))                  # a source checkout, with emotion_fastai/ beside app/
from emotion_fastai.app import build_app, serve, PortError

demo = build_app(HERE/'models', HERE/'examples')

if __name__ == '__main__':
    p = argparse.ArgumentParser(description='Serve the emotion-fastai demo')
    p.add_argument('--host', default=None, help='address to listen on (default $GRADIO_SERVER_NAME, else 127.0.0.1; 0.0.0.0 for everyone)')
    p.add_argument('--port', type=int, default=None, help='port (default $GRADIO_SERVER_PORT, else 7860 or the next free one)')
    p.add_argument('--share', action='store_true', help='also make a temporary public gradio.live link')
    a = p.parse_args()
    try: serve(demo, a.host, a.port, a.share)  # the project's settings: the port, the upload limit
    except PortError as e: p.exit(2, f'{p.prog}: error: {e}\n')
