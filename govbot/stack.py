"""The govbot services (action server, Rasa server or servers, gateway) as the supervisor runs them.

Each child gets the settings through its environment, but only the secrets it uses: the action server its token,
the gateway everything but the action server's token, Rasa the action server's token (endpoints.yml) and its own
API token on standard input (govbot.rasa_launcher), never on a command line.
"""

import os
import sys
from pathlib import Path
from typing import Optional

import httpx

from core.settings import Settings, SettingsError, child_environment, env_name, local_address
from govbot.supervisor import Service
from govbot.training import rasa_environment, without_secrets


def _app_environment(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The environment of a process of the app (.venv): `env` (these settings), the project importable."""
    env = dict(env)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(settings.root), env.get("PYTHONPATH", "")])),
        GOVBOT_RASA_URL=",".join(settings.rasa_base_urls),
        OMP_WAIT_POLICY="PASSIVE",
    )
    return env


def _rasa_has_model(response: httpx.Response) -> bool:
    return response.status_code == 200 and bool(response.json().get("model_file"))


def app_environment(settings: Settings, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment of an app process with only the secrets named in `keep` (the action server: its token)."""
    return _app_environment(settings, without_secrets(child_environment(settings), settings, keep=keep))


def gateway_environment(settings: Settings) -> dict[str, str]:
    """The gateway's environment: every setting but the action server's token."""
    return _app_environment(settings, {name: value for name, value in child_environment(settings).items()
                                       if name != env_name("actions_token")})


def rasa_service(settings: Settings, model: Path, port: int, replica: int, endpoints: str = "endpoints.yml",
                 extra_env: Optional[dict[str, str]] = None, restart: bool = False) -> Service:
    """One Rasa server (replica 1 is "rasa server" with rasa.log; replica 2 "rasa server 2" with rasa-2.log...),
    with these endpoints (tracker and lock stores) and environment additions."""
    suffix = "" if replica == 1 else f" {replica}"
    return Service(
        name=f"rasa server{suffix}",
        argv=[str(settings.rasa_venv / "bin" / "python"), "-m", "govbot.rasa_launcher",
              "run", "--enable-api", "--model", str(model),
              "--port", str(port), "--interface", "127.0.0.1",
              "--endpoints", endpoints, "--credentials", "credentials.yml"],
        port=port, bind_host="127.0.0.1",
        health_url=f"http://127.0.0.1:{port}/status", health_params={"token": settings.rasa_token},
        stdin_text=settings.rasa_token + "\n",
        log_path=settings.log_dir / ("rasa.log" if replica == 1 else f"rasa-{replica}.log"), cwd=settings.root,
        env={**rasa_environment(settings), **(extra_env or {})}, is_healthy=_rasa_has_model, restart=restart,
    )


def require_secrets(settings: Settings) -> None:
    """Refuse to describe services whose shared secrets are empty."""
    empty = [str(env_name(name)) for name in ("rasa_token", "actions_token") if not getattr(settings, name)]
    if empty:
        raise SettingsError(f"{' and '.join(empty)} must not be empty: Rasa's API and the action server are not "
                            "served without them (core.secrets.with_local_secrets fills them)")


def build_services(settings: Settings, model: Path) -> list[Service]:
    """Describe the action server, the Rasa servers (GOVBOT_RASA_REPLICAS) and the gateway for these settings (secrets
    already filled)."""
    require_secrets(settings)
    logs = settings.log_dir
    actions_env = app_environment(settings, keep=("actions_token",))
    gateway_env = gateway_environment(settings)
    return [
        Service(
            name="action server",
            argv=[sys.executable, "-m", "govbot.action_server", "--actions", "bot.actions",
                  "--host", settings.actions_host, "--port", str(settings.actions_port)],
            port=settings.actions_port, bind_host=settings.actions_host,
            health_url=f"http://{local_address(settings.actions_host)}:{settings.actions_port}/health",
            log_path=logs / "actions.log", cwd=settings.root,
            env=actions_env,
        ),
        *[rasa_service(settings, model, port, replica) for replica, port in enumerate(settings.rasa_ports, start=1)],
        Service(
            name="gateway",
            argv=[sys.executable, "-m", "channels.gateway"],
            port=settings.gateway_port, bind_host=settings.gateway_host,
            health_url=f"http://{local_address(settings.gateway_host)}:{settings.gateway_port}/health",
            log_path=logs / "gateway.log", cwd=settings.root, env=gateway_env,
        ),
    ]
