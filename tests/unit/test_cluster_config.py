"""The cluster profile's generated configuration (govbot/cluster.py): every server on loopback with a password,
HAProxy in front of each replica with health checks, and the application pointed at the cluster's PostgreSQL."""

import json
import socket
import threading
from pathlib import Path

import pytest

from core.secrets import secrets_path
from core.settings import Settings, SettingsError
from govbot.cluster import (ClusterOptions, build_cluster_services, haproxy_config, load_cluster, redis_config,
                            redis_answers)


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVBOT_DATABASE_URL", raising=False)


def cluster_in(folder: Path, replicas: int = 2):
    settings = Settings(var_dir=folder, gateway_port=18080, actions_port=15055, rasa_port=15005,
                        rasa_token="r" * 32, actions_token="a" * 32)
    return load_cluster(settings, ClusterOptions(replicas=replicas, postgres_port=15432, redis_port=16379))


def test_the_cluster_refuses_an_outside_database(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, database_url="postgresql+psycopg://u:p@db.example/govbot")
    with pytest.raises(SettingsError, match="unset GOVBOT_DATABASE_URL"):
        load_cluster(settings, ClusterOptions())


def test_passwords_are_made_once_and_kept_in_the_secrets_file(tmp_path: Path) -> None:
    first, second = cluster_in(tmp_path), cluster_in(tmp_path)
    assert first.postgres_password == second.postgres_password and len(first.postgres_password) >= 32
    assert first.redis_password != first.postgres_password
    stored = json.loads(secrets_path(first.settings).read_text())
    assert stored["cluster_redis_password"] == first.redis_password


def test_the_application_uses_the_clusters_postgres_and_replicas(tmp_path: Path) -> None:
    cluster = cluster_in(tmp_path, replicas=3)
    assert cluster.settings.database_url.startswith("postgresql+psycopg://govbot:")
    assert "@127.0.0.1:15432/govbot" in cluster.settings.database_url
    assert cluster.settings.rasa_ports == [15005, 15006, 15007]
    assert cluster.action_ports == [15056, 15057, 15058] and cluster.gateway_ports == [18081, 18082, 18083]


def test_haproxy_checks_every_replica_and_retries_only_where_safe(tmp_path: Path) -> None:
    config = haproxy_config(cluster_in(tmp_path))
    assert "bind 127.0.0.1:18080" in config and "bind 127.0.0.1:15055" in config
    for server in ("gateway1 127.0.0.1:18081", "gateway2 127.0.0.1:18082", "actions1 127.0.0.1:15056",
                   "actions2 127.0.0.1:15057"):
        assert f"server {server} check" in config
    assert config.count("option httpchk GET /health") == 2
    # a retried chat message keeps its X-Request-Id, so the Rasa server answers it once
    assert "set-header X-Request-Id %[unique-id] unless { req.hdr(x-request-id) -m found }" in config
    assert "disable-l7-retry if { path_beg /api/voice }" in config


def test_redis_listens_on_loopback_with_a_password_and_writes_nothing(tmp_path: Path) -> None:
    cluster = cluster_in(tmp_path)
    config = redis_config(cluster).splitlines()
    assert "bind 127.0.0.1" in config and "port 16379" in config
    assert f"requirepass {cluster.redis_password}" in config
    assert 'save ""' in config and "appendonly no" in config


def test_every_process_is_restarted_and_internal_ones_bind_loopback(tmp_path: Path) -> None:
    cluster = cluster_in(tmp_path)
    services = build_cluster_services(cluster, tmp_path / "model.tar.gz")
    names = [s.name for s in services.infrastructure + services.application]
    assert [s.name for s in services.infrastructure] == ["postgresql", "redis"]
    assert sorted(names) == sorted(["postgresql", "redis", "action server 1", "action server 2", "rasa server",
                                    "rasa server 2", "gateway 1", "gateway 2", "haproxy"])
    assert all(s.restart for s in services.infrastructure + services.application)
    assert all(s.bind_host == "127.0.0.1" for s in services.infrastructure + services.application)
    rasa = next(s for s in services.application if s.name == "rasa server 2")
    assert "endpoints-cluster.yml" in rasa.argv
    assert rasa.env["GOVBOT_REDIS_PASSWORD"] == cluster.redis_password
    assert rasa.env["SQL_POOL_SIZE"] == "4"
    gateway = next(s for s in services.application if s.name == "gateway 1")
    assert gateway.env["GOVBOT_EVENT_BUS"] == "postgres" and gateway.env["GOVBOT_GATEWAY_PORT"] == "18081"
    assert "GOVBOT_ACTIONS_TOKEN" not in gateway.env
    assert (tmp_path / "cluster" / "redis.conf").stat().st_mode & 0o077 == 0  # it holds the password


def _fake_redis(replies: bytes) -> tuple[int, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with listener:
            connection, _ = listener.accept()
            with connection:
                connection.recv(1024)
                connection.sendall(replies)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def test_the_redis_probe_needs_the_password_accepted_and_a_pong() -> None:
    port, thread = _fake_redis(b"+OK\r\n+PONG\r\n")
    assert redis_answers(port, "secret")
    thread.join(5)
    port, thread = _fake_redis(b"-WRONGPASS invalid username-password pair\r\n-NOAUTH\r\n")
    assert not redis_answers(port, "wrong")
    thread.join(5)
