"""The cluster profile (`govbot run --profile cluster`): govbot as it runs on several machines, on this one.

PostgreSQL (the application database, the live events between gateways and Rasa's tracker store), Redis (Rasa's
lock store), N Rasa servers, N action servers, N gateways and HAProxy in front of the gateways (the chat address,
GOVBOT_GATEWAY_PORT) and of the action servers (the address Rasa calls, GOVBOT_ACTIONS_PORT), each a supervised
process that is started again when it dies. The servers' data and generated configuration live in
$GOVBOT_VAR_DIR/cluster; their passwords are made once and kept in the installation's secrets file. Every server
listens on loopback only. docs/deploy.md describes the same topology on several machines.

Ports: Rasa servers GOVBOT_RASA_PORT, +1, ...; action servers GOVBOT_ACTIONS_PORT+1, +2, ...; gateways
GOVBOT_GATEWAY_PORT+1, +2, ...; PostgreSQL and Redis as below.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.secrets import installation_secrets
from core.settings import Settings, SettingsError, process_environment
from govbot.stack import app_environment, gateway_environment, rasa_service
from govbot.supervisor import Service, StartupError

DATABASE, TRACKER_DATABASE, DATABASE_USER = "govbot", "govbot_tracker", "govbot"
PASSWORDS = ("cluster_postgres_password", "cluster_redis_password")
PG_BIN = Path("/usr/lib/postgresql/15/bin")  # Debian 12's PostgreSQL (locks/apt.txt)
ENDPOINTS_FILE = "endpoints-cluster.yml"


class ClusterOptions(BaseSettings):
    """The cluster profile's own settings (environment variables GOVBOT_CLUSTER_*)."""

    model_config = SettingsConfigDict(env_prefix="GOVBOT_CLUSTER_", extra="ignore")

    replicas: int = Field(default=2, ge=1, le=8, description="Rasa servers, action servers and gateways, of each")
    postgres_port: int = Field(default=55432, ge=1, le=65535, description="the cluster's PostgreSQL server")
    redis_port: int = Field(default=56379, ge=1, le=65535, description="the cluster's Redis server")
    sql_pool_size: int = Field(default=4, ge=1, le=50,
                               description="SQL connections each Rasa server keeps (and as many more at peak)")
    lock_lifetime: int = Field(default=15, ge=5, le=600,
                               description="seconds a conversation's lock outlives a Rasa server that died holding it "
                                           "(Rasa's TICKET_LOCK_LIFETIME; its default, 60, stalls that conversation "
                                           "for a minute)")
    restart_delay: float = Field(default=1.0, ge=0, le=60,
                                 description="seconds before a dead process is started again")
    pg_bin: Path = Field(default=PG_BIN, description="where PostgreSQL's programs are")


@dataclass(frozen=True)
class Cluster:
    """One machine's cluster: settings, options, passwords and where everything is."""

    settings: Settings
    options: ClusterOptions
    postgres_password: str
    redis_password: str

    @property
    def folder(self) -> Path:
        """The servers' data and generated configuration."""
        return self.settings.var_dir / "cluster"

    @property
    def action_ports(self) -> list[int]:
        """The action servers' ports (behind HAProxy's at GOVBOT_ACTIONS_PORT)."""
        return [self.settings.actions_port + 1 + i for i in range(self.options.replicas)]

    @property
    def gateway_ports(self) -> list[int]:
        """The gateways' ports (behind HAProxy's at GOVBOT_GATEWAY_PORT)."""
        return [self.settings.gateway_port + 1 + i for i in range(self.options.replicas)]

    def database_url(self, database: str = DATABASE) -> str:
        """SQLAlchemy URL of a database on the cluster's PostgreSQL."""
        return (f"postgresql+psycopg://{DATABASE_USER}:{self.postgres_password}@127.0.0.1:"
                f"{self.options.postgres_port}/{database}")


