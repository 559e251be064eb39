#!/usr/bin/env bash
# `make run`: the development server with the background worker beside it (manage.py
# run_worker: reminders, waitlist offers, no-shows and every message), on the database task
# backend. The worker stops when the server does (Ctrl+C, or the server failing to start).
# Arguments go to runserver (e.g. 127.0.0.1:8000); CLINIC_PYTHON names the interpreter.
set -euo pipefail

python=${CLINIC_PYTHON:-.venv/bin/python}
export TASKS_BACKEND=${TASKS_BACKEND:-database}

"$python" manage.py run_worker &
worker=$!

stop_worker() {
    if kill -0 "$worker" 2>/dev/null; then
        kill -TERM "$worker" 2>/dev/null || true
        wait "$worker" 2>/dev/null || true
    fi
}
trap stop_worker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$python" manage.py runserver "$@"
