import os

# Tests run as production does (DEBUG off) with a throwaway key, unless the caller set one.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