def load_cluster(settings: Settings, options: Optional[ClusterOptions] = None) -> Cluster:
    """The cluster for these settings: its passwords (made once), Rasa servers and database set to the cluster's."""
    options = options or ClusterOptions()
    if settings.database_url:
        raise SettingsError("the cluster profile runs its own PostgreSQL: unset GOVBOT_DATABASE_URL")
    passwords = installation_secrets(settings, PASSWORDS)
    cluster = Cluster(settings, options, *(passwords[name] for name in PASSWORDS))
    return Cluster(settings.with_overrides(rasa_replicas=options.replicas, database_url=cluster.database_url(),
                                           tracker_url=cluster.database_url(TRACKER_DATABASE),
                                           trusted_proxies="127.0.0.1"),
                   options, cluster.postgres_password, cluster.redis_password)


# --- the servers' own configuration -----------------------------------------------------------------------------

def _server_user(name: str) -> Optional[str]:
    """The system user a server runs as when govbot runs as root (servers refuse, or should not, run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise StartupError(f"running as root, the cluster needs the system user {name!r} (Debian's package makes "
                           "it)") from None
    return name


def _owned(path: Path, user: Optional[str]) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if user is not None:
        shutil.chown(path, user, user)
    return path


def _private_file(path: Path, text: str, user: Optional[str]) -> None:
    """Write a file only its owner (the server's user) can read, atomically."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        if user is not None:
            shutil.chown(temporary, user, user)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def prepare_postgres(cluster: Cluster) -> None:
    """Create the PostgreSQL data folder (initdb, password authentication) unless it exists."""
    user = _server_user("postgres")
    data = cluster.folder / "postgres"
    missing = [name for name in ("initdb", "postgres") if not (cluster.options.pg_bin / name).is_file()]
    if missing:
        raise StartupError(f"PostgreSQL is not installed ({', '.join(missing)} missing in {cluster.options.pg_bin}): "
                           "run `bash scripts/setup`, or set GOVBOT_CLUSTER_PG_BIN")
    _owned(cluster.folder / "postgres-run", user)
    if (data / "PG_VERSION").is_file():
        return
    scratch = _owned(cluster.folder / "postgres-init", user)
    password_file = scratch / "password"
    _private_file(password_file, cluster.postgres_password + "\n", user)
    try:
        _owned(data, user)
        done = subprocess.run([str(cluster.options.pg_bin / "initdb"), "-D", str(data), "-U", DATABASE_USER,
                               f"--pwfile={password_file}", "--auth=scram-sha-256", "-E", "UTF8",
                               "--locale=C.UTF-8"],
                              capture_output=True, text=True, timeout=300, user=user, group=user)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)  # nothing half-made: the next run starts over
        raise StartupError(f"initdb failed ({done.returncode}): {done.stderr.strip()[-800:]}")


def create_databases(cluster: Cluster) -> list[str]:
    """Create the application's and the tracker's databases where missing; the names created."""
    import psycopg

    created = []
    with psycopg.connect(host="127.0.0.1", port=cluster.options.postgres_port, user=DATABASE_USER,
                         password=cluster.postgres_password, dbname="postgres", autocommit=True,
                         connect_timeout=5) as connection:
        for name in (DATABASE, TRACKER_DATABASE):
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                connection.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
    return created


def redis_config(cluster: Cluster) -> str:
    """redis.conf of the lock store: loopback, a password, nothing written to disk (locks live for seconds)."""
    return "\n".join([
        "bind 127.0.0.1", f"port {cluster.options.redis_port}", "protected-mode yes",
        f"requirepass {cluster.redis_password}", 'save ""', "appendonly no", "daemonize no",
        f"dir {cluster.folder / 'redis'}", 'logfile ""', "maxmemory 256mb", "maxmemory-policy noeviction", "",
    ])


