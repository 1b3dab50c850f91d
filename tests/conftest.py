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
