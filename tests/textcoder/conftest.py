"""Shared fixtures of the text-coder tests: the static coder and the small LM coder, loaded once per module."""

import os

import pytest

from host_pipeline.textcoder.coder import TextCoder
from host_pipeline.textcoder.config import TextCoderConfig

# llama.cpp's OpenMP threads busy-wait by default, which makes 2 threads crawl on shared cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="module")
def static():
    return TextCoder.load(TextCoderConfig(coder="static"))


@pytest.fixture(scope="module")
def small_lm():
    return TextCoder.load(TextCoderConfig(coder="lm", lm_model="smollm2-135m", fallback_static=False))
