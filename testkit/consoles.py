"""The staff consoles' APIs over the whole gateway, for the integration tests (tests/integration/test_dept_api.py,
test_dispatch_api.py): the app on SQLite in a temporary folder, its stores, a recorder standing in for the citizen
notices, accounts of each role and browsers logged in as them."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app
from core.settings import Settings
from handoff.records import AccountRole
from handoff.store import TicketStore
from testkit.helpers import free_port
from workorders.records import Status, WorkOrder
from workorders.store import WorkOrderStore

PASSWORD = "violet-harbour-ladder-93"
BASE = "http://testserver"  # TestClient's origin
ORIGIN = {"Origin": BASE}

Accounts = dict[str, tuple[AccountRole, str | None]]  # username: (role, department)


class Recorder:
    """Stands in for the citizen notices: records (number, status, action) of each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Status, str]] = []

    async def after(self, order: WorkOrder, action: str) -> None:
        self.calls.append((order.number, order.status, action))


def settings_for(tmp_path: Path, **changes: Any) -> Settings:
    """The gateway's settings for a test: its data in `tmp_path`, no Rasa listening, no gTTS."""
    return Settings(var_dir=tmp_path, rasa_url=f"http://127.0.0.1:{free_port()}", tts_gtts=False, **changes)


class ConsoleGateway:
    """The app, its stores, the notices' recorder, and one logged-in client per account of `accounts`."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch, accounts: Accounts) -> None:
        self.app = create_app(settings)
        self.desk_store: TicketStore = self.app.state.desk.store
        self.store: WorkOrderStore = self.app.state.workorders
        self.notices = Recorder()
        monkeypatch.setattr(self.app.state.workorder_notices, "after", self.notices.after)
        for username, (role, department) in accounts.items():
            self.desk_store.add_agent(username, PASSWORD, username.title(), role=role, department=department)

    def client(self, username: str | None = None) -> TestClient:
        """A browser, logged in as `username` (through /api/agent/login, which serves every role)."""
        client = TestClient(self.app, base_url=BASE)
        if username is not None:
            answer = client.post("/api/agent/login", json={"username": username, "password": PASSWORD},
                                 headers=ORIGIN)
            assert answer.status_code == 200, answer.text
        return client
