"""A local Clinic Flow cluster on one machine: three MariaDB Galera nodes, Redis, HAProxy and
two gunicorn app servers, each with its background worker.

    python scripts/cluster.py up [--mode single|multi] [--no-seed]
    python scripts/cluster.py status | down
    python scripts/cluster.py mode single|multi|standalone
    python scripts/cluster.py kill-node N | start-node N      (N = 1, 2, 3)
    python scripts/cluster.py kill-app a|b | start-app a|b

Everything it starts lives under `.cluster/` in the project (data directories, rendered
configuration, logs, pid files) and is stopped by pid. The configuration is rendered from the
templates in `deploy/`, the same ones a three-machine deployment fills in (README § Three
machines). `up` always builds a fresh cluster: the first node is bootstrapped, the other two
join it by a full state transfer (rsync), the schema is migrated once through HAProxy and the
demo clinic is seeded.

Ports on 127.0.0.1: Galera nodes 3307-3309 (group communication 4567-4569, IST 4577-4579,
SST 4444-4446); HAProxy: HTTP 8100, database listeners 3310 (writer node 1) and 3311 (writer
node 2); app servers 8101 (a) and 8102 (b); Redis 6379 (database 2).

Write modes, chosen by the database address each app server is given:
- single: both app servers write through 3310, so one node takes every write and the others
  are standbys (the recommended production mode). Every read of a request goes to that node
  too, so a read after a write always sees it.
- multi: app server a through 3310 (node 1), b through 3311 (node 2): two nodes take writes at
  once and conflicts surface at COMMIT (clinic.db retries them). Reads are made causal with
  DATABASE_WSREP_SYNC_WAIT=1 (a page reloaded through the other server sees the write).
- standalone: both app servers on the machine's own MariaDB (127.0.0.1:3306), the benchmark's
  reference only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".cluster"
LOGS = STATE / "log"
DEPLOY = ROOT / "deploy"
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
GALERA_PROVIDER = Path("/usr/lib/galera/libgalera_smm.so")
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
DB_NAME = "clinic_cluster"
DB_USER = DB_PASSWORD = "clinic"  # noqa: S105 (a local cluster on loopback)
HTTP_PORT = 8100
DB_LISTENERS = {"a": 3310, "b": 3311}
REDIS_PORT = 6379
REDIS_URL = f"redis://{HOST}:{REDIS_PORT}/2"
STANDALONE_URL = f"mysql://root@{HOST}:3306/{DB_NAME}"
SYNCED = "4"


@dataclass(frozen=True)
class Node:
    number: int

    @property
    def name(self) -> str:
        return f"node{self.number}"

    @property
    def port(self) -> int:
        return 3306 + self.number

    @property
    def gcomm_port(self) -> int:
        return 4566 + self.number

    @property
    def ist_port(self) -> int:
        return 4576 + self.number

    @property
    def sst_port(self) -> int:
        return 4443 + self.number

    @property
    def home(self) -> Path:
        return STATE / self.name

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def socket(self) -> Path:
        return self.home / "mysqld.sock"

    @property
    def config(self) -> Path:
        return STATE / f"{self.name}.cnf"

    @property
    def pid_file(self) -> Path:
        return STATE / f"{self.name}.pid"

    @property
    def error_log(self) -> Path:
        return LOGS / f"{self.name}.err"

    @property
    def url(self) -> str:
        return f"mysql://{DB_USER}:{DB_PASSWORD}@{HOST}:{self.port}/{DB_NAME}"


NODES = {n: Node(n) for n in (1, 2, 3)}


@dataclass(frozen=True)
class App:
    name: str  # "a" or "b"

    @property
    def port(self) -> int:
        return {"a": 8101, "b": 8102}[self.name]

    @property
    def pid_file(self) -> Path:
        return STATE / f"app-{self.name}.pid"

    @property
    def worker_pid_file(self) -> Path:
        return STATE / f"worker-{self.name}.pid"

    @property
    def env_file(self) -> Path:
        return STATE / f"app-{self.name}.env"

    @property
    def log(self) -> Path:
        return LOGS / f"app-{self.name}.log"


APPS = {name: App(name) for name in ("a", "b")}
ALL_PORTS = [
    *(port for n in NODES.values() for port in (n.port, n.gcomm_port, n.ist_port, n.sst_port)),
    *(app.port for app in APPS.values()),
    HTTP_PORT,
    *DB_LISTENERS.values(),
]


def say(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


# --- Processes -----------------------------------------------------------------------------


def read_pid(path: Path) -> int | None:
    """The pid in `path` while that process still runs the program the file names (a pid
    file left from before a reboot may name someone else's process by now)."""
    try:
        pid_text, program = path.read_text().split()
        pid = int(pid_text)
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if program.encode() in command_line and alive(pid) else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child of this process that died is a zombie until reaped: not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def spawn(command: list[str], *, log: Path, pid_file: Path, env: dict | None = None) -> int:
    """Start a long-running process in a session (and process group) of its own."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_file.write_text(f"{process.pid} {Path(command[0]).name}\n")
    return process.pid


def stop(pid_file: Path, *, group: bool = False, timeout: float = 30) -> None:
    pid = read_pid(pid_file)
    if pid is not None:
        signal_process(pid, signal.SIGTERM, group=group)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(pid):
            signal_process(pid, signal.SIGKILL, group=group)
    pid_file.unlink(missing_ok=True)


def signal_process(pid: int, sig: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_for(what: str, check, timeout: float, *, pid: int | None = None) -> float:
    """Poll `check` until it is true; the seconds it took. Exits when it never is, or when
    the process `pid` it waits on has died."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        if pid is not None and not alive(pid):
            sys.exit(f"[cluster] {what}: the process died (logs: {LOGS})")
        time.sleep(0.2)
    sys.exit(f"[cluster] gave up waiting for {what} after {timeout:.0f} s (logs: {LOGS})")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


# --- Packages ------------------------------------------------------------------------------


def ensure_packages() -> None:
    """Install what the cluster needs from Debian's packages, only when it is missing."""
    wanted = {
        "galera-4": GALERA_PROVIDER.exists(),
        "mariadb-server": shutil.which("mariadbd", path="/usr/sbin:/usr/bin") is not None,
        "haproxy": shutil.which("haproxy", path="/usr/sbin:/usr/bin") is not None,
        "rsync": shutil.which("rsync") is not None,
        "redis-server": shutil.which("redis-server") is not None,
        "lsof": shutil.which("lsof") is not None,  # rsync SST looks for its listener with it
    }
    missing = [package for package, present in wanted.items() if not present]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"[cluster] missing packages: {' '.join(missing)} (apt-get install them as root)")
    say(f"installing {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


# --- Galera nodes --------------------------------------------------------------------------


def fill(template: Path, **fields) -> str:
    return string.Template(template.read_text()).substitute(fields)


def galera_config(
    *,
    node_name: str,
    address: str,
    peers: list[str],
    port: int = 3306,
    gcomm_port: int = 4567,
    ist_port: int = 4568,
    sst_port: int = 4444,
    datadir: Path = Path("/var/lib/mysql"),
    socket: Path = Path("/run/mysqld/mysqld.sock"),
    pid_file: Path = Path("/run/mysqld/mysqld.pid"),
    log_error: Path = Path("/var/log/mysql/error.log"),
    buffer_pool: str = "1G",
    gcache_size: str = "1G",
) -> str:
    """deploy/galera/clinic-galera.cnf.in filled in; the defaults are a machine's own (Debian's
    paths and MariaDB's and Galera's usual ports). `peers` are every node's host:gcomm_port."""
    return fill(
        DEPLOY / "galera" / "clinic-galera.cnf.in",
        datadir=datadir,
        socket=socket,
        pid_file=pid_file,
        log_error=log_error,
        bind_address=address,
        port=port,
        buffer_pool=buffer_pool,
        gcache_size=gcache_size,
        cluster_address=",".join(peers),
        node_name=node_name,
        node_address=address,
        gcomm_port=gcomm_port,
        ist_port=ist_port,
        sst_port=sst_port,
    )


def mariadbd_user() -> list[str]:
    # Run by root, the nodes run as Debian's mysql account (as the packaged server does): the
    # rsync daemon of a state transfer drops root's rights to "nobody" and could not write a
    # root-owned data directory. Otherwise they run as whoever runs the cluster.
    return ["--user=mysql"] if os.geteuid() == 0 else []


def prepare_node_files(node: Node) -> None:
    node.datadir.mkdir(parents=True, exist_ok=True)
    node.error_log.touch()
    if os.geteuid() == 0:
        for path in (node.home, node.datadir, node.error_log):
            shutil.chown(path, "mysql", "mysql")


def write_node_config(node: Node) -> None:
    node.config.write_text(
        galera_config(
            node_name=node.name,
            address=HOST,
            peers=[f"{HOST}:{n.gcomm_port}" for n in NODES.values()],
            port=node.port,
            gcomm_port=node.gcomm_port,
            ist_port=node.ist_port,
            sst_port=node.sst_port,
            datadir=node.datadir,
            socket=node.socket,
            pid_file=node.home / "mariadbd.pid",
            log_error=node.error_log,
            buffer_pool="96M",
            gcache_size="128M",
        )
    )


def mariadbd(node: Node, *options: str) -> list[str]:
    """The command line of the node's server, with `options` added."""
    return ["/usr/sbin/mariadbd", f"--defaults-file={node.config}", *mariadbd_user(), *options]


def start_node(node: Node, *, timeout: float = 180) -> float:
    """Start a node that joins the running cluster; the seconds until it is Synced."""
    if read_pid(node.pid_file):
        say(f"{node.name} is already running")
        return 0.0
    write_node_config(node)
    prepare_node_files(node)
    started = time.monotonic()
    command = mariadbd(node)
    if position := recovered_position(node):
        # Told where it stopped, the node asks for what it missed only (IST, from a donor's
        # gcache) instead of a full copy (SST).
        command.append(f"--wsrep-start-position={position}")
    pid = spawn(command, log=LOGS / f"{node.name}.out", pid_file=node.pid_file)
    wait_for(f"{node.name} to be synced", lambda: node_synced(node), timeout, pid=pid)
    return time.monotonic() - started


def recovered_position(node: Node) -> str | None:
    """Where a node that stopped (or was killed) left off: its last committed transaction, as
    `mariadbd --wsrep-recover` reads it from InnoDB (what Debian's galera_recovery does before
    systemd starts the server). None for a node that has no data yet."""
    if not (node.datadir / "grastate.dat").exists():
        return None
    result = subprocess.run(
        mariadbd(node, "--wsrep-recover", "--disable-log-error"),
        capture_output=True,
        text=True,
    )
    match = re.search(r"WSREP: Recovered position: (\S+)", result.stdout + result.stderr)
    return match.group(1) if match else None


def node_status(node: Node) -> dict[str, str]:
    """The node's wsrep status over TCP as the check account, or {} when it does not answer."""
    query = (
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', "
        "'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_status', "
        "'wsrep_ready', 'wsrep_last_committed', 'wsrep_local_cert_failures', "
        "'wsrep_local_bf_aborts')"
    )
    result = subprocess.run(
        [
            "mariadb",
            "--connect-timeout=2",
            "--protocol=tcp",
            f"-h{HOST}",
            f"-P{node.port}",
            "-uclinic_check",
            "-N",
            "-B",
            "-e",
            query,
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return {}
    return dict(line.split("\t", 1) for line in result.stdout.splitlines() if "\t" in line)


def node_synced(node: Node) -> bool:
    return node_status(node).get("wsrep_local_state") == SYNCED


def as_root(node: Node, sql: str) -> None:
    subprocess.run(
        ["mariadb", f"--socket={node.socket}", "-uroot", "-e", sql],
        check=True,
    )


def bootstrap_first_node(node: Node) -> None:
    prepare_node_files(node)
    subprocess.run(
        [
            "mariadb-install-db",
            f"--defaults-file={node.config}",
            *mariadbd_user(),
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        check=True,
        stdout=(LOGS / "install-db.log").open("ab"),
        stderr=subprocess.STDOUT,
    )
    # The check account is created first, on the bootstrapped node alone: node_synced() logs
    # in with it. Accounts and the database replicate to the nodes that join.
    spawn(
        mariadbd(node, "--wsrep-new-cluster"),
        log=LOGS / f"{node.name}.out",
        pid_file=node.pid_file,
    )
    wait_for(f"{node.name} to start", node.socket.exists, 120)
    wait_for(f"{node.name} to answer", lambda: _root_answers(node), 60)
    as_root(
        node,
        f"CREATE USER IF NOT EXISTS 'clinic_check'@'{HOST}' WITH MAX_USER_CONNECTIONS 10;"
        f"CREATE USER IF NOT EXISTS '{DB_USER}'@'%' IDENTIFIED BY '{DB_PASSWORD}';"
        f"CREATE DATABASE IF NOT EXISTS `{DB_NAME}` "
        f"CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
        f"GRANT ALL PRIVILEGES ON `{DB_NAME}`.* TO '{DB_USER}'@'%';",
    )
    wait_for(f"{node.name} to be synced", lambda: node_synced(node), 60)


def _root_answers(node: Node) -> bool:
    result = subprocess.run(
        ["mariadb", f"--socket={node.socket}", "-uroot", "-e", "SELECT 1"],
        capture_output=True,
    )
    return result.returncode == 0


def kill_node(node: Node) -> None:
    pid = read_pid(node.pid_file)
    if pid is None:
        sys.exit(f"[cluster] {node.name} is not running")
    # The whole process group: a state transfer's rsync, when one runs, dies with the node.
    signal_process(pid, signal.SIGKILL, group=True)
    wait_for(f"{node.name} to die", lambda: not alive(pid), 10)
    say(f"{node.name} killed (SIGKILL, pid {pid})")


# --- Redis, HAProxy ------------------------------------------------------------------------


def redis_answers() -> bool:
    result = subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "ping"],
        capture_output=True,
        text=True,
    )
    return result.stdout.strip() == "PONG"


def start_redis() -> None:
    if redis_answers():
        say(f"Redis already answers on {REDIS_PORT}: using it")
        return
    spawn(
        [
            "redis-server",
            "--bind",
            HOST,
            "--port",
            str(REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        log=LOGS / "redis.log",
        pid_file=STATE / "redis.pid",
    )
    wait_for("Redis", redis_answers, 30)


def haproxy_config(
    *,
    apps: list[tuple[str, str]],
    nodes: list[tuple[str, str]],
    http_bind: str,
    db_binds: tuple[str, str],
    health_host: str,
    pid_file: Path,
    stats_socket: Path,
    etc: Path,
    run_as: str | None = None,
) -> str:
    """deploy/haproxy/haproxy.cfg.in filled in: `apps` and `nodes` are (name, host:port); the
    first database listener writes to the first node, the second to the second, each with the
    other nodes as backups. `etc` holds galera-check and errors/."""

    def galera_servers(writer: int) -> str:
        order = [nodes[writer], *(node for i, node in enumerate(nodes) if i != writer)]
        return "\n".join(
            f"    server {name} {address} check" + ("" if i == 0 else " backup")
            for i, (name, address) in enumerate(order)
        )

    return fill(
        DEPLOY / "haproxy" / "haproxy.cfg.in",
        run_as=f"    user {run_as}\n    group {run_as}" if run_as else "",
        pid_file=pid_file,
        stats_socket=stats_socket,
        http_bind=http_bind,
        errors_dir=etc / "errors",
        health_host=health_host,
        app_servers="\n".join(f"    server {name} {address} check" for name, address in apps),
        galera_bind_a=db_binds[0],
        galera_bind_b=db_binds[1],
        galera_check=etc / "galera-check",
        galera_servers_a=galera_servers(0),
        galera_servers_b=galera_servers(1),
    )


def write_haproxy_config() -> Path:
    config = STATE / "haproxy.cfg"
    config.write_text(
        haproxy_config(
            apps=[(f"app-{app.name}", f"{HOST}:{app.port}") for app in APPS.values()],
            nodes=[(node.name, f"{HOST}:{node.port}") for node in NODES.values()],
            http_bind=f"{HOST}:{HTTP_PORT}",
            db_binds=(f"{HOST}:{DB_LISTENERS['a']}", f"{HOST}:{DB_LISTENERS['b']}"),
            health_host=HOST,
            pid_file=STATE / "haproxy.pid.cfg",
            stats_socket=STATE / "haproxy.sock",
            etc=DEPLOY / "haproxy",
        )
    )
    return config


def start_haproxy() -> None:
    config = write_haproxy_config()
    subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)
    spawn(
        ["haproxy", "-db", "-f", str(config)],
        log=LOGS / "haproxy.log",
        pid_file=STATE / "haproxy.pid",
    )
    wait_for("HAProxy", lambda: port_open(HTTP_PORT) and port_open(DB_LISTENERS["a"]), 30)


def haproxy_servers() -> list[dict[str, str]]:
    """HAProxy's view of every server (`show stat` on its admin socket)."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(STATE / "haproxy.sock"))
            sock.sendall(b"show stat\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return []
    lines = data.decode().splitlines()
    if not lines:
        return []
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
    return [row for row in rows if row.get("svname") not in ("FRONTEND", "BACKEND")]


# --- App servers ---------------------------------------------------------------------------


def secret_key() -> str:
    path = STATE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


def database_url(app: App, mode: str) -> str:
    if mode == "standalone":
        return STANDALONE_URL
    listener = DB_LISTENERS["b" if mode == "multi" and app.name == "b" else "a"]
    return f"mysql://{DB_USER}:{DB_PASSWORD}@{HOST}:{listener}/{DB_NAME}"


def app_env(app: App, mode: str) -> dict[str, str]:
    """The app server's settings: production (DEBUG off), over plain HTTP on loopback."""
    settings = {
        "DATABASE_URL": database_url(app, mode),
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": secret_key(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "NUM_PROXIES": "1",
        "CONN_MAX_AGE": "60",
        "GUNICORN_BIND": f"{HOST}:{app.port}",
        "GUNICORN_WORKERS": "2",
        "TASKS_BACKEND": "database",
        "CLINIC_SMS_FILE_DIR": str(STATE / "sms"),
    }
    if mode == "multi":
        settings["DATABASE_WSREP_SYNC_WAIT"] = "1"
    return {**settings, **read_env_file(STATE / "clock.env")}


def write_app_env(app: App, mode: str) -> dict[str, str]:
    settings = app_env(app, mode)
    app.env_file.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
    app.env_file.chmod(0o600)
    return settings


def read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def read_app_env(app: App) -> dict[str, str]:
    return read_env_file(app.env_file)


def open_clinic_now() -> None:
    """The clinic's clock set to mid-morning now (a time zone and morning hours, as the load
    benchmark does), kept for every later start of the app servers: the drill and the
    benchmark check patients in, which needs a slot open whatever the hour they run at."""
    from bench.load import clinic_clock

    clock = clinic_clock()
    (STATE / "clock.env").write_text("".join(f"{key}={value}\n" for key, value in clock.items()))


def manage(app: App, *arguments: str, quiet: bool = False) -> None:
    env = {**os.environ, **read_app_env(app)}
    subprocess.run(
        [str(PYTHON), "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=3) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_app(app: App, timeout: float = 60) -> float:
    env = {**os.environ, **read_app_env(app)}
    if not read_pid(app.worker_pid_file):
        spawn(
            [str(PYTHON), "manage.py", "run_worker"],
            log=LOGS / f"worker-{app.name}.log",
            pid_file=app.worker_pid_file,
            env=env,
        )
    if read_pid(app.pid_file):
        say(f"app-{app.name} is already running")
        return 0.0
    started = time.monotonic()
    pid = spawn(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "clinic.wsgi"],
        log=app.log,
        pid_file=app.pid_file,
        env=env,
    )
    wait_for(f"app-{app.name} /healthz", lambda: healthy(app.port), timeout, pid=pid)
    return time.monotonic() - started


def stop_app(app: App, *, with_worker: bool = True) -> None:
    stop(app.pid_file, group=True)
    if with_worker:
        stop(app.worker_pid_file, group=True)


def kill_app(app: App) -> None:
    pid = read_pid(app.pid_file)
    if pid is None:
        sys.exit(f"[cluster] app-{app.name} is not running")
    signal_process(pid, signal.SIGKILL, group=True)
    wait_for(f"app-{app.name} to die", lambda: not alive(pid), 10)
    say(f"app-{app.name} killed (SIGKILL of its process group {pid})")


def prepare_standalone() -> None:
    """The machine's MariaDB as the benchmark's reference: the same schema, migrated."""
    subprocess.run(
        [
            "mariadb",
            f"-h{HOST}",
            "-P3306",
            "-uroot",
            "-e",
            f"CREATE DATABASE IF NOT EXISTS `{DB_NAME}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        ],
        check=True,
    )


def set_mode(mode: str) -> None:
    if mode == "standalone":
        prepare_standalone()
    for app in APPS.values():
        stop_app(app)
        write_app_env(app, mode)
    if mode == "standalone":
        manage(APPS["a"], "migrate", "--no-input", quiet=True)
    for app in APPS.values():
        start_app(app)
    (STATE / "mode").write_text(mode)
    say(
        f"mode {mode}: "
        + ", ".join(f"app-{a.name} → {database_url(a, mode)}" for a in APPS.values())
    )


# --- Commands ------------------------------------------------------------------------------


def up(mode: str, seed: bool, open_now: bool = False) -> None:
    ensure_packages()
    if STATE.exists():
        down(quiet=True)
    taken = [port for port in ALL_PORTS if port_open(port)]
    if taken:
        sys.exit(f"[cluster] ports in use by something else: {taken} (another cluster?)")
    shutil.rmtree(STATE, ignore_errors=True)
    LOGS.mkdir(parents=True)
    (STATE / "sms").mkdir()
    if open_now:
        open_clinic_now()
    started = time.monotonic()
    first = NODES[1]
    write_node_config(first)
    say(f"bootstrapping {first.name} (port {first.port})")
    bootstrap_first_node(first)
    for node in list(NODES.values())[1:]:
        seconds = start_node(node)
        say(f"{node.name} joined by state transfer in {seconds:.1f} s (port {node.port})")
    start_redis()
    start_haproxy()
    for app in APPS.values():
        write_app_env(app, mode)
    say("migrating once, through HAProxy")
    manage(APPS["a"], "migrate", "--no-input", quiet=True)
    manage(APPS["a"], "collectstatic", "--no-input", "-v0")
    if seed:
        say("seeding the demo clinic")
        manage(APPS["a"], "seed_demo", quiet=True)
    for app in APPS.values():
        start_app(app)
    (STATE / "mode").write_text(mode)
    say(f"up in {time.monotonic() - started:.0f} s, mode {mode}: http://{HOST}:{HTTP_PORT}/")


def down(quiet: bool = False) -> None:
    for app in APPS.values():
        stop_app(app)
    stop(STATE / "haproxy.pid")
    # The last node to stop is the one to bootstrap from; they stop one after another.
    for node in reversed(NODES.values()):
        stop(node.pid_file, group=True, timeout=60)
    stop(STATE / "redis.pid")
    if not quiet:
        say("down")


def status() -> int:
    if not STATE.exists():
        print("no cluster (run `make cluster-up`)")
        return 1
    mode = (STATE / "mode").read_text() if (STATE / "mode").exists() else "?"
    print(f"mode: {mode}")
    problems = 0
    for node in NODES.values():
        pid = read_pid(node.pid_file)
        values = node_status(node) if pid else {}
        state = values.get("wsrep_local_state_comment", "down" if pid is None else "no answer")
        problems += values.get("wsrep_local_state") != SYNCED
        print(
            f"{node.name}  port {node.port}  pid {pid or '-':>7}  {state:<8}"
            f"  cluster size {values.get('wsrep_cluster_size', '-')}"
            f"  {values.get('wsrep_cluster_status', '-')}"
            f"  last committed {values.get('wsrep_last_committed', '-')}"
            f"  cert failures {values.get('wsrep_local_cert_failures', '-')}"
        )
    for app in APPS.values():
        pid = read_pid(app.pid_file)
        ok = healthy(app.port)
        problems += not ok
        worker = read_pid(app.worker_pid_file)
        problems += worker is None
        health = "ok" if ok else "failing"
        print(
            f"app-{app.name}  port {app.port}  pid {pid or '-':>7}  /healthz {health}"
            f"  worker {worker or 'down'}"
        )
    print(f"redis  {'ok' if redis_answers() else 'down'}  {REDIS_URL}")
    servers = haproxy_servers()
    print(f"haproxy  http {HTTP_PORT}, database {DB_LISTENERS['a']} and {DB_LISTENERS['b']}")
    for row in servers:
        print(f"  {row['pxname']:<16} {row['svname']:<7} {row['status']}")
    problems += not servers
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start a fresh cluster")
    up_parser.add_argument("--mode", choices=["single", "multi"], default="single")
    up_parser.add_argument("--no-seed", action="store_true", help="skip the demo data")
    up_parser.add_argument(
        "--open-now", action="store_true", help="the clinic's clock at mid-morning now (drill)"
    )
    commands.add_parser("down", help="stop everything the cluster started")
    commands.add_parser("status", help="each part's state")
    mode_parser = commands.add_parser("mode", help="restart the app servers in a write mode")
    mode_parser.add_argument("mode", choices=["single", "multi", "standalone"])
    for verb in ("kill-node", "start-node"):
        commands.add_parser(verb).add_argument("node", type=int, choices=sorted(NODES))
    for verb in ("kill-app", "start-app"):
        commands.add_parser(verb).add_argument("app", choices=sorted(APPS))
    galera = commands.add_parser(
        "render-galera", help="print one machine's Galera configuration (three machines)"
    )
    galera.add_argument("--name", required=True, help="node name, e.g. db1")
    galera.add_argument("--address", required=True, help="this machine's address")
    galera.add_argument("--peers", required=True, help="every node's address, comma-separated")
    galera.add_argument("--buffer-pool", default="1G", help="innodb_buffer_pool_size (1G)")
    haproxy = commands.add_parser(
        "render-haproxy", help="print a machine's HAProxy configuration (three machines)"
    )
    haproxy.add_argument("--apps", required=True, help="app servers' host:port, comma-separated")
    haproxy.add_argument("--nodes", required=True, help="Galera nodes' host:port, in order")
    haproxy.add_argument("--http-bind", default="*:80", help="the clinic's address (*:80)")
    haproxy.add_argument("--health-host", required=True, help="a name in ALLOWED_HOSTS")
    haproxy.add_argument("--etc", default="/etc/haproxy", help="where galera-check and errors/ are")
    args = parser.parse_args(argv)

    if args.command == "up":
        up(args.mode, seed=not args.no_seed, open_now=args.open_now)
    elif args.command == "down":
        down()
    elif args.command == "status":
        return status()
    elif args.command == "mode":
        set_mode(args.mode)
    elif args.command == "render-galera":
        peers = [f"{peer}:4567" for peer in args.peers.split(",")]
        print(
            galera_config(
                node_name=args.name, address=args.address, peers=peers, buffer_pool=args.buffer_pool
            ),
            end="",
        )
    elif args.command == "render-haproxy":
        apps = args.apps.split(",")
        nodes = args.nodes.split(",")
        print(
            haproxy_config(
                apps=[(f"app{i}", address) for i, address in enumerate(apps, 1)],
                nodes=[(f"db{i}", address) for i, address in enumerate(nodes, 1)],
                http_bind=args.http_bind,
                db_binds=("127.0.0.1:3310", "127.0.0.1:3311"),
                health_host=args.health_host,
                pid_file=Path("/run/haproxy.pid"),
                stats_socket=Path("/run/haproxy/admin.sock"),
                etc=Path(args.etc),
                run_as="haproxy",
            ),
            end="",
        )
    elif args.command == "kill-node":
        kill_node(NODES[args.node])
    elif args.command == "start-node":
        seconds = start_node(NODES[args.node])
        print(json.dumps({"node": args.node, "synced_after_seconds": round(seconds, 2)}))
    elif args.command == "kill-app":
        kill_app(APPS[args.app])
    elif args.command == "start-app":
        seconds = start_app(APPS[args.app])
        print(json.dumps({"app": args.app, "healthy_after_seconds": round(seconds, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
