"""The `govbot` command: run the whole stack, train the Rasa model, manage the knowledge base."""

import argparse
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from core.database import database_url
from core.log import configure_logging
from core.secrets import secrets_path, with_local_secrets
from core.settings import Settings, SettingsError, child_environment, local_address
from govbot import __version__
from govbot.agent_commands import add_agent_commands
from govbot.config_command import add_config_command
from govbot.db_commands import add_db_commands
from govbot.kb_commands import add_kb_commands
from govbot.purge_command import RetentionRun, add_purge_command
from govbot.workorder_commands import EscalationRun, add_workorder_commands
from govbot.cluster import Cluster, build_cluster_services, create_databases, load_cluster, prepare_postgres
from govbot.stack import build_services
from govbot.supervisor import PortsInUse, RestartPolicy, Service, StartupError, Supervisor
from govbot.training import TrainingError, TrainingInterrupted, is_stale, model_path, train
from knowledge.loader import InvalidKnowledgeBase

log = logging.getLogger("govbot.cli")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PID_FILE = "services.json"  # in the var folder while running: each service's name and process id


def _say(message: str) -> None:
    print(f"govbot: {message}", flush=True)


def _settings_from(args: argparse.Namespace) -> Settings:
    """The settings of this run: the environment's, with the command line's options on top."""
    return Settings.from_env().with_overrides(
        gateway_host=getattr(args, "host", None),
        gateway_port=getattr(args, "port", None),
        rasa_port=getattr(args, "rasa_port", None),
        actions_port=getattr(args, "actions_port", None),
    )


def _ensure_model(settings: Settings, force: bool = False, stop: Optional[threading.Event] = None) -> Path:
    started = time.monotonic()
    if force or is_stale(settings):
        _say(f"training the Rasa model (log: {settings.log_dir / 'train.log'}) ...")
        path = train(settings, force=force, stop=stop)
        _say(f"trained {path.name} in {time.monotonic() - started:.0f} s")
    else:
        path = model_path(settings)
        _say(f"model is up to date: {path.name}")
    return path