def haproxy_config(cluster: Cluster) -> str:
    """haproxy.cfg: the chat address in front of the gateways and the actions address in front of the action
    servers, each server health-checked every second; a request that finds its gateway dead (refused, or closed
    without an answer) is sent once more to another, with its X-Request-Id (so the message is handled once)."""
    settings = cluster.settings
    gateways = "\n".join(f"    server gateway{i} 127.0.0.1:{port} check inter 1s fall 2 rise 2"
                         for i, port in enumerate(cluster.gateway_ports, start=1))
    actions = "\n".join(f"    server actions{i} 127.0.0.1:{port} check inter 1s fall 2 rise 2"
                        for i, port in enumerate(cluster.action_ports, start=1))
    # live event streams send a keep-alive comment every heartbeat, so the server timeout only ends dead ones
    stream_timeout = max(60, 3 * int(settings.rasa_timeout))
    return f"""# made by govbot run --profile cluster (govbot/cluster.py); changes are overwritten
global
    log stderr format raw local0 warning
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 2s
    timeout client 60s
    timeout server {stream_timeout}s
    timeout http-request 10s
    timeout queue 10s
    retries 2
    option redispatch 1

frontend chat
    bind {settings.gateway_host}:{settings.gateway_port}
    monitor-uri /lb/health
    unique-id-format %{{+X}}o%ci%cp%fp%Ts%rt%pid
    http-request set-header X-Request-Id %[unique-id] unless {{ req.hdr(x-request-id) -m found }}
    option forwardfor
    default_backend gateways

backend gateways
    balance leastconn
    option httpchk GET /health
    http-check expect status 200
    retry-on conn-failure empty-response
    http-request disable-l7-retry if {{ path_beg /api/voice }}
{gateways}

frontend actions
    bind 127.0.0.1:{settings.actions_port}
    default_backend actions

backend actions
    balance leastconn
    option httpchk GET /health
    http-check expect status 200
    retry-on conn-failure empty-response
{actions}
"""


# --- readiness probes -------------------------------------------------------------------------------------------

def postgres_answers(cluster: Cluster) -> bool:
    """True when the cluster's PostgreSQL accepts the application's user."""
    import psycopg

    try:
        with psycopg.connect(host="127.0.0.1", port=cluster.options.postgres_port, user=DATABASE_USER,
                             password=cluster.postgres_password, dbname="postgres", connect_timeout=2) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def redis_answers(port: int, password: str) -> bool:
    """True when Redis on loopback accepts the password and answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
            connection.sendall(_resp("AUTH", password) + _resp("PING"))
            answer = b""
            while answer.count(b"\r\n") < 2:
                chunk = connection.recv(256)
                if not chunk:
                    return False
                answer += chunk
        return answer.startswith(b"+OK\r\n+PONG\r\n")
    except OSError:
        return False


def balancer_routes(settings: Settings) -> bool:
    """True when HAProxy passes requests on to a gateway and to an action server (it has seen one healthy of each;
    its own /lb/health answers before that)."""
    import httpx

    try:
        return all(httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
                   for port in (settings.gateway_port, settings.actions_port))
    except httpx.HTTPError:
        return False


def _resp(*words: str) -> bytes:
    """A Redis command in its wire format (RESP)."""
    encoded = [word.encode() for word in words]
    return b"".join([f"*{len(encoded)}\r\n".encode(), *(b"$%d\r\n%s\r\n" % (len(w), w) for w in encoded)])


# --- the services -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClusterServices:
    """The cluster's processes: `infrastructure` (databases) is started first, then `application`."""

    infrastructure: list[Service]
    application: list[Service]


def _path() -> str:
    """The PATH a server gets (and nothing else of govbot's environment: no secrets)."""
    return process_environment().get("PATH", "/usr/bin:/bin")


