"""Helpers for the moderation desk's tests."""

import itertools

from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.utils import timezone

from letters import roles
from letters.models import Article, Letter, ReplyTemplate, Status

_numbers = itertools.count(1)


def make_article(**overrides):
    n = next(_numbers)
    fields = {
        "headline": f"Article {n}",
        "slug": f"article-{n}",
        "body": "The article's text.",
        "published_at": timezone.now(),
    }
    fields.update(overrides)
    return Article.objects.create(**fields)


def make_letter(**overrides):
    """A letter saved directly in the given status (default: received, confirmed)."""
    n = next(_numbers)
    fields = {
        "name": f"Writer {n}",
        "email": f"writer{n}@example.com",
        "town": "Hexham",
        "body": f"Sir, letter number {n} has something to say about the article.",
        "status": Status.RECEIVED,
        "confirmed_at": timezone.now(),
    }
    fields.update(overrides)
    if "article" not in fields:
        fields["article"] = make_article()
    letter = Letter(**fields)
    letter.save()
    return letter


def make_user(role=None, username=None):
    """A staff user in the given role: roles.EDITOR, roles.SUB_EDITOR, or "superuser"."""
    username = username or f"user{next(_numbers)}"
    if role == "superuser":
        return User.objects.create_superuser(username, f"{username}@example.com", "pw")
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    if role:
        if not Group.objects.filter(name=role).exists():  # flushed by a transactional test
            roles.sync_groups(django_apps)
        user.groups.add(Group.objects.get(name=role))
    return user


def editor():
    return make_user(roles.EDITOR)


def sub_editor():
    return make_user(roles.SUB_EDITOR)


def rejection_template():
    return ReplyTemplate.objects.get_or_create(
        name="Rejection (test)",
        defaults={
            "kind": "rejection",
            "subject": "Your letter to {{ publication }}",
            "body": "Dear {{ name }}, sorry: {{ reason }}. About {{ article_headline }}.",
        },
    )[0]


PLAIN_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
