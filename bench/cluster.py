"""Booking, check-in and payment on one MariaDB, on the Galera cluster single-writer and
multi-writer, measured side by side in one run (the README's cluster figures).

    .venv/bin/python scripts/cluster.py up
    .venv/bin/python bench/cluster.py [--rounds 3] [--requests 300] [--clients 16]

The three modes of scripts/cluster.py take turns, round after round (standalone, single,
multi, standalone, …), so that a drift of this machine's speed touches them alike:
- standalone: both app servers on the machine's MariaDB (127.0.0.1:3306, database
  clinic_cluster, migrated by `cluster.py mode standalone`);
- single: both app servers write through HAProxy to node1 (the recommended mode);
- multi: app-a writes through node1, app-b through node2 (the worst case for conflicts).
In each mode and round, after a short warm-up: `--requests` bookings, then as many check-ins,
then as many payments, `--clients` at once through HAProxy (http://127.0.0.1:8100), each
request a new patient's booking, a new arrival or a visit awaiting payment
(scripts/cluster_drill.py's seed: one clinic in the standalone database, one in the
cluster's, both used by single and multi).

Prints one table: per mode and operation, requests, throughput, p50/p95, errors, the retries
the app servers logged ("db retry:"), and CPU milliseconds per successful operation: of the
database (every mariadbd of the mode: the three nodes, each applying every write, and the
busiest of them alone) and of the app servers (gunicorn masters and workers), read from
/proc. The database cost per operation is what a capacity plan divides by.

Leaves the cluster in the mode it found (single when it cannot tell). Exit status 0, 1 when a
request failed, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

MODES = ("standalone", "single", "multi")
OPERATIONS = ("book", "check_in", "payment")
WARM_UP = 20  # requests per operation, unmeasured, after each mode switch
HAPROXY_URL = "mysql://clinic:clinic@127.0.0.1:3310/clinic_cluster"
STANDALONE_URL = "mysql://root@127.0.0.1:3306/clinic_cluster"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three modes (3)")
    parser.add_argument(
        "--requests", type=int, default=300, help="per operation, mode and round (300)"
    )
    parser.add_argument("--clients", type=int, default=16, help="clients at once (16)")
    parser.add_argument(
        "--cluster-root",
        type=Path,
        default=ROOT,
        help="the checkout whose scripts/cluster.py runs the cluster",
    )
    parser.add_argument("--port", type=int, default=8100, help="HAProxy's HTTP port (8100)")
    parser.add_argument(
        "--standalone-url", default=STANDALONE_URL, help="the standalone mode's database"
    )
    parser.add_argument("--seed-into", help=argparse.SUPPRESS)  # internal: seed one database
    parser.add_argument("--plan-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.cluster_dir = args.cluster_root / ".cluster"
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- Seeding (a child process per database: Django has one default database) ----------------


def seed_into(args: argparse.Namespace) -> int:
    import cluster_drill

    drill_args = cluster_drill.parse_args(
        ["--cluster-root", str(args.cluster_root), "--database-url", args.seed_into]
    )
    cluster_drill.setup_django(drill_args)
    # Standalone: its bookings and arrivals; the cluster: single's and multi's.
    share = 1 if args.seed_into != HAPROXY_URL else 2
    per_mode = args.rounds * (args.requests + WARM_UP)
    plan = cluster_drill.seed(
        random.Random(),
        load_accounts=share * per_mode + 100,
        check_ins=share * per_mode + 100,
        awaiting_payment=share * per_mode + 100,
    )
    args.plan_file.write_text(json.dumps(dataclasses.asdict(plan), default=str))
    return 0


def seed_database(args: argparse.Namespace, url: str) -> types.SimpleNamespace:
    """The drill's seed in a child process; its plan, as bench/load.py's Work reads one."""
    with tempfile.NamedTemporaryFile(suffix=".json") as plan_file:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--seed-into",
                url,
                "--plan-file",
                plan_file.name,
                "--cluster-root",
                str(args.cluster_root),
                "--rounds",
                str(args.rounds),
                "--requests",
                str(args.requests),
            ],
            check=True,
        )
        plan = json.loads(Path(plan_file.name).read_text())
    return types.SimpleNamespace(**{**plan, "walk_ins": []})


# --- CPU from /proc ----------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def family(pid: int) -> list[int]:
    """A process and all its descendants."""
    result, queue = [], [pid]
    while queue:
        current = queue.pop()
        result.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                queue.extend(int(child) for child in task.read_text().split())
    return result


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def database_pids(args: argparse.Namespace, mode: str) -> dict[str, list[int]]:
    """The mariadbd processes of a mode, by name: node1-3, or the machine's server."""
    nodes = {}
    for n in (1, 2, 3):
        pid = read_pid(args.cluster_dir / f"node{n}.pid")
        if pid is not None:
            nodes[f"node{n}"] = [p for p in family(pid) if comm(p) == "mariadbd"]
    if mode != "standalone":
        return nodes
    ours = {pid for pids in nodes.values() for pid in pids}
    machine = [
        int(path.parent.name)
        for path in Path("/proc").glob("[0-9]*/comm")
        if comm(int(path.parent.name)) in ("mariadbd", "mysqld")
        and int(path.parent.name) not in ours
    ]
    return {"mariadb": machine}


