"""Stand-ins for a publisher's spam service (LETTERS_SPAM_CHECK), importable by a worker."""

ASKED = []  # (text, sender) for each call, in this process


def says_buy_now_is_spam(text, sender):
    """Spam if the text says "buy now"."""
    ASKED.append((text, sender))
    return "listed by the test service" if "buy now" in text.lower() else ""


def is_down(text, sender):
    raise ConnectionError("the spam service is down")
