"""Admin sign-in throttling (django-axes) and the admin's configurable address."""

import importlib

import pytest
from django.contrib.auth.models import User
from django.urls import clear_url_caches

from reaction_letters import urls as project_urls

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.fixture
def editor(settings):
    # A fast hasher for these many sign-ins; the browser test signs in with the real one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return User.objects.create_superuser("editor", "editor@example.org", PASSWORD)


def sign_in(client, password, path="/admin/login/"):
    return client.post(f"{path}?next=/admin/", {"username": "editor", "password": password})


def test_the_right_password_signs_in(client, editor):
    assert sign_in(client, PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_five_wrong_passwords_then_the_right_one_is_refused_with_the_lockout_page(
    client, editor, settings
):
    assert settings.AXES_FAILURE_LIMIT == 5
    for _ in range(4):
        assert sign_in(client, "wrong").status_code == 200  # the login form, with its error
    response = sign_in(client, "wrong")
    assert response.status_code == 429
    response = sign_in(client, PASSWORD)
    assert response.status_code == 429
    assert "Sign-in paused" in response.text
    assert "after 5 failed attempts" in response.text
    assert "for 15 minutes" in response.text
    assert client.get("/admin/").status_code == 302  # still signed out


def test_the_lockout_is_for_that_name_at_that_address_only(client, editor):
    for _ in range(5):
        sign_in(client, "wrong")
    assert (
        client.post(
            "/admin/login/?next=/admin/",
            {"username": "editor", "password": PASSWORD},
            REMOTE_ADDR="192.0.2.50",
        ).status_code
        == 302
    )


def test_fewer_failures_than_the_limit_do_not_stop_the_editor(client, editor):
    for _ in range(4):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302


@pytest.fixture
def admin_at_desk_path(settings):
    original = settings.LETTERS_ADMIN_PATH
    settings.LETTERS_ADMIN_PATH = "desk-7f3a/"
    importlib.reload(project_urls)
    clear_url_caches()
    yield
    settings.LETTERS_ADMIN_PATH = original
    importlib.reload(project_urls)
    clear_url_caches()


def test_the_admin_answers_at_a_custom_path_and_not_at_admin(client, editor, admin_at_desk_path):
    assert client.get("/admin/").status_code == 404
    page = client.get("/desk-7f3a/login/")
    assert page.status_code == 200
    assert 'action="/desk-7f3a/login/"' in page.text
    assert sign_in(client, PASSWORD, path="/desk-7f3a/login/").status_code == 302
    assert client.get("/desk-7f3a/").status_code == 200
