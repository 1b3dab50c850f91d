"Shared pytest fixtures"
import pytest

@pytest.fixture(scope='session')
def data_source():
    "The data the tests run on: `$EMOTION_FASTAI_DATA` if set, else the synthetic fixture"
    from emotion_fastai.data import default_source
    return default_source()

@pytest.fixture(scope='session')
def fer_data(data_source):
    "The decoded data (the quick subset when `EMOTION_FASTAI_QUICK=1`)"
    from emotion_fastai.data import load_fer
    return load_fer(data_source)

@pytest.fixture
def scratch_cache(tmp_path, monkeypatch):
    "A cold cache of the test's own: the fixtures it decodes stay out of the real one"
    monkeypatch.setenv('EMOTION_FASTAI_CACHE', str(tmp_path/'cache'))

@pytest.fixture(scope='session')
def cli_cmd():
    "Build `emotion-fastai ARGS` as a command line (the installed command, else the same entry point through this Python)"
    import shutil, sys
    exe = [shutil.which('emotion-fastai')] if shutil.which('emotion-fastai') else [
        sys.executable, '-c', 'from emotion_fastai.cli import main; main()']
    return lambda *args: [*exe, *map(str, args)]
