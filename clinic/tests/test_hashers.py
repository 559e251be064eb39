"""The clinic's Argon2 hasher: one hash at a time per process, on one thread, so a sign-in
rush holds one hash's memory (19 MiB) per worker, not one per request thread."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, identify_hasher
from django.test import override_settings

from clinic import settings as production
from clinic.hashers import ClinicArgon2PasswordHasher

ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "lantern-orchid-42"
THREADS = 4


class Overlap:
    """Counts the hashes running at once (the most seen in `most`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.inside += 1
                self.most = max(self.most, self.inside)
            try:
                time.sleep(0.05)  # long enough for the other threads to arrive
                return function(*args, **kwargs)
            finally:
                with self.lock:
                    self.inside -= 1

        return counted


@contextmanager
def counting_hashes() -> Iterator[Overlap]:
    """Instrument argon2-cffi's public entry points: hashing and verifying."""
    overlap = Overlap()
    with (
        mock.patch.object(
            argon2.low_level, "hash_secret", overlap.wrap(argon2.low_level.hash_secret)
        ),
        mock.patch.object(
            argon2.PasswordHasher, "verify", overlap.wrap(argon2.PasswordHasher.verify)
        ),
    ):
        yield overlap


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call on its own thread, released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a hash never finished"
    return results


def test_concurrent_hashes_in_one_process_take_turns():
    hasher = ClinicArgon2PasswordHasher()
    salts = [hasher.salt() for _ in range(THREADS)]
    with counting_hashes() as overlap:
        encoded = all_at_once([lambda salt=salt: hasher.encode(PASSWORD, salt) for salt in salts])
    assert overlap.most == 1
    assert all(hasher.verify(PASSWORD, e) for e in encoded)


def test_verifications_and_hashes_take_turns_together():
    hasher = ClinicArgon2PasswordHasher()
    stored = hasher.encode(PASSWORD, hasher.salt())
    calls: list[Callable[[], Any]] = [lambda: hasher.verify(PASSWORD, stored)] * 2
    calls += [lambda: hasher.verify("wrong-password", stored)]
    calls += [lambda: hasher.encode(PASSWORD, hasher.salt())]
    with counting_hashes() as overlap:
        results = all_at_once(calls)
    assert overlap.most == 1
    assert results[:3] == [True, True, False]


def test_the_instrument_sees_djangos_own_hasher_overlap():
    """Without the clinic's hasher the same threads do hash at once: the test above would
    notice if the clinic's stopped taking turns."""
    hasher = Argon2PasswordHasher()
    hasher.memory_cost, hasher.time_cost = 1024, 1  # fast: only the overlap matters here
    with counting_hashes() as overlap:
        all_at_once([lambda: hasher.encode(PASSWORD, hasher.salt())] * THREADS)
    assert overlap.most > 1


def test_a_failed_hash_does_not_hold_up_the_next():
    hasher = ClinicArgon2PasswordHasher()
    with (
        mock.patch.object(argon2.low_level, "hash_secret", side_effect=MemoryError),
        pytest.raises(MemoryError),
    ):
        hasher.encode(PASSWORD, hasher.salt())
    assert hasher.verify(PASSWORD, hasher.encode(PASSWORD, hasher.salt()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_process_hashes_on_a_thread_of_its_own():
    """gunicorn forks its workers; a parent's hashing thread does not exist in a child."""
    hasher = ClinicArgon2PasswordHasher()
    hasher.encode(PASSWORD, hasher.salt())  # the parent's hashing thread is running
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        done = threading.Event()

        def hash_once() -> None:
            hasher.encode(PASSWORD, hasher.salt())
            done.set()

        threading.Thread(target=hash_once, daemon=True).start()
        os._exit(0 if done.wait(timeout=20) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS)
def test_the_clinics_hasher_verifies_every_argon2_hash_and_upgrades_old_ones():
    old = Argon2PasswordHasher().encode(PASSWORD, "saltsaltsalt")  # Django's parameters
    assert isinstance(identify_hasher(old), ClinicArgon2PasswordHasher)
    upgraded: list[str] = []
    assert check_password(PASSWORD, old, setter=upgraded.append)
    assert upgraded == [PASSWORD]


RESIDENT_GROWTH = """
import os, sys
from concurrent.futures import ThreadPoolExecutor
from django.contrib.auth.hashers import Argon2PasswordHasher
from clinic.hashers import ClinicArgon2PasswordHasher

def resident_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

hasher = {"clinic": ClinicArgon2PasswordHasher, "django": Argon2PasswordHasher}[sys.argv[1]]()
hasher.memory_cost = 19 * 1024
before = resident_mib()
with ThreadPoolExecutor(4) as threads:
    list(threads.map(lambda i: hasher.encode("lantern-orchid-42", hasher.salt()), range(16)))
print(resident_mib() - before)
"""


def resident_growth_mib(hasher: str) -> float:
    """A gunicorn worker's situation: 4 request threads hashing (19 MiB each) at once;
    how much more memory the process holds once they are done."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", RESIDENT_GROWTH, hasher],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "clinic.settings_test"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_process_keeps_at_most_one_hashs_memory_after_concurrent_sign_ins():
    # glibc keeps each thread's freed 19 MiB for its next use, in each thread's own arena:
    # only when every hash runs on the same thread is one hash's memory all that stays.
    assert resident_growth_mib("clinic") < 1.5 * 19
    if platform.libc_ver()[0] == "glibc":
        assert resident_growth_mib("django") > 2 * 19  # what the clinic's hasher avoids
