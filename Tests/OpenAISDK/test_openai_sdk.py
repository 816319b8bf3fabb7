"""The official `openai` Python SDK against the real `warden serve`, unchanged but for its base URL.

Run by `make test` through scripts/test_openai_sdk.sh, which installs the pinned SDK into .venv-openai and
passes the built binary in WARDEN_BINARY. The server serves the shipped default model with an API key.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import openai
import pytest
from openai import OpenAI

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "sdk-test-key-0123456789abcdef"
# What the shipped default model declares (its labels and the OpenAI categories they answer as), read from its
# manifest so that these tests follow the model instead of hard-coding one version's labels.
MANIFEST = json.load(open(os.path.join(REPO, "models", "minilm-moderation", "manifest.json"), encoding="utf-8"))
OPENAI_NAMES = ["harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
                "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
                "violence/graphic"]
NAME = {label: MANIFEST.get("openai_categories", {}).get(label, label) for label in MANIFEST["labels"]}
# The label for person-directed abuse: `harassment`, or its former name in a model that still uses it.
ABUSE = next(label for label in ("harassment", "toxic") if label in MANIFEST["labels"])


def field(obj, label):
    """The SDK's value for a label: its OpenAI category's attribute where it declares one, else the extra key."""
    name = NAME[label]
    if name in OPENAI_NAMES:
        return getattr(obj, name.replace("/", "_").replace("-", "_"))
    return obj.model_extra[name]


@pytest.fixture(scope="module")
def warden():
    binary = os.environ.get("WARDEN_BINARY", os.path.join(REPO, ".build", "debug", "warden"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
    process = subprocess.Popen(
        [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--model", os.path.join(REPO, "models", "minilm-moderation"),
         "--api-key", KEY, "--log-level", "warning", "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    base = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"Warden is ready on (http://127\.0\.0\.1:\d+)", line)
        if match:
            base = match.group(1)
            break
    if base is None:
        process.kill()
        pytest.fail("warden serve did not become ready: " + process.stderr.read())
    yield base
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


@pytest.fixture()
def client(warden):
    return OpenAI(base_url=warden + "/v1", api_key=KEY, max_retries=0, timeout=60)


def test_sdk_version_is_the_pinned_one():
    assert openai.__version__ == os.environ.get("OPENAI_SDK_VERSION", openai.__version__)


def test_a_string(client):
    response = client.moderations.create(input="you are a wonderful person", model="omni-moderation-latest")
    assert response.id.startswith("modr-")
    assert response.model == "minilm-moderation"  # the served model answers whatever the request names
    assert len(response.results) == 1
    result = response.results[0]
    assert result.flagged is False
    assert result.categories.hate is False
    assert 0.0 <= result.category_scores.hate < 0.5
    assert result.category_applied_input_types.hate == ["text"]


def test_a_string_array_in_order(client):
    texts = ["thanks for the invite, see you tomorrow!", "shut up you worthless idiot",
             "WINNER!! Claim your free prize now, text WIN to 80086"]
    response = client.moderations.create(input=texts)
    assert [r.flagged for r in response.results] == [False, True, True]
    scores = [r.category_scores for r in response.results]
    assert field(scores[1], ABUSE) >= MANIFEST["thresholds"][ABUSE] and field(scores[2], "spam") > 0.9
    # Labels with no OpenAI counterpart are extra keys under their own names.
    assert "spam" in scores[2].model_extra
    assert field(response.results[1].categories, ABUSE) is True
    # Categories the model does not cover are absent, never invented.
    for name in OPENAI_NAMES:
        if name not in NAME.values():
            assert getattr(response.results[1].categories, name.replace("/", "_").replace("-", "_")) is None, name


def test_content_parts_are_one_input(client):
    parts = [{"type": "text", "text": "shut up"}, {"type": "text", "text": "you worthless idiot"}]
    response = client.moderations.create(input=parts, model="omni-moderation-latest")
    assert len(response.results) == 1
    assert response.results[0].flagged is True
    assert field(response.results[0].category_applied_input_types, ABUSE) == ["text"]


def test_an_image_part_is_refused_naming_its_index(client):
    parts = [{"type": "text", "text": "look at this"}, {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]
    with pytest.raises(openai.BadRequestError) as refused:
        client.moderations.create(input=parts)
    assert refused.value.status_code == 400
    assert refused.value.code == "unsupported_input_type"
    assert refused.value.param == "input[1]"


def test_a_wrong_key_is_refused(warden):
    wrong = OpenAI(base_url=warden + "/v1", api_key="not-the-key-0123456789", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.moderations.create(input="hello")
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_api_key"


def test_more_than_256_inputs_are_refused(client):
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.moderations.create(input=[f"message {i}" for i in range(257)])
    assert refused.value.code == "too_many_inputs"
    assert refused.value.param == "input"


def test_an_empty_text_is_refused_with_its_param(client):
    with pytest.raises(openai.BadRequestError) as refused:
        client.moderations.create(input=["fine", "   "])
    assert refused.value.code == "empty_text"
    assert refused.value.param == "input[1]"


def test_models_list_the_openai_categories_covered(client):
    models = client.models.list()
    model = models.data[0]
    assert model.id == "minilm-moderation"
    covered = [name for name in OPENAI_NAMES if name in NAME.values()]
    assert model.model_extra["openai_categories"]["covered"] == covered
    assert model.model_extra["openai_categories"]["not_covered"] == [n for n in OPENAI_NAMES if n not in covered]
    assert "violence/graphic" in model.model_extra["openai_categories"]["not_covered"]
