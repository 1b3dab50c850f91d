"""The demo app as users meet it: `python app/app.py` served on a loopback port, driven with gradio_client and a
real browser (Playwright + Debian's Chromium). The server always dies with the module, pass or fail."""
import os, subprocess, sys
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from emotion_fastai.inference import DEFAULT_MODEL
from helpers import free_port as _free_port, wait_until_up as _wait_until_up

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT/'app'/'examples'
CHROMIUM = '/usr/bin/chromium'
CLASSES = {'angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise'}



@pytest.fixture(scope='module')
def server(tmp_path_factory):
    port, log = _free_port(), tmp_path_factory.mktemp('server')/'server.log'
    env = {**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False', 'PYTHONUNBUFFERED': '1'}
    with open(log, 'w') as f:
        proc = subprocess.Popen([sys.executable, str(ROOT/'app'/'app.py'), '--host', '127.0.0.1', '--port', str(port)],
                                stdout=f, stderr=subprocess.STDOUT, env=env, cwd=tmp_path_factory.mktemp('cwd'))
    url = f'http://127.0.0.1:{port}/'
    try:
        if not _wait_until_up(url, proc): pytest.fail(f'the app did not start:\n{log.read_text()[-3000:]}')
        yield url
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait(10)

@pytest.fixture(scope='module')
def client(server):
    from gradio_client import Client
    return Client(server, verbose=False)

def _predict(client, path, face=0, whole_image=False, show_cam=False, timeout=60):
    from gradio_client import handle_file
    job = client.submit(handle_file(str(path)), DEFAULT_MODEL, face, whole_image, show_cam, api_name='/predict')
    annotated, label, _, _, status, details = job.result(timeout=timeout)
    return annotated, label, status, details

def test_api_has_three_endpoints(client):
    assert set(client.view_api(return_format='dict', print_info=False)['named_endpoints']) == {'/predict', '/video', '/hear'}


def test_hear_endpoint(client, tmp_path):
    "A sound file through the API: the voice's emotions, a row per two seconds; a clip too short gets one sentence"
    import numpy as np
    from gradio_client import handle_file
    from emotion_fastai.audio import write_audio
    from emotion_fastai.voice import synth_voice
    write_audio(tmp_path/'said.wav', np.concatenate([synth_voice('happy'), synth_voice('sad')]), 16000)
    probs, windows, status = client.predict(handle_file(str(tmp_path/'said.wav')), api_name='/hear')
    assert status.startswith('The voice sounds') and len(probs['confidences']) == 7 and len(windows['data']) == 2  # 4.2 s: two whole windows
    write_audio(tmp_path/'blip.wav', synth_voice('happy')[:4000], 16000)
    probs, _, status = client.predict(handle_file(str(tmp_path/'blip.wav')), api_name='/hear')
    assert not probs and status.startswith('**Error:**') and 'blip.wav' in status and '0.5 s' in status, status


def test_video_endpoint(client, tmp_path):
    "A clip made from the example photograph: the annotated video, the timeline, a summary and the CSV come back"
    import numpy as np, pandas as pd
    from PIL import Image
    from gradio_client import handle_file
    from emotion_fastai.video import write_video
    face = np.asarray(Image.open(EXAMPLES/'astronaut.png').convert('RGB').resize((256, 256)))
    clip = write_video([face] * 12, tmp_path/'smile.avi', fps=10)
    video, timeline, summary, table, status = client.predict(handle_file(str(clip)), DEFAULT_MODEL, 5,
                                                             api_name='/video')
    video = video['video'] if isinstance(video, dict) else video
    assert Path(video).suffix == '.webm' and Path(video).stat().st_size > 0
    assert Path(timeline).suffix == '.png' and Path(table).suffix == '.csv'
    rows = pd.read_csv(table)
    assert len(rows) == 6 and set(rows.label) == {'happy'}  # 12 frames at 10 fps, analysed at 5 a second
    assert summary['data'][0][4] == 'happy' and '1 face(s)' in status
    (tmp_path/'notes.avi').write_text('not a video')
    *_, status = client.predict(handle_file(str(tmp_path/'notes.avi')), DEFAULT_MODEL, 5,
                                api_name='/video')
    assert 'is not a readable video' in status

def test_video_endpoint_photo_and_no_face(client, tmp_path):
    "A photo sent as a clip: one sentence and no files (not paths the page cannot fetch); a clip without a face: the CSV's header"
    import numpy as np
    from PIL import Image
    from gradio_client import handle_file
    from emotion_fastai.video import write_video
    Image.open(EXAMPLES/'astronaut.png').convert('RGB').save(tmp_path/'me.jpg')
    video, timeline, summary, table, status = client.predict(handle_file(str(tmp_path/'me.jpg')), DEFAULT_MODEL, 5, api_name='/video')
    assert (video, timeline, table) == (None, None, None)
    assert status.startswith('**Error:** me.jpg is a still image') and status.count('.') <= 3, status
    clip = write_video([np.full((120, 160, 3), 128, np.uint8)] * 5, tmp_path/'gray.avi', fps=10)
    video, timeline, summary, table, status = client.predict(handle_file(str(clip)), DEFAULT_MODEL, 5, api_name='/video')
    assert 'No face found' in status and summary['data'] == []
    header = Path(table).read_text().splitlines()
    assert len(header) == 1 and header[0].startswith('time_s,frame,face_id,') and header[0].endswith(',surprise')
    assert Path(timeline).stat().st_size > 0

def test_upload_limit(server, tmp_path):
    "An upload over the demo's limit is refused as it arrives (413); the page's own check is in `test_browser`"
    import httpx
    from emotion_fastai.app import MAX_VIDEO_MB
    with open(tmp_path/'big.mp4', 'wb') as f: f.truncate(MAX_VIDEO_MB * 2**20 + 1)
    with open(tmp_path/'big.mp4', 'rb') as f: r = httpx.post(server + 'gradio_api/upload', files={'files': f}, timeout=60)
    assert r.status_code == 413, (r.status_code, r.text[:300])

def test_astronaut(client):
    annotated, label, status, details = _predict(client, EXAMPLES/'astronaut.png')
    assert len(details['faces']) == 1 and details['error'] is None
    assert label['label'] in CLASSES and label['label'] == 'happy'
    assert abs(sum(c['confidence'] for c in label['confidences']) - 1) < 1e-3
    assert {c['label'] for c in label['confidences']} == CLASSES
    assert annotated and Path(annotated).is_file() and '1 face found by' in status
    if os.environ.get('EMOTION_FASTAI_YUNET'): assert '1 face found by YuNet' in status  # the page names the detector

def test_two_faces_selector(client):
    _, label, status, details = _predict(client, EXAMPLES/'two_faces.png', face=1)
    assert len(details['faces']) == 2 and details['selected'] == 1 and 'face 2' in status
    assert label['label'] == details['faces'][1]['label']

def test_non_image_is_an_error_message(client, tmp_path):
    (tmp_path/'notes.txt').write_text('this is not an image')
    annotated, label, status, details = _predict(client, tmp_path/'notes.txt')
    assert 'not a readable image' in status and 'notes.txt' in details['error']
    assert annotated is None and not details['faces']
    assert _predict(client, EXAMPLES/'astronaut.png')[3]['faces']  # the server is fine afterwards

def test_no_face(client):
    _, _, status, details = _predict(client, EXAMPLES/'no_face.png')
    assert details['faces'] == [] and 'No face found' in status
    assert len(_predict(client, EXAMPLES/'no_face.png', whole_image=True)[3]['faces']) == 1

def test_concurrent_requests(client):
    with ThreadPoolExecutor(max_workers=20) as ex:
        results = list(ex.map(lambda _: _predict(client, EXAMPLES/'astronaut.png', timeout=90), range(20)))
    assert [r[1]['label'] for r in results] == ['happy'] * 20
    from PIL import Image
    for annotated, *_ in results:  # each picture arrived whole (identical outputs must not clobber each other)
        with Image.open(annotated) as im: im.load(); assert im.size == (512, 512)

@contextmanager
def _page(server, *flags):
    "A page of the app at `server` in headless Chromium (with `flags`), closed after the block"
    if not Path(CHROMIUM).exists(): pytest.skip(f'{CHROMIUM} is missing (apt-get install chromium)')
    sync_api = pytest.importorskip('playwright.sync_api')
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--headless', '--disable-gpu', *flags])
        try:
            page = browser.new_page(viewport={'width': 1280, 'height': 1000})
            page.set_default_timeout(60_000)
            page.goto(server)
            yield page
        finally: browser.close()

def test_browser(server, tmp_path):
    artifacts = ROOT/'tests'/'artifacts'; artifacts.mkdir(exist_ok=True)
    with _page(server, '--disable-background-networking', '--disable-component-update', '--disable-sync') as page:
        page.locator('#photo input[type=file]').set_input_files(str(EXAMPLES/'astronaut.png'))
        page.locator('#analyze').click()
        page.locator('#status').get_by_text('1 face found by').wait_for()
        text = page.locator('#emotion').inner_text()
        page.screenshot(path=str(artifacts/'app_astronaut.png'), full_page=True)
        page.get_by_role('tab', name='Video').click()  # the photo's result leaves with the Photo tab
        page.wait_for_function("!document.querySelector('#status').innerText.trim()")
        left = page.locator('#emotion').inner_text()
        big = tmp_path/'big.mp4'
        with open(big, 'wb') as f: f.truncate(51 * 2**20)
        page.locator('#clip input[type=file]').set_input_files(str(big))
        page.get_by_text('exceed the maximum allowed size').first.wait_for()  # refused by the page, before any upload
        page.screenshot(path=str(artifacts/'app_video_tab.png'), full_page=True)
        page.get_by_role('tab', name='Photo').click()  # and comes back with it
        page.locator('#status').get_by_text('1 face found by').wait_for()
    assert 'happy' in text.lower() and 'happy' not in left.lower()

def _y4m(path, frames):
    "Write RGB `frames` as a Y4M video (I420), the format Chromium's fake camera plays"
    import cv2
    h, w = frames[0].shape[:2]
    with open(path, 'wb') as f:
        f.write(f'YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n'.encode())
        for im in frames: f.write(b'FRAME\n' + cv2.cvtColor(im, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path

def test_browser_webcam(server, tmp_path):
    "The live webcam tab with Chromium's fake camera playing a face: the stream is classified, box and emotion shown"
    import cv2, numpy as np
    from PIL import Image
    face = np.asarray(Image.open(EXAMPLES/'astronaut.png').convert('RGB'))[20:240, 150:370]
    frames = []
    for i in range(20):  # her face drifting across a gray 640×480 frame
        im = np.full((480, 640, 3), 90, np.uint8)
        im[120:340, 150 + 5*i:370 + 5*i] = face
        frames.append(im)
    cam = _y4m(tmp_path/'face.y4m', frames)
    with _page(server, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
               f'--use-file-for-fake-video-capture={cam}') as page:
        page.get_by_role('tab', name='Webcam (live)').click()
        page.locator('#webcam').get_by_text('Click to Access Webcam').click()
        page.locator('#webcam').get_by_text('Record').click()  # the button's label is 'capture photo', its text Record
        page.locator('#emotion').get_by_text('happy').first.wait_for()
        page.screenshot(path=str(ROOT/'tests'/'artifacts'/'app_webcam.png'), full_page=True)

def test_browser_voice(server, tmp_path):
    "The Voice tab with Chromium's fake microphone playing a recorded (synthesized) voice: the recording is heard and classified"
    import numpy as np
    from emotion_fastai.audio import write_audio
    from emotion_fastai.voice import synth_voice
    said = np.concatenate([synth_voice('angry'), synth_voice('sad'), synth_voice('happy')])
    mic = write_audio(tmp_path/'said.wav', said, 16000)
    with _page(server, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
               f'--use-file-for-fake-audio-capture={mic}') as page:
        page.get_by_role('tab', name='Voice').click()
        page.locator('#sound').get_by_role('button', name='Record', exact=False).first.click()
        page.wait_for_timeout(3000)  # three seconds of the voice
        page.locator('#sound').get_by_role('button', name='Stop', exact=False).first.click()
        page.locator('#voice-status').get_by_text('The voice sounds').wait_for()
        text = page.locator('#voice-emotion').inner_text()
        page.screenshot(path=str(ROOT/'tests'/'artifacts'/'app_voice.png'), full_page=True)
    assert any(c in text.lower() for c in ('angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise')), text
