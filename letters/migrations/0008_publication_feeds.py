"""The publication's article feeds (their state), and articles keyed by address and feed guid."""

from django.db import migrations, models

from letters.roles import sync_groups


def keep_one_article_per_url(apps, schema_editor):
    """Before the URL becomes unique: of articles typed in with the same canonical URL, the
    oldest keeps it; the others' is emptied (their letters stay with them)."""
    Article = apps.get_model("letters", "Article")
    seen = set()
    for pk, url in Article.objects.exclude(canonical_url="").order_by("id").values_list(
        "id", "canonical_url"
    ):
        if url in seen:
            Article.objects.filter(pk=pk).update(canonical_url="")
        seen.add(url)


def grant_new_permissions(apps, schema_editor):
    sync_groups(apps)  # editors may see the article feeds


class Migration(migrations.Migration):

    dependencies = [
        ('letters', '0007_send_claims'),
    ]

    operations = [
        migrations.CreateModel(
            name='ArticleFeed',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('url', models.URLField(max_length=500, unique=True)),
                ('etag', models.CharField(blank=True, editable=False, max_length=500)),
                ('last_modified', models.CharField(blank=True, editable=False, max_length=100)),
                ('digest', models.CharField(blank=True, editable=False, max_length=64)),
                ('status', models.CharField(choices=[('new', 'not fetched yet'), ('ok', 'fetched'), ('not_modified', 'not modified since'), ('failed', 'failed')], default='new', editable=False, max_length=20)),
                ('error', models.TextField(blank=True, editable=False, help_text='Why the last fetch failed.')),
                ('last_fetched_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('last_changed_at', models.DateTimeField(blank=True, editable=False, help_text='When the feed last brought news.', null=True)),
                ('item_count', models.PositiveIntegerField(default=0, editable=False, help_text='Articles in the feed when last read.')),
                ('created_count', models.PositiveIntegerField(default=0, editable=False)),
                ('updated_count', models.PositiveIntegerField(default=0, editable=False)),
            ],
            options={
                'verbose_name': 'article feed',
                'ordering': ['url'],
            },
        ),
        migrations.AddField(
            model_name='article',
            name='feed_guid',
            field=models.CharField(blank=True, db_index=True, help_text="The id the publication's feed gives this article (set by the feed sync).", max_length=500),
        ),
        migrations.AlterField(
            model_name='article',
            name='canonical_url',
            field=models.URLField(blank=True, help_text="The article's address on the publication's own site (unique when set).", max_length=500),
        ),
        migrations.RunPython(keep_one_article_per_url, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.UniqueConstraint(condition=models.Q(('canonical_url', ''), _negated=True), fields=('canonical_url',), name='article_canonical_url_once'),
        ),
        migrations.RunPython(grant_new_permissions, migrations.RunPython.noop),
    ]
