"""The desk's groups, its default reply templates, and fingerprints for existing letters."""

import hashlib
import re

from django.db import migrations

from letters.roles import sync_groups

REPLY_TEMPLATES = [
    (
        "rejection",
        "Rejection (standard)",
        "Your letter to {{ publication }}",
        "Dear {{ name }},\n\n"
        "Thank you for your letter about \"{{ article_headline }}\". We receive many more letters "
        "than we have room for, and I am sorry that we cannot publish yours.\n\n"
        "With best wishes,\nThe letters editor, {{ publication }}\n",
    ),
    (
        "edited_version",
        "Edited version for agreement",
        "Your letter to {{ publication }}: the edited version",
        "Dear {{ name }},\n\n"
        "We plan to publish your letter about \"{{ article_headline }}\" in this edited version "
        "({{ edited_word_count }} words; you wrote {{ word_count }}):\n\n"
        "{{ edited_text }}\n\n{{ signature }}\n\n"
        "If you do not agree with the edit, please reply within two days.\n\n"
        "The letters editor, {{ publication }}\n",
    ),
    (
        "publication",
        "Publication notice",
        "Your letter is in {{ publication }}",
        "Dear {{ name }},\n\n"
        "Your letter about \"{{ article_headline }}\" is published today:\n{{ letter_url }}\n\n"
        "As published:\n\n{{ edited_text }}\n\n{{ signature }}\n\n"
        "Thank you for writing.\nThe letters editor, {{ publication }}\n",
    ),
]


def forwards(apps, schema_editor):
    sync_groups(apps)
    ReplyTemplate = apps.get_model("letters", "ReplyTemplate")
    for kind, name, subject, body in REPLY_TEMPLATES:
        ReplyTemplate.objects.get_or_create(
            name=name, defaults={"kind": kind, "subject": subject, "body": body}
        )
    Letter = apps.get_model("letters", "Letter")
    for letter in Letter.objects.filter(fingerprint="").only("pk", "body").iterator():
        words = re.findall(r"\w+", letter.body.lower())
        print_ = hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]
        Letter.objects.filter(pk=letter.pk).update(fingerprint=print_)


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0002_editors_publication_and_intake"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
