"""The three govbot services (action server, Rasa server, gateway) as the supervisor runs them."""

import os
import sys
from pathlib import Path

import httpx

from core.settings import Settings, child_environment
from govbot.supervisor import Service
from govbot.training import rasa_environment


def _app_environment(settings: Settings) -> dict[str, str]:
    """The action server's and the gateway's environment: these settings (ports from the command line included)."""
    env = child_environment(settings)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(settings.root), env.get("PYTHONPATH", "")])),
        GOVBOT_RASA_URL=settings.rasa_base_url,
        OMP_WAIT_POLICY="PASSIVE",
    )
    return env


def _rasa_has_model(response: httpx.Response) -> bool:
    return response.status_code == 200 and bool(response.json().get("model_file"))


def build_services(settings: Settings, model: Path) -> list[Service]:
    """Describe the action server, the Rasa server and the gateway for these settings."""
    logs = settings.log_dir
    app_env = _app_environment(settings)
    rasa_bin = settings.rasa_venv / "bin" / "rasa"
    return [
        Service(
            name="action server",
            argv=[sys.executable, "-m", "govbot.action_server", "--actions", "bot.actions",
                  "--port", str(settings.actions_port)],
            port=settings.actions_port, bind_host="0.0.0.0",
            health_url=f"http://127.0.0.1:{settings.actions_port}/health",
            log_path=logs / "actions.log", cwd=settings.root, env=app_env,
        ),
        Service(
            name="rasa server",
            argv=[str(rasa_bin), "run", "--enable-api", "--model", str(model),
                  "--port", str(settings.rasa_port), "--interface", "127.0.0.1",
                  "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
            port=settings.rasa_port, bind_host="127.0.0.1",
            health_url=f"http://127.0.0.1:{settings.rasa_port}/status",
            log_path=logs / "rasa.log", cwd=settings.root, env=rasa_environment(settings),
            is_healthy=_rasa_has_model,
        ),
        Service(
            name="gateway",
            argv=[sys.executable, "-m", "channels.gateway"],
            port=settings.gateway_port, bind_host=settings.gateway_host,
            health_url=f"http://{_loopback_for(settings.gateway_host)}:{settings.gateway_port}/health",
            log_path=logs / "gateway.log", cwd=settings.root, env=app_env,
        ),
    ]


def _loopback_for(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)
