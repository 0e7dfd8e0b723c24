"""The similarity index: planted campaigns cluster, letters on the same topic do not, and the
index stays right when letters are deleted, erased, edited or indexed twice."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from letters import moderation
from letters.checks import index, signatures
from letters.checks import shingles as sh
from letters.models import Cluster, Letter, LetterBand, LetterSignature, SimilarPair

from .factories import editor, make_article, make_letter

TEMPLATE = (
    "Sir, your article on the four-day week ignores the nurses who hold our hospitals "
    "together. Every ward I know runs on overtime and goodwill, and a shorter week would "
    "mean more agency staff at twice the cost. The government must fund training places "
    "now, not promise rota experiments that collapse at the first winter crisis. I urge "
    "your readers to write to their MP and demand a proper workforce plan for the NHS."
)

# Light edits, as a campaign's writers make them: a word here and there, their own opening.
VARIANTS = [
    TEMPLATE,
    TEMPLATE.replace("Sir,", "Dear Editor,").replace("twice", "double"),
    TEMPLATE.replace("goodwill", "good will").replace("now,", "this year,"),
    TEMPLATE.replace("I urge your readers", "I would urge readers").replace("MP", "member"),
]

# Same article, same topic, written by different people in their own words.
SAME_TOPIC = [
    "Sir, the four-day week is a fine idea for offices but hospitals run on shifts. "
    "My daughter is a nurse and already works three long days; the NHS needs more staff.",
    "Sir, as a retired consultant I welcomed your piece on the four-day week. Trials in "
    "Scotland suggest productivity holds up, and the NHS should pilot it in outpatients.",
    "Sir, nobody asks who pays. A four-day week in the NHS means hiring a fifth more nurses "
    "we do not have, while waiting lists grow and agency bills soar every winter.",
    "Sir, your correspondent forgets that the NHS workforce plan already promises more "
    "training places. The four-day week is a distraction from pay and retention.",
]


@pytest.fixture
def article(db):
    return make_article(headline="Will the four-day week save the NHS?")


def indexed(article, body, email=None, **fields):
    letter = make_letter(
        article=article, body=body, **({"email": email} if email else {}), **fields
    )
    index.index_letter(letter.pk)
    return letter


def cluster_of(letter):
    return LetterSignature.objects.get(pk=letter.pk).cluster


def test_shingle_jaccard_of_the_planted_variants_is_over_the_threshold():
    template = sh.shingles(TEMPLATE)
    for variant in VARIANTS[1:]:
        assert sh.jaccard(template, sh.shingles(variant)) >= 0.5
    for a in SAME_TOPIC:
        assert sh.jaccard(template, sh.shingles(a)) < 0.1


def test_planted_campaign_letters_cluster_and_same_topic_letters_do_not(article):
    campaign = [indexed(article, body) for body in VARIANTS]
    others = [indexed(article, body) for body in SAME_TOPIC]
    clusters = {cluster_of(letter).pk for letter in campaign}
    assert len(clusters) == 1
    cluster = Cluster.objects.get()
    assert (cluster.size, cluster.writers) == (4, 4)
    assert all(cluster_of(letter) is None for letter in others)
    assert set(Letter.objects.flagged("campaign")) == set(campaign)
    flagged = Letter.objects.with_flags().get(pk=campaign[0].pk)
    assert flagged.badge(next(f for f, _ in flagged.carried_flags() if f.name == "campaign")) == (
        "campaign 4/4"
    )


def test_the_same_writer_repeating_themselves_is_a_repeat_not_a_campaign(article):
    first = indexed(article, VARIANTS[0], email="Ann@example.com")
    second = indexed(article, VARIANTS[1], email="ann@example.com")
    assert set(Letter.objects.flagged("repeat")) == {first, second}
    assert not Letter.objects.flagged("campaign").exists()
    assert Cluster.objects.get().writers == 1


def test_indexing_a_letter_twice_changes_nothing(article):
    letters = [indexed(article, body) for body in VARIANTS[:2]]
    before = (LetterBand.objects.count(), SimilarPair.objects.count(), Cluster.objects.get().pk)
    assert index.index_letter(letters[1].pk) == 1
    assert (LetterBand.objects.count(), SimilarPair.objects.count()) == before[:2]
    assert Cluster.objects.get().pk == before[2]
    assert LetterBand.objects.filter(letter=letters[1]).count() == signatures.BANDS


def test_a_deleted_letter_leaves_the_index_and_its_cluster_recounted(article):
    campaign = [indexed(article, body) for body in VARIANTS[:3]]
    moderation.delete_letter(campaign[2].pk, actor=editor())
    assert not LetterBand.objects.filter(letter_id=campaign[2].pk).exists()
    assert not SimilarPair.objects.filter(other_id=campaign[2].pk).exists()
    assert (Cluster.objects.get().size, Cluster.objects.get().writers) == (2, 2)
    moderation.delete_letter(campaign[1].pk, actor=editor())
    assert not Cluster.objects.exists()  # one letter is no cluster
    assert cluster_of(campaign[0]) is None


def test_deleting_the_only_link_between_two_groups_splits_the_cluster(article):
    a = indexed(article, "alpha beta gamma delta epsilon zeta eta theta")
    bridge = indexed(article, "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")
    b = indexed(article, "epsilon zeta eta theta iota kappa lambda mu")
    assert SimilarPair.objects.filter(letter=a, other=b).count() == 0
    assert cluster_of(a) == cluster_of(b) == cluster_of(bridge)
    moderation.delete_letter(bridge.pk, actor=editor())
    assert cluster_of(a) is None and cluster_of(b) is None
    assert not Cluster.objects.exists()


def test_an_erased_writer_leaves_the_index(article):
    kept = indexed(article, VARIANTS[0])
    gone = indexed(article, VARIANTS[1], email="erase.me@example.com")
    moderation.erase_writer("erase.me@example.com", actor=editor())
    assert not LetterSignature.objects.filter(pk=gone.pk).exists()
    assert not LetterBand.objects.filter(letter_id=gone.pk).exists()
    assert cluster_of(kept) is None
    assert LetterBand.objects.filter(letter=kept).count() == signatures.BANDS


def test_a_letter_whose_text_changed_is_indexed_again(article):
    first = indexed(article, VARIANTS[0])
    second = indexed(article, SAME_TOPIC[0])
    assert cluster_of(first) is None
    Letter.objects.filter(pk=second.pk).update(body=VARIANTS[1])
    index.index_letter(second.pk)
    assert cluster_of(first) == cluster_of(second) is not None


def test_letters_outside_the_window_are_not_compared(article, settings):

    settings.LETTERS_CAMPAIGN_WINDOW_DAYS = 30
    old = indexed(article, VARIANTS[0], created_at=timezone.now() - timedelta(days=40))
    new = indexed(article, VARIANTS[1])
    assert cluster_of(old) is None and cluster_of(new) is None


def test_rebuild_finds_what_indexing_one_by_one_found(article):
    campaign = [indexed(article, body) for body in VARIANTS]
    [indexed(article, body) for body in SAME_TOPIC]
    before = sorted(SimilarPair.objects.values_list("letter_id", "other_id"))
    LetterBand.objects.all().delete()
    call_command("rebuild_similarity_index", verbosity=0)
    assert sorted(SimilarPair.objects.values_list("letter_id", "other_id")) == before
    assert LetterBand.objects.count() == signatures.BANDS * 8
    assert Cluster.objects.get().size == 4
    assert {cluster_of(letter).pk for letter in campaign} == {Cluster.objects.get().pk}
