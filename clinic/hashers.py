"""Argon2id sized for a 2-core clinic server.

Django's default Argon2 parameters need about 100 MiB per concurrent hash; at a login rush
that is most of a small server's memory. OWASP's minimum for argon2id is 19 MiB, 2
iterations, 1 lane: that is what this hasher uses. Existing hashes with other parameters
still verify and are upgraded on the next login.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class ClinicArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
