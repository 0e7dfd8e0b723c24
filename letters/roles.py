"""The desk's two roles, as Django groups, and the permissions each one holds.

A "Letters editor" can do everything in the letters app. A "Sub-editor" edits text and
headlines, shortlists and writes notes, but cannot approve, reject, publish or delete.
letters.moderation checks these permissions in every operation, not only in the admin.
"""

from django.contrib.auth.management import create_permissions

EDITOR = "Letters editor"
SUB_EDITOR = "Sub-editor"

SUB_EDITOR_PERMISSIONS = (
    "view_article",
    "view_letter",
    "change_letter",
    "shortlist_letter",
    "view_letterevent",
    "view_note",
    "add_note",
    "view_replytemplate",
    "view_reply",
    # What the processing step found: campaigns, other desks (letters.checks).
    "view_cluster",
    "view_deskdomain",
    "view_writermerge",
)

# The audit trails are written only by letters.moderation: nobody edits or deletes them.
AUDIT_TRAIL_PERMISSIONS = tuple(
    f"{verb}_{model}"
    for model in ("letterevent", "editionevent", "inboundemailevent", "writererasure")
    for verb in ("add", "change", "delete")
)


def sync_groups(apps):
    """Create both groups and give them their permissions. Safe to run again.

    The editor group gets every permission of the letters app that exists when this runs: a
    later migration that adds models calls this again to extend it.
    """
    # Permissions are normally created after migrations; create them now so we can grant them.
    for app_config in apps.get_app_configs():
        historical = getattr(app_config, "models_module", None) is None  # a migration
        if historical:
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        if historical:
            app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    letters_permissions = Permission.objects.filter(content_type__app_label="letters").exclude(
        codename__in=AUDIT_TRAIL_PERMISSIONS
    )
    editor, _ = Group.objects.get_or_create(name=EDITOR)
    editor.permissions.add(*letters_permissions)
    sub_editor, _ = Group.objects.get_or_create(name=SUB_EDITOR)
    sub_editor.permissions.add(*letters_permissions.filter(codename__in=SUB_EDITOR_PERMISSIONS))
