import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from letters.models import Article

pytestmark = pytest.mark.django_db


def test_loading_the_seeds_creates_the_seed_article(capsys):
    call_command("load_seeds")
    article = Article.objects.get()
    assert article.headline == "Putin warns the West as Starmer and Biden weigh long-range strikes"
    assert article.author == "Reaction"
    assert article.published_at.date().isoformat() == "2024-09-13"
    assert article.body.startswith("Sir Keir Starmer is in Washington right now")
    assert "Write to us with your comments" not in article.body
    assert "1 created" in capsys.readouterr().out


def test_loading_the_seeds_twice_changes_nothing(capsys):
    call_command("load_seeds")
    before = list(Article.objects.values())
    capsys.readouterr()
    call_command("load_seeds")
    assert list(Article.objects.values()) == before
    assert "0 created, 0 updated, 1 unchanged" in capsys.readouterr().out


def test_a_changed_seed_file_updates_its_article(tmp_path):
    source = next((settings.BASE_DIR / "seeds").glob("*.txt")).read_text()
    seed = tmp_path / "seed.txt"
    seed.write_text(source)
    call_command("load_seeds", str(tmp_path))
    seed.write_text(source.replace("Author: Reaction", "Author: Jane Doe"))
    call_command("load_seeds", str(tmp_path))
    assert Article.objects.get().author == "Jane Doe"


def test_a_broken_seed_file_is_named(tmp_path):
    (tmp_path / "broken.txt").write_text("Headline: Something\nPublished: yesterday\n\nBody")
    with pytest.raises(CommandError, match="broken.txt: Published must be an ISO date"):
        call_command("load_seeds", str(tmp_path))
