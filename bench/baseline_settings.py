"""Settings for the benchmark's baseline server: the desk's settings plus one bare form.

Used only by bench/bench_form.py, never by the desk: it adds /bench/bare/<slug>/ (see
bench/baseline_urls.py) so that the desk's form can be compared with a plain Django ModelForm
served by the same gunicorn, database and middleware.
"""

from reaction_letters.settings import *  # noqa: F403

ROOT_URLCONF = "bench.baseline_urls"
