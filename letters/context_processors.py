from django.conf import settings


def desk(request):
    return {
        "publication_name": settings.LETTERS_PUBLICATION_NAME,
        "inbound_address": settings.LETTERS_INBOUND_ADDRESS,
    }