def app_pids(args: argparse.Namespace) -> list[int]:
    pids = []
    for name in ("a", "b"):
        pid = read_pid(args.cluster_dir / f"app-{name}.pid")
        if pid is not None:
            pids.extend(family(pid))
    return pids


def snapshot(args: argparse.Namespace, mode: str) -> dict[str, float]:
    result = {
        name: sum(cpu_seconds(pid) for pid in pids)
        for name, pids in database_pids(args, mode).items()
    }
    result["app"] = sum(cpu_seconds(pid) for pid in app_pids(args))
    return result


# --- The load -----------------------------------------------------------------------------------


async def pay(tally, client, desk: str, visit_id: int):
    """The desk settles a visit awaiting payment (no charges: the amounts typed)."""
    from bench.load import api

    return await tally.call(
        "payment",
        client,
        "POST",
        f"/api/receptionist/payment/{visit_id}",
        json_body={"total_amount": "128.50", "insurance_amount": "60.00"},
        headers=api(desk),
        expect=(201,),
    )


def cluster_work(plan):
    """bench/load.py's Work, which also hands out the visits awaiting payment; its
    run_alone() finds the payment among its operations."""
    import bench.load

    bench.load.OPERATIONS.setdefault("payment", pay)

    class ClusterWork(bench.load.Work):
        def __init__(self, plan):
            super().__init__(plan)
            self.awaiting = iter(plan.awaiting_payment)

        def next_item(self, operation: str, n: int):
            if operation == "payment":
                return next(self.awaiting, None)
            return super().next_item(operation, n)

    return ClusterWork(plan)


def run(args, plan, work, operation: str, requests: int, clients: int):
    """bench/load.py's operation alone: `requests` of it, `clients` at once."""
    from bench._http import Tally
    from bench.load import run_alone

    options = argparse.Namespace(port=args.port, alone=requests, clients=clients)
    tally = Tally()
    asyncio.run(run_alone(options, plan, work, operation, tally, requests, clients))
    return tally


