"""Settings of the load bench's reference server: the project's own, without middleware and
with one URL (bench/reference.py). See bench/load.py, phase "reference"."""

import os

from django.core.exceptions import ImproperlyConfigured

from clinic.settings import *  # noqa: F403

# Its one view trusts an X-User header: never served but by the benchmark, which sets this.
if os.environ.get("CLINIC_BENCH_REFERENCE") != "1":
    raise ImproperlyConfigured("bench/reference_settings.py is for bench/load.py only.")

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.reference"