def _ensure_index(settings: Settings) -> None:
    """Build the knowledge index (in a child process, to keep the model out of this one) if stale."""
    from knowledge.service import index_is_current

    kb_dir = settings.kb_dir
    if index_is_current(kb_dir, settings):
        _say(f"knowledge index is up to date ({kb_dir.name})")
        return
    log_path = settings.log_dir / "index.log"
    _say(f"building the knowledge index for {kb_dir} (log: {log_path}) ...")
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log_file:
        done = subprocess.run([sys.executable, "-m", "govbot.cli", "kb", "build", str(kb_dir)], cwd=settings.root,
                              env=child_environment(settings),
                              stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise StartupError(f"building the knowledge index failed (exit {done.returncode}); see {log_path}")


def _upgrade_database(settings: Settings) -> None:
    """Bring the application database's schema to the newest revision (one query when it is already there)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.schema import upgrade_schema

    try:
        applied = upgrade_schema(database_url(settings))
    except SQLAlchemyError as error:
        raise StartupError(f"upgrading the database schema failed: {type(error).__name__}: {error}") from None
    if applied:
        _say(f"database schema upgraded: {', '.join(applied)}")


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    """Train the Rasa model if config, domain or data changed (or always with --force)."""
    _ensure_model(settings, force=args.force)
    return EXIT_OK


def _stack(settings: Settings, model: Path, profile: str) -> tuple[Settings, Supervisor, list[list[Service]],
                                                                   Optional[Cluster]]:
    """The settings, supervisor and start-up groups (started and made healthy in order) of a profile."""
    pid_file = settings.var_dir / PID_FILE
    if profile == "single":
        services = build_services(settings, model)
        return settings, Supervisor(services, pid_file=pid_file), [services], None
    cluster = load_cluster(settings)
    prepare_postgres(cluster)
    groups = build_cluster_services(cluster, model)
    supervisor = Supervisor([*groups.infrastructure, *groups.application], pid_file=pid_file,
                            restart_policy=RestartPolicy(delay=cluster.options.restart_delay))
    return cluster.settings, supervisor, [groups.infrastructure, groups.application], cluster


def _start_groups(supervisor: Supervisor, groups: list[list[Service]], settings: Settings,
                  cluster: Optional[Cluster]) -> None:
    """Start the groups in order, each healthy before the next; the databases and schema after the first."""
    for number, group in enumerate(groups):
        _say(f"starting {', '.join(service.name for service in group)} ...")
        supervisor.start(group)
        supervisor.wait_until_healthy(settings.startup_timeout, services=group,
                                      on_ready=lambda service: _say(f"{service.name} is ready"))
        if number == 0 and cluster is not None:
            created = create_databases(cluster)
            if created:
                _say(f"created the databases {', '.join(created)}")
            _upgrade_database(settings)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Train if needed, start the services of the profile, wait until healthy, stop on a signal."""
    from handoff.config import HandoffConfig

    started = time.monotonic()
    HandoffConfig.from_settings(settings)  # the gateway's handoff settings: a bad value stops us here, not it
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings = with_local_secrets(settings)  # the services' shared secrets: from the environment, or kept in var/
    model = model_path(settings)
    settings, supervisor, groups, cluster = _stack(settings, model, args.profile)
    supervisor.check_ports()  # before training: a busy port should not cost a training run
    if cluster is None:
        _upgrade_database(settings)
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    try:
        _ensure_model(settings, stop=supervisor.stop_requested)
    except TrainingInterrupted:
        _say("stopped during training; nothing was started")
        return EXIT_OK
    _ensure_index(settings)
    if supervisor.stop_requested.is_set():
        _say("stopped before starting; nothing was started")
        return EXIT_OK
    supervisor.check_ports()
    try:
        _start_groups(supervisor, groups, settings, cluster)
    except StartupError:
        supervisor.stop()
        raise
    url = settings.gateway_url
    _say(f"ready in {time.monotonic() - started:.1f} s ({args.profile} profile)")
    _say(f"chat page:     {url}")
    _say(f"consoles:      {url}agent (agents), {url}dispatch (dispatchers), {url}dept (departments); "
         "accounts: govbot agent add")
    _say(f"health:        {url}health")
    ports = ", ".join(str(port) for port in settings.rasa_ports)
    _say(f"Rasa API:      http://127.0.0.1:{ports}/ "
         f"(?token=: GOVBOT_RASA_TOKEN, else in {secrets_path(settings)})")
    _say(f"action server: http://{local_address(settings.actions_host)}:{settings.actions_port}/health")
    _say(f"logs:          {settings.log_dir}")
    _say("press Ctrl-C to stop")
    retention = RetentionRun(settings).start()  # purges what is past GOVBOT_RETENTION_DAYS, then hourly
    escalation = EscalationRun(settings).start()  # 督办: every GOVBOT_WORKORDER_ESCALATE_SECONDS
    failed = supervisor.watch()
    escalation.stop()
    retention.stop()
    if failed is not None:
        message = supervisor.describe_exit(failed)
        supervisor.stop()
        _say(f"stopped everything because the {message}")
        return EXIT_FAILED
    _say("stopping ...")
    supervisor.stop()
    _say("stopped")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the govbot command."""
    parser = argparse.ArgumentParser(prog="govbot", description="govbot: e-government assistant on Rasa 3.6")
    parser.add_argument("--version", action="version", version=f"govbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="train if needed, then start Rasa, the action server and the gateway",
                              description=cmd_run.__doc__)
    run.add_argument("--host", help="gateway interface (env GOVBOT_GATEWAY_HOST, default 127.0.0.1)")
    run.add_argument("--port", type=int, help="gateway port (env GOVBOT_GATEWAY_PORT, default 8080)")
    run.add_argument("--rasa-port", type=int, help="Rasa server port (env GOVBOT_RASA_PORT, default 5005)")
    run.add_argument("--actions-port", type=int, help="action server port (env GOVBOT_ACTIONS_PORT, default 5055)")
    run.add_argument("--profile", choices=("single", "cluster"), default="single",
                     help="single (default): one process of each kind on SQLite; cluster: PostgreSQL, Redis, "
                          "GOVBOT_CLUSTER_REPLICAS (2) Rasa servers, action servers and gateways behind HAProxy, "
                          "each restarted when it dies (docs/deploy.md)")
    run.set_defaults(handler=cmd_run)

    train_cmd = commands.add_parser("train", help="train the Rasa model if config, domain or data changed",
                                    description=cmd_train.__doc__)
    train_cmd.add_argument("--force", action="store_true", help="train even if the model is up to date")
    train_cmd.set_defaults(handler=cmd_train)
    add_kb_commands(commands)
    add_agent_commands(commands)
    add_db_commands(commands)
    add_config_command(commands)
    add_purge_command(commands)
    add_workorder_commands(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the govbot command."""
    args = build_parser().parse_args(argv)
    try:
        settings = _settings_from(args)
    except SettingsError as error:
        _say(f"configuration error: {error}")
        return EXIT_USAGE
    configure_logging(settings.log_level)
    try:
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except SettingsError as error:
        _say(f"configuration error: {error}")
        return EXIT_USAGE
    except PortsInUse as error:
        _say(f"could not start: {error}")
        return EXIT_USAGE
    except StartupError as error:
        _say(f"could not start: {error}")
        return EXIT_FAILED
    except TrainingError as error:
        _say(str(error))
        return EXIT_FAILED
    except InvalidKnowledgeBase as error:
        _say(f"the knowledge base is not valid; nothing was started\n{error}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
