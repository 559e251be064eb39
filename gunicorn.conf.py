"""gunicorn settings for Clinic Flow (`gunicorn -c gunicorn.conf.py clinic.wsgi`).

Threaded workers: a request spends much of its time waiting for MariaDB (row locks, commits),
so a few threads per process keep the CPU busy while others wait, and keep-alive
connections spare the clients a TCP handshake per request. Each process holds the GIL, so
throughput comes from processes: on this 2-core machine two or three workers of 4 threads
(bench/load.py measured the choice; the README's Performance section has the figures).
Every setting can be overridden on the command line or by the environment variables below.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Idle keep-alive connections stay open this long (behind a proxy, above its own timeout).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# Load the application (settings, URLconf, every view) once in the master, then fork: the
# workers start warm and share those pages of memory.
preload_app = True
# Memory: a password hash takes 19 MiB, and each worker hashes on one thread of its own
# (clinic/hashers.py), so a sign-in rush leaves a worker about 20 MB larger, not 80. glibc's
# malloc settings (MALLOC_ARENA_MAX and the like) would not do here: glibc reads them from the
# environment when a process starts, so set in os.environ (or raw_env) by this file they reach
# neither the master nor the workers it forks (measured: no change).
timeout = 30
graceful_timeout = 20
# Recycle a worker now and then, against slow growth of its memory.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = 2000
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# What gunicorn itself refuses before the application sees the request (with its own small
# HTML page, the one answer under /api/ that is not the JSON error body): a request line over
# 4,094 bytes (414), more than 100 header fields or a header over 8,190 bytes (400). The
# clinic's longest legitimate request line, a statistics export, is under 300 bytes.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


def post_fork(server, worker):
    # A forked worker never shares a database connection with its parent (none is opened while
    # loading, but make sure of it).
    from django.db import connections

    connections.close_all()


def when_ready(server):
    # The application is loaded (preload_app): its objects live as long as the process, so
    # keep them out of the garbage collector's scans (and their pages shared by the workers).
    import gc

    gc.freeze()
