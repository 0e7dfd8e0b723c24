"""Email intake: every message stored raw first, then made a letter, a follow-up or a refusal.

The ways in (doors):
pipe.py         an MTA's pipe: relays to the SMTP listener, else stores in-process; exit 75 to retry
smtp.py         the SMTP listener (aiosmtpd): 451 to retry
webhooks.py     the providers' inbound webhooks (django-anymail): 5xx to retry
imap.py         polling a mailbox (IMAPClient), run by a task
urls.py         the webhooks' URLs

What changes the database:
store.py        receive_email: the raw bytes stored once, whatever way they came; processing enqueued
process.py      a stored message becomes a letter (or is refused with its reason)
follow_ups.py   a writer's reply joins the letter it answers
archive.py      a mailbox file imported (manage.py import_mailbox)
articles.py     the articles a message may answer, as the matcher's index (cached per process)
acknowledge.py  the one automatic reply to an emailed letter (RFC 3834: to the envelope sender)

Parsing, pure Python (no Django, no network; linear, or capped before the work):
identify.py     Message-ID and checksum, read from the header block alone
parse.py        a message into a ParsedEmail, with mime.py (the stdlib's parser, bounded),
                decoding.py, plain_text.py (HTML and quotes), signoff.py (name, town, phone),
                attachments.py (.docx, .txt), hygiene.py (auto-replies, bounces, lists, loops),
                match.py (the article), characters.py
"""
