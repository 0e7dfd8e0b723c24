"""Tests for letters.intake.parse (pure Python; run with -p no:django)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from letters.intake.parse import ParseError, parse_email

EMAILS = Path(__file__).parent / "emails"
OWN = ["letters@reaction.life"]


def load(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def parse(name: str, **kwargs):
    return parse_email(load(name), own_addresses=OWN, **kwargs)


# --- headers ---------------------------------------------------------------


def test_plain_letter_headers_are_decoded():
    p = parse("plain.eml")
    assert p.subject == "Letter: The case for a four-day week"
    assert p.from_name == "Peter Fenwick"
    assert p.from_address == "peter.fenwick@example.org"
    assert p.to_addresses == ["letters@reaction.life"]
    assert p.date == datetime(2025, 3, 3, 9, 14, 22, tzinfo=UTC)
    assert p.auto_reason == ""
    assert p.suspect_reasons == []


def test_rfc2047_encoded_from_and_subject_are_decoded():
    p = parse("multipart_alternative.eml")
    assert p.from_name == "Siân Jones"
    assert p.subject == "Smart motorways – a reply"


def test_iso_8859_1_encoded_words_in_headers_are_decoded():
    p = parse("iso_8859_1.eml")
    assert p.from_name == "Hélène Dupré"
    assert p.subject == "Le café du village"


def test_raw_8bit_utf8_headers_are_decoded():
    p = parse("no_charset.eml")
    assert p.from_name == "Chloé Martin"
    assert p.subject == "Naïve optimism"


def test_in_reply_to_and_references_lose_their_angle_brackets():
    p = parse("reply_with_quote.eml")
    assert p.in_reply_to == "newsletter-2025-03-01@reaction.life"
    assert p.references == [
        "newsletter-2025-02-22@reaction.life",
        "newsletter-2025-03-01@reaction.life",
    ]


def test_encoded_word_split_in_the_middle_of_a_character_is_joined():
    raw = (
        b"From: =?utf-8?b?Wm/D?= =?utf-8?b?qw==?= <zoe@example.org>\n"
        b"Subject: =?utf-8?q?Caf=C3?= =?utf-8?q?=A9?=\n\nHello editor.\n"
    )
    p = parse_email(raw)
    assert p.from_name == "Zoë"
    assert p.subject == "Café"


def test_unknown_charset_in_header_does_not_crash():
    raw = b"From: =?x-nonsense?q?Jane?= <jane@example.org>\nSubject: =?bogus?b?!!!?=\n\nHi.\n"
    p = parse_email(raw)
    assert p.from_name == "Jane"
    assert p.from_address == "jane@example.org"


def test_date_without_timezone_is_made_aware():
    raw = b"From: a@example.org\nDate: Mon, 3 Mar 2025 09:14:22 -0000\n\nHello.\n"
    assert parse_email(raw).date == datetime(2025, 3, 3, 9, 14, 22, tzinfo=UTC)


def test_garbage_date_becomes_none():
    raw = b"From: a@example.org\nDate: the third of March\n\nHello.\n"
    assert parse_email(raw).date is None


# --- bodies and charsets ---------------------------------------------------


def test_plain_body_drops_the_signoff_and_keeps_the_letter():
    p = parse("plain.eml")
    assert p.body == (
        "Dear Editor,\n\n"
        "Your piece on the four-day week (1 March) ignored the one group who already\n"
        "work it: part-time carers. We would welcome the same flexibility for everyone."
    )


def test_html_only_mail_becomes_clean_text():
    p = parse("html_only.eml")
    assert p.body == (
        "Dear Editor,\n\n"
        "Your article on rewilding the North Pennines was superb & overdue.\n\n"
        "Curlews – once common – are now rare.\nWe must act."
    )
    assert "<" not in p.body
    assert "alert" not in p.body
    assert "color" not in p.body


def test_html_only_mail_keeps_link_targets_as_urls():
    p = parse("html_only.eml")
    assert p.urls == ["https://reaction.life/articles/rewilding-the-north-pennines/"]


def test_multipart_alternative_prefers_the_plain_text_part():
    p = parse("multipart_alternative.eml")
    assert p.body == "Dear Editor,\n\nI drive the M6 every week. Plain text version."


def test_quoted_printable_body_is_decoded():
    p = parse("quoted_printable.eml")
    assert p.body == (
        "Dear Editor,\n\n"
        "It’s a long time since I read anything as thoughtful as Hélène Müller’s essay on the "
        "village pub — thank you for publishing it. The pub in our village closed in 2019 and "
        "the place hasn’t been the same since."
    )


def test_base64_body_is_decoded():
    p = parse("base64.eml")
    assert p.body == (
        "Dear Editor,\n\nLocal newspapers still matter: ours exposed the council’s £2m overspend."
    )
    assert p.from_name == "Margaret O’Brien"


def test_iso_8859_1_body_is_decoded():
    p = parse("iso_8859_1.eml")
    assert p.body == "Dear Editor,\n\nThe café in our village charges £3 for a coffee. Voilà!"


def test_mislabelled_windows_1252_decodes_curly_quotes():
    p = parse("windows_1252_mislabelled.eml")
    assert p.body == (
        "Dear Editor,\n\n"
        "Your correspondent calls rural buses “a luxury” – try telling that to my neighbours."
    )


def test_windows_1252_labelled_us_ascii_decodes_curly_quotes():
    raw = (
        b"From: a@example.org\nContent-Type: text/plain; charset=us-ascii\n\n"
        b"It is \x93fine\x94 \x96 really.\n"
    )
    assert parse_email(raw).body == "It is “fine” – really."


def test_windows_1252_labelled_utf8_falls_back_gracefully():
    raw = b"From: a@example.org\nContent-Type: text/plain; charset=utf-8\n\nIt is \x93fine\x94.\n"
    assert parse_email(raw).body == "It is “fine”."


def test_undeclared_8bit_utf8_body_is_decoded():
    p = parse("no_charset.eml")
    assert (
        p.body == "Dear Editor,\n\nYour leader's naïve optimism about the économie made me smile."
    )


def test_undeclared_8bit_latin1_body_is_decoded():
    raw = b"From: a@example.org\n\nThe caf\xe9 charges \xa33.\n"
    assert parse_email(raw).body == "The café charges £3."


def test_unknown_declared_charset_falls_back_to_utf8():
    raw = "From: a@example.org\nContent-Type: text/plain; charset=x-klingon\n\nNaïve.\n"
    assert parse_email(raw.encode()).body == "Naïve."


def test_format_flowed_soft_breaks_are_joined():
    raw = (
        b"From: a@example.org\nContent-Type: text/plain; charset=utf-8; format=flowed\n\n"
        b"This line is soft \nwrapped by the client.\nThis is a new line.\n"
    )
    assert parse_email(raw).body == "This line is soft wrapped by the client.\nThis is a new line."


# --- attachments ---------------------------------------------------------------


LETTER_FROM_DOCUMENT = (
    "Dear Editor,\n\n"
    "Your article on smart motorways missed the point: the hard shoulder saved my life in 2016."
)


def test_docx_attachment_with_empty_body_becomes_the_letter():
    p = parse("docx_attachment.eml")
    assert [a.filename for a in p.attachments if a.text_extracted] == ["letter.docx"]
    assert p.body == LETTER_FROM_DOCUMENT
    assert p.signoff_name == "Eamonn Walsh"
    assert p.signoff_town == "Galway"
    assert p.attachments[0].filename == "letter.docx"
    assert p.attachments[0].text_extracted is True


def test_odt_attachment_with_empty_body_becomes_the_letter():
    p = parse("odt_attachment.eml")
    assert [a.filename for a in p.attachments if a.text_extracted] == ["letter.odt"]
    assert p.body == LETTER_FROM_DOCUMENT


def test_txt_attachment_with_empty_body_becomes_the_letter():
    p = parse("txt_attachment.eml")
    assert [a.filename for a in p.attachments if a.text_extracted] == ["letter.txt"]
    assert p.body == LETTER_FROM_DOCUMENT


def test_oversized_docx_is_listed_but_not_extracted():
    with pytest.raises(ParseError) as exc:
        parse("docx_attachment.eml", max_attachment_bytes=100)
    assert exc.value.reason == "no letter text found"


def test_pdf_attachment_is_listed_and_the_body_is_kept():
    p = parse("with_pdf_attachment.eml")
    assert p.body == (
        "Dear Editor,\n\nThe attached council figures show bus use up 12% since 2022."
    )
    assert len(p.attachments) == 1
    a = p.attachments[0]
    assert (a.filename, a.content_type, a.text_extracted) == (
        "figures.pdf",
        "application/pdf",
        False,
    )
    assert a.size > 200


# --- quotes, signatures, sign-offs ------------------------------------------


def test_reply_drops_the_quoted_newsletter_and_iphone_footer():
    p = parse("reply_with_quote.eml")
    assert p.body == (
        "I could not agree more. Our town lost its weekly paper in 2020 and nobody\n"
        "now reports on the planning committee."
    )


def test_article_link_inside_the_quote_still_counts_as_a_url():
    p = parse("reply_with_quote.eml")
    assert p.urls == ["https://reaction.life/articles/why-local-newspapers-still-matter/"]


def test_outlook_original_message_block_is_removed():
    p = parse("outlook_reply.eml")
    assert p.body == "Thank you. Yes, you may shorten it to 200 words if you need to."


def test_signoff_with_address_lines_is_recognised():
    p = parse("outlook_reply.eml")
    assert p.signoff_name == "Margaret Müller"
    assert p.signoff_address == "12 Acacia Avenue, Bath BA1 2QH"
    assert p.signoff_town == "Bath"


def test_signoff_name_town_and_phone_are_extracted():
    p = parse("signoff.eml")
    assert p.signoff_name == "Jane Smith"
    assert p.signoff_town == "Hexham, Northumberland"
    assert p.signoff_phone == "01434 602 123"
    assert p.signoff_address == ""


def test_signoff_and_signature_block_are_removed_from_the_body():
    p = parse("signoff.eml")
    assert p.body == (
        "Dear Editor,\n\n"
        "As a hill farmer's daughter I read your rewilding piece with mixed feelings.\n"
        "Nobody asked the people who actually live here."
    )


def test_name_comma_town_signoff_is_split():
    p = parse("plus-address.eml")
    assert (p.signoff_name, p.signoff_town) == ("Ahmed Khan", "Kendal")
    assert p.body == "Dear Editor,\n\nBeavers are the answer. They cost nothing and they work."


def test_interleaved_reply_keeps_the_writers_own_lines():
    raw = (
        b"From: a@example.org\nContent-Type: text/plain\n\n"
        b"On Sat, 1 Mar 2025 at 07:00, Reaction <letters@reaction.life> wrote:\n"
        b"> First point from the article.\n"
        b"I disagree with this.\n"
        b"> Second point.\n"
        b"But this one is right.\n"
    )
    assert parse_email(raw).body == "I disagree with this.\nBut this one is right."


def test_gmail_html_quote_is_removed():
    raw = (
        b"From: a@example.org\nContent-Type: text/html; charset=utf-8\n\n"
        b'<div dir="ltr">Hear, hear.</div><br><div class="gmail_quote">'
        b'<div class="gmail_attr">On Sat, 1 Mar 2025, Reaction wrote:<br></div>'
        b"<blockquote>The newsletter text.</blockquote></div>"
    )
    assert parse_email(raw).body == "Hear, hear."


# --- hygiene -----------------------------------------------------------------


def test_out_of_office_with_auto_submitted_is_an_auto_reply():
    assert parse("auto_reply.eml").auto_reason == "auto-reply"


def test_automatic_reply_subject_alone_is_an_auto_reply():
    raw = b"From: a@example.org\nSubject: Automatic reply: Letters\n\nI am away.\n"
    assert parse_email(raw).auto_reason == "auto-reply"


def test_auto_submitted_no_is_a_human_letter():
    raw = b"From: a@example.org\nAuto-Submitted: no\nSubject: Letter\n\nDear Editor.\n"
    assert parse_email(raw).auto_reason == ""


def test_delivery_status_report_is_a_bounce():
    p = parse("bounce.eml")
    assert p.auto_reason == "bounce"
    assert [a.content_type for a in p.attachments] == ["message/rfc822"]


def test_list_id_is_mailing_list():
    assert parse("list_mail.eml").auto_reason == "mailing-list"


def test_precedence_bulk_is_bulk():
    assert parse("bulk.eml").auto_reason == "bulk"


def test_mail_from_our_own_address_is_a_loop():
    assert parse("loop.eml").auto_reason == "loop"


def test_mail_from_a_plus_addressed_variant_of_our_address_is_a_loop():
    raw = b"From: Letters <LETTERS+some-slug@reaction.life>\n\nThanks.\n"
    assert parse_email(raw, own_addresses=OWN).auto_reason == "loop"


def test_loop_is_not_flagged_without_own_addresses():
    assert parse_email(load("loop.eml")).auto_reason == ""


def test_spam_flag_is_a_suspect_reason():
    assert parse("spam_flagged.eml").suspect_reasons == ["spam-flag"]


def test_dmarc_fail_is_a_suspect_reason():
    assert parse("dmarc_fail.eml").suspect_reasons == ["dmarc-fail"]


def test_plus_address_recipient_is_kept_lower_cased():
    p = parse("plus-address.eml")
    assert p.to_addresses == ["letters+rewilding-the-north-pennines@reaction.life"]
    assert p.delivered_to == ["letters+rewilding-the-north-pennines@reaction.life"]


# --- limits and refusals ------------------------------------------------------


def test_oversize_message_is_refused_with_a_readable_reason():
    raw = load("plain.eml")
    with pytest.raises(ParseError) as exc:
        parse_email(raw + b"x" * 2_000_000, max_bytes=1024 * 1024)
    assert exc.value.reason == "message too large (1.9 MB, limit 1 MB)"


def test_default_size_limit_reason_matches_the_editors_wording():
    with pytest.raises(ParseError) as exc:
        parse_email(b"From: a@example.org\n\n" + b"x" * (31 * 1024 * 1024 + 200_000))
    assert exc.value.reason == "message too large (31.2 MB, limit 30 MB)"


def _nested(depth: int) -> bytes:
    head = b"From: a@example.org\nMIME-Version: 1.0\n"
    body = b"Content-Type: text/plain\n\nHello.\n"
    for i in range(depth):
        b = f"b{i}".encode()
        body = (
            (b'Content-Type: multipart/mixed; boundary="' + b + b'"\n\n--' + b + b"\n" + body)
            + b"\n--"
            + b
            + b"--\n"
        )
    return head + body


def test_too_deeply_nested_message_is_refused():
    parse_email(_nested(5))
    with pytest.raises(ParseError) as exc:
        parse_email(_nested(12))
    assert exc.value.reason == "nesting too deep (more than 10 levels)"


def test_absurdly_nested_message_is_refused_not_crashed():
    with pytest.raises(ParseError):
        parse_email(_nested(3000))


def test_too_many_parts_is_refused():
    parts = b"".join(
        b"--b\nContent-Type: text/plain\n\npart " + str(i).encode() + b"\n" for i in range(150)
    )
    raw = (
        b'From: a@example.org\nContent-Type: multipart/mixed; boundary="b"\n\n' + parts + b"--b--\n"
    )
    with pytest.raises(ParseError) as exc:
        parse_email(raw)
    assert exc.value.reason == "too many parts (more than 100)"


def test_message_without_any_text_is_refused():
    with pytest.raises(ParseError) as exc:
        parse_email(b"From: a@example.org\nSubject: empty\n\n   \n")
    assert exc.value.reason == "no letter text found"


def test_headerless_garbage_is_read_as_body_text_not_crashed():
    p = parse_email(b"\x00\xff\xfe garbage without a blank line")
    assert p.body == "ÿþ garbage without a blank line"
    assert (p.subject, p.from_address) == ("", "")


# --- fuzz-ish -------------------------------------------------------------------


def _mutants(raw: bytes, rng: random.Random, n: int):
    for _ in range(n):
        data = bytearray(raw)
        choice = rng.random()
        if choice < 0.3:
            data = data[: rng.randrange(len(data) + 1)]
        elif choice < 0.7:
            for _ in range(rng.randint(1, 20)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif choice < 0.85:
            i = rng.randrange(len(data))
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
        else:
            for _ in range(rng.randint(1, 5)):
                i = rng.randrange(len(data))
                j = min(len(data), i + rng.randint(1, 200))
                del data[i:j]
        yield bytes(data)


def test_truncated_and_bit_flipped_emails_only_ever_raise_parse_error():
    rng = random.Random(20250303)
    files = sorted(EMAILS.glob("*.eml"))
    tried = 0
    for path in files:
        raw = path.read_bytes()
        for mutant in _mutants(raw, rng, 20):
            tried += 1
            try:
                p = parse_email(mutant, own_addresses=OWN)
            except ParseError:
                continue
            assert isinstance(p.body, str) and p.body
            assert "\x00" not in p.body
    assert tried >= 400
