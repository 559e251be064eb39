"""Argon2id sized for a 2-core clinic server.

Django's default Argon2 parameters need about 100 MiB per concurrent hash; at a login rush
that is most of a small server's memory. OWASP's minimum for argon2id is 19 MiB, 2
iterations, 1 lane: that is what this hasher uses. Existing hashes with other parameters
still verify and are upgraded on the next login.

One hash at a time per process, always on the same thread. glibc keeps a freed block of this
size for the next allocation in the arena of the thread that freed it (after the first such
block its "dynamic mmap threshold" stops handing them back to the system), and each thread
has an arena of its own: with every request thread hashing for itself, a worker kept 19 MiB
for each of its 4 threads, for good. On one thread, every hash reuses one resident block.

Measured (bench/load.py --only sign-in --sign-ins 600: 600 registrations, then 600 sign-ins,
32 clients, 3 workers of 4 threads; a 2-core VM shared with other work, 2026-12-06, four
interleaved runs each): the busiest worker's RSS after the burst was 144-163 MB with each
thread hashing, 88-89 MB on one thread; sign-ins per second 29-56 against 32-63, p95 1.3-2.0
against 1.0-1.7 s, CPU per sign-in 33-44 against 29-31 ms (one hash at a time has the caches
and the memory bandwidth to itself). Measured and not chosen: a lock around each thread's own
hash still kept 144-148 MB (each thread's arena keeps its block); MALLOC_ARENA_MAX=2, with
or without that lock, 105-145 MB; a fixed mmap threshold (each hash unmapped when freed),
66-74 MB, but 5-8 ms more CPU per hash in page faults and 142-150 MB while 4 hashes run at
once; on one thread the peak is what it keeps.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.contrib.auth.hashers import Argon2PasswordHasher

T = TypeVar("T")

HASHING_THREAD = "password-hashing"


class HashingThread:
    """This process's one thread for password hashes, started by its first hash."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = None
        # A forked child (a gunicorn worker) has none of its parent's threads.
        os.register_at_fork(after_in_child=self.forget)

    def run(self, function: Callable[..., T], *args: object) -> T:
        """`function(*args)` on the hashing thread; the caller waits for its result."""
        if threading.current_thread().name.startswith(HASHING_THREAD):
            # Already on it (a hash calling a hash): waiting for itself would never end.
            return function(*args)
        with self.lock:
            if self.executor is None:
                self.executor = ThreadPoolExecutor(1, thread_name_prefix=HASHING_THREAD)
            executor = self.executor
        return executor.submit(function, *args).result()

    def forget(self) -> None:
        self.lock = threading.Lock()
        self.executor = None


hashing_thread = HashingThread()


class ClinicArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    def encode(self, password: str, salt: str) -> str:
        return hashing_thread.run(super().encode, password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        return hashing_thread.run(super().verify, password, encoded)
