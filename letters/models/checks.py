"""What the processing step found out about a letter beyond its own fields: its place in the
similarity index (signature, LSH band keys, similar letters, cluster), and the exclusivity and
quote checks. Written by letters.checks (a Celery task per letter); every row goes with its
letter (CASCADE), so a deleted letter leaves nothing behind in the index."""

from django.db import models
from django.utils import timezone

from .audit import AuditEvent
from .letters import Letter


class Cluster(models.Model):
    """Letters connected by near-duplicate pairs (estimated Jaccard at or above
    LETTERS_CAMPAIGN_THRESHOLD). Size and writers are recounted whenever it changes."""

    size = models.PositiveIntegerField(default=0)
    writers = models.PositiveIntegerField(default=0, help_text="Distinct email addresses.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["-writers", "-size"], name="cluster_writers")]

    def __str__(self):
        return f"Cluster #{self.pk}: {self.size} letters from {self.writers} writers"

    @property
    def is_campaign(self):
        return self.writers >= 2


class LetterSignature(models.Model):
    """A letter's MinHash signature (NUM_PERM little-endian uint32 values), for the Jaccard
    estimate against candidates, and its cluster."""

    letter = models.OneToOneField(
        Letter, on_delete=models.CASCADE, primary_key=True, related_name="similarity"
    )
    created_at = models.DateTimeField(db_index=True, help_text="The letter's, for the window.")
    writer = models.CharField(max_length=254, help_text="The letter's address, lower case.")
    minhash = models.BinaryField()
    # The shingles' CRC-32 hashes, sorted (uint32): the exact Jaccard near the threshold.
    hashes = models.BinaryField(default=b"")
    shingles = models.PositiveIntegerField(default=0)
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    indexed_at = models.DateTimeField(default=timezone.now)


class LetterBand(models.Model):
    """One LSH band key of a letter: letters sharing a key are candidates."""

    # No database constraint: a constraint check for each of 42 rows per letter made the
    # rebuild's COPY twice as slow. The rows still go with their letter (Django's CASCADE and
    # letters.checks.clusters.forget), and a lookup joins the signatures, which are constrained.
    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    key = models.BigIntegerField()
    created_at = models.DateTimeField(help_text="The letter's, for the window.")

    class Meta:
        indexes = [models.Index(fields=["key", "created_at"], name="letterband_key")]


class SimilarPair(models.Model):
    """Two letters whose estimated Jaccard is at or above the threshold, stored both ways
    (letter -> other and other -> letter) so that a letter's neighbours are one lookup."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="similar_pairs")
    other = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="+")
    jaccard = models.FloatField()
    same_writer = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["letter", "other"], name="similarpair_unique")
        ]


class LetterChecks(models.Model):
    """The exclusivity and quote checks of one letter, with the evidence for the editor."""

    letter = models.OneToOneField(
        Letter, on_delete=models.CASCADE, primary_key=True, related_name="checks"
    )
    not_exclusive = models.BooleanField(default=False)
    exclusivity_evidence = models.JSONField(default=list, blank=True)
    # [{"text", "found", "score", "closest"}] for each passage attributed to the article.
    quotes = models.JSONField(default=list, blank=True)
    quotes_not_found = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "letter checks"
        indexes = [
            models.Index(
                fields=["letter"], condition=models.Q(not_exclusive=True), name="checks_not_excl"
            ),
            models.Index(
                fields=["letter"],
                condition=models.Q(quotes_not_found__gt=0),
                name="checks_misquote",
            ),
        ]


class DeskDomain(models.Model):
    """A letters desk of another outlet: a letter also addressed to this domain was sent to
    them too. Editable in the admin; the migration seeds a few."""

    domain = models.CharField(max_length=253, unique=True, help_text="e.g. thetimes.co.uk")
    outlet = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]

    def __str__(self):
        return self.domain

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower().strip(".").removeprefix("@")
        super().save(*args, **kwargs)


class WriterMerge(AuditEvent):
    """The same person wrote from two addresses: `address` is shown as `merged_into` on the
    writer page (their letters together). Recorded with who merged and when."""

    address = models.EmailField(max_length=254, unique=True)
    merged_into = models.EmailField(max_length=254, db_index=True)

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self):
        return f"{self.address} -> {self.merged_into}"