def build_cluster_services(cluster: Cluster, model: Path) -> ClusterServices:
    """Describe every process of the cluster (each restarted when it dies), writing the servers' configuration."""
    settings, options, folder = cluster.settings, cluster.options, cluster.folder
    logs = settings.log_dir
    pg_user, redis_user, haproxy_user = _server_user("postgres"), _server_user("redis"), _server_user("haproxy")
    postgres = Service(
        name="postgresql", argv=[str(options.pg_bin / "postgres"), "-D", str(folder / "postgres"),
                                 "-p", str(options.postgres_port), "-k", str(folder / "postgres-run"),
                                 "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100"],
        port=options.postgres_port, bind_host="127.0.0.1", health_url="", log_path=logs / "postgresql.log",
        cwd=folder, env={"PATH": _path(), "LC_ALL": "C.UTF-8"},
        probe=lambda: postgres_answers(cluster), restart=True, stop_signal=signal.SIGINT, user=pg_user)
    _owned(folder / "redis", redis_user)
    _private_file(folder / "redis.conf", redis_config(cluster), redis_user)
    redis = Service(
        name="redis", argv=["redis-server", str(folder / "redis.conf")], port=options.redis_port,
        bind_host="127.0.0.1", health_url="", log_path=logs / "redis.log", cwd=folder,
        env={"PATH": _path()},
        probe=lambda: redis_answers(options.redis_port, cluster.redis_password), restart=True, user=redis_user)
    (folder / "haproxy.cfg").write_text(haproxy_config(cluster), encoding="utf-8")
    haproxy = Service(
        name="haproxy", argv=["haproxy", "-db", "-f", str(folder / "haproxy.cfg")], port=settings.gateway_port,
        bind_host=settings.gateway_host, health_url=f"http://127.0.0.1:{settings.gateway_port}/lb/health",
        log_path=logs / "haproxy.log", cwd=folder, env={"PATH": _path()},
        probe=lambda: balancer_routes(settings), restart=True, user=haproxy_user)
    rasa_env = {
        "GOVBOT_TRACKER_HOST": "127.0.0.1", "GOVBOT_TRACKER_PORT": str(options.postgres_port),
        "GOVBOT_TRACKER_DATABASE": TRACKER_DATABASE, "GOVBOT_TRACKER_USER": DATABASE_USER,
        "GOVBOT_TRACKER_PASSWORD": cluster.postgres_password,
        "GOVBOT_REDIS_HOST": "127.0.0.1", "GOVBOT_REDIS_PORT": str(options.redis_port),
        "GOVBOT_REDIS_PASSWORD": cluster.redis_password,
        "SQL_POOL_SIZE": str(options.sql_pool_size), "SQL_MAX_OVERFLOW": str(options.sql_pool_size),
        "TICKET_LOCK_LIFETIME": str(options.lock_lifetime),
    }
    rasa = [rasa_service(settings, model, port, replica, endpoints=ENDPOINTS_FILE, extra_env=rasa_env, restart=True)
            for replica, port in enumerate(settings.rasa_ports, start=1)]
    actions_env = app_environment(settings, keep=("actions_token",))
    actions = [Service(
        name=f"action server {i}",
        argv=[sys.executable, "-m", "govbot.action_server", "--actions", "bot.actions", "--host", "127.0.0.1",
              "--port", str(port)],
        port=port, bind_host="127.0.0.1", health_url=f"http://127.0.0.1:{port}/health",
        log_path=logs / f"actions-{i}.log", cwd=settings.root, env=actions_env, restart=True,
    ) for i, port in enumerate(cluster.action_ports, start=1)]
    gateways = [Service(
        name=f"gateway {i}", argv=[sys.executable, "-m", "channels.gateway"],
        port=port, bind_host="127.0.0.1", health_url=f"http://127.0.0.1:{port}/health",
        log_path=logs / f"gateway-{i}.log", cwd=settings.root,
        env={**gateway_environment(settings), "GOVBOT_GATEWAY_HOST": "127.0.0.1", "GOVBOT_GATEWAY_PORT": str(port),
             "GOVBOT_EVENT_BUS": "postgres"},
        restart=True,
    ) for i, port in enumerate(cluster.gateway_ports, start=1)]
    return ClusterServices([postgres, redis], [*actions, *rasa, *gateways, haproxy])
