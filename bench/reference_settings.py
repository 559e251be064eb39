"""Settings of the load bench's reference server: the project's own, without middleware and
with one URL (bench/reference.py). See bench/load.py, phase "reference"."""

from clinic.settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.reference"