def set_mode(args: argparse.Namespace, mode: str) -> None:
    subprocess.run(
        [sys.executable, str(args.cluster_root / "scripts" / "cluster.py"), "mode", mode],
        cwd=args.cluster_root,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def retry_lines(args: argparse.Namespace) -> int:
    total = 0
    for name in ("a", "b"):
        path = args.cluster_dir / "log" / f"app-{name}.log"
        if path.exists():
            total += path.read_bytes().count(b"db retry:")
    return total


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seed_into:
        return seed_into(args)
    if not (args.cluster_dir / "app-a.env").exists():
        print("cannot run: no cluster (scripts/cluster.py up)", file=sys.stderr)
        return 2
    mode_file = args.cluster_dir / "mode"
    found = mode_file.read_text().strip() if mode_file.exists() else ""
    from bench._http import percentile

    log("standalone mode (migrates the machine's clinic_cluster), then seeding both …")
    set_mode(args, "standalone")
    plans = {"standalone": seed_database(args, args.standalone_url)}
    plans["single"] = plans["multi"] = seed_database(args, HAPROXY_URL)
    works = {"standalone": cluster_work(plans["standalone"])}
    works["single"] = works["multi"] = cluster_work(plans["single"])
    operations = [
        operation
        for operation in OPERATIONS
        if operation != "check_in" or plans["single"].check_in_open
    ]
    # Per mode and operation: latencies, seconds, ok, errors, retries, CPU by process group.
    figures: dict = {
        (mode, op): {"latencies": [], "elapsed": 0.0, "ok": 0, "errors": 0, "retries": 0, "cpu": {}}
        for mode in MODES
        for op in operations
    }
    try:
        for round_number in range(1, args.rounds + 1):
            for mode in MODES:
                log(f"round {round_number}: {mode} …")
                set_mode(args, mode)
                plan, work = plans[mode], works[mode]
                for operation in operations:
                    run(args, plan, work, operation, WARM_UP, 4)
                for operation in operations:
                    before_cpu, before_retries = snapshot(args, mode), retry_lines(args)
                    tally = run(args, plan, work, operation, args.requests, args.clients)
                    after_cpu = snapshot(args, mode)
                    entry = figures[(mode, operation)]
                    entry["latencies"] += tally.latencies[operation]
                    entry["elapsed"] += tally.elapsed
                    entry["ok"] += tally.outcomes[operation].get("ok", 0)
                    entry["errors"] += tally.error_count(operation)
                    entry["retries"] += retry_lines(args) - before_retries
                    for name, seconds in after_cpu.items():
                        entry["cpu"][name] = (
                            entry["cpu"].get(name, 0.0) + seconds - before_cpu.get(name, 0.0)
                        )
                    for message in tally.errors[operation]:
                        log(f"  {mode} {operation} error: {message}")
    finally:
        set_mode(args, found if found in MODES else "single")

    print()
    print(
        f"Clinic Flow on one MariaDB and on a 3-node Galera cluster · {args.rounds} rounds × "
        f"{args.requests} requests per operation, {args.clients} clients through HAProxy · "
        f"{os.cpu_count()} cores"
    )
    header = (
        "mode        operation  requests   per s   p50 ms  p95 ms  errors  retries  "
        "db CPU ms/op (all | busiest)  app CPU ms/op"
    )
    print(header)
    print("-" * len(header))
    failed = 0
    for (mode, operation), entry in figures.items():
        latencies = sorted(entry["latencies"])
        ok = max(entry["ok"], 1)
        databases = {name: s for name, s in entry["cpu"].items() if name != "app"}
        database_all = sum(databases.values()) / ok * 1000
        busiest = max(databases.values(), default=0.0) / ok * 1000
        app = entry["cpu"].get("app", 0.0) / ok * 1000
        failed += entry["errors"]
        print(
            f"{mode:<11} {operation:<9} {len(latencies):>9} "
            f"{len(latencies) / entry['elapsed']:>7.0f} "
            f"{percentile(latencies, 0.5) * 1000:>8.0f} {percentile(latencies, 0.95) * 1000:>7.0f} "
            f"{entry['errors']:>7} {entry['retries']:>8} "
            f"{database_all:>14.1f} | {busiest:<11.1f} {app:>14.1f}"
        )
    print(
        "db CPU: every mariadbd of the mode (standalone: the machine's server; the cluster: "
        "its three nodes, each applying every write) per successful operation; busiest: the "
        "node that spent most."
    )
    if not plans["single"].check_in_open:
        print("no slot open now in the clinic's hours: check-in not measured")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
