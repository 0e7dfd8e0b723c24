"""The one table of flags (models/flags.py): every flag it names can be filtered, counted and
shown, so a flag added to FLAGS without its condition or its reason fails here."""

from datetime import timedelta

import pytest
from django.utils import timezone

from letters.models import FLAGS, Letter

from .factories import make_article, make_letter

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("flag", [flag.name for flag in FLAGS])
def test_every_flag_in_the_table_has_a_condition_the_queue_can_filter_on(flag):
    make_letter()
    assert Letter.objects.flagged(flag).count() in (0, 1)


def test_an_unknown_flag_is_refused_by_name():
    with pytest.raises(ValueError, match="'no_such_flag'"):
        Letter.objects.flagged("no_such_flag")


def test_a_letter_carrying_every_flag_shows_a_badge_with_a_reason_for_each():
    article = make_article(letters_close_at=timezone.now() - timedelta(days=1))
    letter = make_letter(article=article, confirmed_at=None, suspect=True)
    for name, value in {
        "writer_published_recently": True,
        "possible_duplicate": True,
        "cluster_size": 5,
        "cluster_writers": 3,
        "repeats_writer": True,
        "not_exclusive": True,
        "quotes_not_found": 2,
    }.items():
        setattr(letter, name, value)

    carried = dict(letter.carried_flags())

    assert [flag.name for flag in carried] == [flag.name for flag in FLAGS if flag.badge]
    assert all(reason for reason in carried.values())
