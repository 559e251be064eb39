from __future__ import annotations

import copy
from pathlib import Path

import pytest

TEST_TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture
def test_templates(settings):
    """The tests' own message template (notifications_test/greeting.txt) can be rendered."""
    templates = copy.deepcopy(settings.TEMPLATES)
    for engine in templates:  # the pages' engine and the messages' plain-text one
        engine["DIRS"] = [*engine["DIRS"], TEST_TEMPLATES]
    settings.TEMPLATES = templates
    return "notifications_test/greeting.txt"


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
