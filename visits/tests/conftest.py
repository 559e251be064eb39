import pytest


@pytest.fixture
def doctor_client(client, doctor_user):
    """The demo-like doctor signed in, reading pages in English."""
    client.force_login(doctor_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
