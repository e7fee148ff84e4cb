"""The Open311 GeoReport v2 API (channels/web/open311_routes.py) over the gateway: the service list and
definitions, creating a request (form-encoded or JSON) as a dispatched work order, api_key checks, bad input
refused with nothing stored, the list and read shapes with their filters, masking, no contact in reads, and the
limits."""

import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi.testclient import TestClient

from channels.gateway import create_app
from channels.web.open311_routes import key_id, requested_language
from core.settings import SECRET_MASK, Settings, variables
from testkit.helpers import free_port
from workorders.catalogue import load_catalogue
from workorders.records import SYSTEM, Actor, Draft, RequestKind, Role, Status
from workorders.store import WorkOrderStore

KEY, OTHER_KEY = "k3y-for-the-city-crm-0123456789", "second-integration-key"
BASE = "/open311/v2"
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}
CATALOGUE = load_catalogue()
NUMBER = re.compile(r"GD\d{12}")
ID_CARD, PHONE = "110101199003071234", "13812345678"


def gateway(tmp_path: Path, **settings: Any) -> TestClient:
    values: dict[str, Any] = {"var_dir": tmp_path, "rasa_url": f"http://127.0.0.1:{free_port()}",
                              "open311_api_keys": f"{KEY}, {OTHER_KEY}", **settings}
    return TestClient(create_app(Settings(**values)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with gateway(tmp_path) as client:
        yield client


def store_of(client: TestClient) -> WorkOrderStore:
    store: WorkOrderStore = client.app.state.workorders  # type: ignore[attr-defined]
    return store


def new_request(client: TestClient, **fields: str) -> Any:
    form = {"api_key": KEY, "service_code": "city-management", "description": "小区门口的路灯坏了一个星期",
            "lat": "39.9042", "long": "116.4074", **fields}
    response = client.post(f"{BASE}/requests.json", data=form)
    assert response.status_code == 200, response.text
    return response.json()


def georeport_error(response: Any, status: int) -> list[str]:
    """The descriptions of a GeoReport error list, checking its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and body
    assert all(set(item) == {"code", "description"} and item["code"] == status for item in body)
    return [item["description"] for item in body]


# --- services ----------------------------------------------------------------------------------------------------

def test_the_service_list_has_one_service_per_department(client: TestClient) -> None:
    services = client.get(f"{BASE}/services.json").json()
    assert [s["service_code"] for s in services] == CATALOGUE.ids
    assert all(set(s) == SERVICE_FIELDS for s in services)
    gas = next(s for s in services if s["service_code"] == "gas")
    department = CATALOGUE.get("gas")
    assert gas == {"service_code": "gas", "service_name": department.name.zh, "description": department.remit.zh,
                   "metadata": False, "type": "realtime", "keywords": gas["keywords"], "group": "12345政务服务便民热线"}
    assert "煤气味" in gas["keywords"].split(",") and "gas leak" not in gas["keywords"]
    english = client.get(f"{BASE}/services.json", params={"locale": "en"}).json()
    assert english[0]["service_name"] == CATALOGUE.departments[0].name.en
    assert "gas leak" in next(s for s in english if s["service_code"] == "gas")["keywords"].split(",")
    by_header = client.get(f"{BASE}/services.json", headers={"Accept-Language": "fr, en-US;q=0.8, zh;q=0.5"}).json()
    assert by_header[0]["service_name"] == CATALOGUE.departments[0].name.en


def test_a_service_definition_and_an_unknown_service(client: TestClient) -> None:
    assert client.get(f"{BASE}/services/gas.json").json() == {"service_code": "gas", "attributes": []}
    [message] = georeport_error(client.get(f"{BASE}/services/dog-walking.json"), 404)
    assert "dog-walking" in message


@pytest.mark.parametrize("path", ["/services.xml", "/services/gas.xml", "/requests.xml", "/requests/GD1.xml"])
def test_only_json_is_served(client: TestClient, path: str) -> None:
    [message] = georeport_error(client.get(BASE + path), 400)
    assert "JSON" in message and ".json" in message


def test_the_language_of_an_answer() -> None:
    assert requested_language(None, None) == "zh"
    assert requested_language("en_US", "zh") == "en" and requested_language("fr", "en") == "en"
    assert requested_language(None, "en;q=0.4, zh-CN;q=0.9") == "zh"
    assert requested_language(None, "de, fr", default="en") == "en"


# --- creating ----------------------------------------------------------------------------------------------------

def test_a_form_encoded_request_becomes_a_dispatched_work_order(client: TestClient,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    [created] = new_request(client, description=f"路灯不亮，有事打我电话{PHONE}", address_string="学院路1号",
                            email="li@example.com", phone=PHONE, first_name="Li", last_name="Lei",
                            media_url="https://example.com/photo.jpg")
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert NUMBER.fullmatch(created["service_request_id"]) and created["account_id"] is None
    assert "市城市管理局" in created["service_notice"]
    order = store_of(client).order(created["service_request_id"])
    assert (order.status, order.department, order.channel, order.sender_id) == (
        Status.DISPATCHED, "city-management", "open311", f"open311:{key_id(KEY)}")
    assert (order.latitude, order.longitude, order.address, order.language) == (39.9042, 116.4074, "学院路1号", "zh")
    assert order.contact.consent and order.contact.value == PHONE  # the phone is kept as the contact
    assert PHONE not in order.description and order.description.endswith("*******5678")
    assert order.reply_deadline is not None and order.sign_deadline is not None
    assert [(e.role, e.actor, e.action) for e in store_of(client).trail(order.number)] == [
        (Role.SYSTEM, f"open311:{key_id(KEY)}", "accepted"), (Role.SYSTEM, "system", "dispatched")]
    logged = caplog.text
    assert "open311_request_created" in caplog.messages or "open311_request_created" in logged
    assert KEY not in logged and PHONE not in logged and "li@example.com" not in logged


def test_a_json_request_with_an_address_and_the_urgency_of_its_words(client: TestClient) -> None:
    response = client.post(f"{BASE}/requests.json", json={
        "api_key": OTHER_KEY, "service_code": "gas", "description": "There is a strong smell of gas in the stairwell",
        "address_string": "12 Xueyuan Road", "email": "li@example.com"}, headers={"Accept-Language": "en"})
    assert response.status_code == 200, response.text
    [created] = response.json()
    assert created["service_notice"].startswith("Accepted and dispatched to City Gas Group")
    order = store_of(client).order(created["service_request_id"])
    assert (order.department, order.urgency.value, order.language, order.latitude) == ("gas", "urgent", "en", None)
    assert (order.contact.method.value if order.contact.method else None, order.contact.value) == (
        "email", "li@example.com")
    assert order.sender_id == f"open311:{key_id(OTHER_KEY)}"


@pytest.mark.parametrize("key", [None, "", "not-the-key", KEY + "x"])
def test_a_missing_or_wrong_api_key_is_refused_and_nothing_stored(client: TestClient, key: Any,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    form = {"service_code": "gas", "description": "煤气味", "lat": "39.9", "long": "116.4"}
    if key is not None:
        form["api_key"] = key
    [message] = georeport_error(client.post(f"{BASE}/requests.json", data=form), 403)
    assert "api_key" in message
    assert store_of(client).find() == []
    assert not key or key not in caplog.text
    assert "open311_forbidden" in caplog.text or any(r.getMessage() == "open311_forbidden" for r in caplog.records)


def test_without_configured_keys_creating_is_disabled_but_reading_works(tmp_path: Path) -> None:
    with gateway(tmp_path, open311_api_keys="") as client:
        [message] = georeport_error(client.post(f"{BASE}/requests.json", data={
            "api_key": KEY, "service_code": "gas", "description": "煤气味", "lat": "39.9", "long": "116.4"}), 403)
        assert "not enabled" in message and store_of(client).find() == []
        assert client.get(f"{BASE}/requests.json").json() == []
        assert len(client.get(f"{BASE}/services.json").json()) == len(CATALOGUE.ids)


@pytest.mark.parametrize("fields, expected", [
    ({"service_code": "dog-walking"}, "service_code 'dog-walking' is not a service here"),
    ({"service_code": ""}, "service_code is required"),
    ({"description": "   "}, "description is required"),
    ({"description": "路" * 4001}, "description is longer than 4000 characters"),
    ({"lat": "", "long": ""}, "a location is required"),
    ({"long": ""}, "give both lat and long"),
    ({"lat": "91"}, "lat must be a number from -90 to 90"),
    ({"long": "east"}, "long must be a number from -180 to 180"),
    ({"lat": "nan"}, "lat must be a number"),
    ({"address_string": "路" * 501}, "address_string is longer than 500 characters"),
    ({"email": "not an address"}, "email is not an e-mail address"),
    ({"phone": "call me"}, "phone must be a telephone number"),
])
def test_bad_input_is_a_georeport_400_and_nothing_is_stored(client: TestClient, fields: dict[str, str],
                                                            expected: str) -> None:
    form = {"api_key": KEY, "service_code": "gas", "description": "煤气味", "lat": "39.9", "long": "116.4", **fields}
    messages = georeport_error(client.post(f"{BASE}/requests.json", data=form), 400)
    assert any(message.startswith(expected) for message in messages), messages
    assert store_of(client).find() == []


def test_every_problem_is_listed_and_bodies_must_be_form_or_json(client: TestClient) -> None:
    messages = georeport_error(client.post(f"{BASE}/requests.json", data={"api_key": KEY}), 400)
    assert messages == ["service_code is required", "description is required",
                        "a location is required: lat and long, or address_string"]
    [message] = georeport_error(client.post(f"{BASE}/requests.json", content=b"api_key=x",
                                            headers={"Content-Type": "text/plain"}), 400)
    assert "form-encoded" in message
    [message] = georeport_error(client.post(f"{BASE}/requests.json", json=["api_key"]), 400)
    assert "JSON object" in message
    assert store_of(client).find() == []


def test_a_body_over_the_gateway_limit_is_refused(client: TestClient) -> None:
    response = client.post(f"{BASE}/requests.json", data={"api_key": KEY, "service_code": "gas", "lat": "1",
                                                          "long": "1", "description": "x" * 70_000})
    assert response.status_code == 413 and store_of(client).find() == []


# --- reading -----------------------------------------------------------------------------------------------------

def test_the_list_and_one_request_with_masking_and_no_contact(client: TestClient) -> None:
    [first] = new_request(client, description=f"身份证{ID_CARD}丢在路灯下，电话{PHONE}", phone=PHONE,
                          email="li@example.com", first_name="Li")
    [second] = new_request(client, service_code="water", description="停水了", lat="", long="",
                           address_string="学院路1号")
    store = store_of(client)
    other = store.create(Draft(sender_id="telegram:1", channel="telegram", language="zh", kind=RequestKind.HELP,
                               description="不公开的工单"), SYSTEM).number  # not sent through Open311
    listed = client.get(f"{BASE}/requests.json")
    assert listed.status_code == 200
    requests = listed.json()
    assert [r["service_request_id"] for r in requests] == [second["service_request_id"],
                                                           first["service_request_id"]]  # newest first
    assert all(set(r) == REQUEST_FIELDS for r in requests)
    text = listed.text
    assert ID_CARD not in text and PHONE not in text and "li@example.com" not in text and "Li" not in text
    assert other not in text and "不公开" not in text
    water, lamp = requests
    order = store.order(first["service_request_id"])
    assert lamp == {
        "service_request_id": order.number, "status": "open", "status_notes": "派单",
        "service_name": "市城市管理局（市政设施）", "service_code": "city-management",
        "description": "身份证**************1234丢在路灯下，电话*******5678",
        "agency_responsible": "市城市管理局（市政设施）", "service_notice": lamp["service_notice"],
        "requested_datetime": lamp["requested_datetime"], "updated_datetime": lamp["updated_datetime"],
        "expected_datetime": lamp["expected_datetime"], "address": None, "address_id": None, "zipcode": None,
        "lat": 39.9042, "long": 116.4074, "media_url": None}
    assert order.reply_deadline is not None
    assert datetime.fromisoformat(lamp["expected_datetime"]) == order.reply_deadline.replace(microsecond=0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lamp["requested_datetime"])
    assert (water["address"], water["lat"], water["long"], water["service_code"]) == ("学院路1号", None, None, "water")
    # one request: a list of one; in English on request
    one = client.get(f"{BASE}/requests/{order.number}.json", params={"locale": "en"})
    assert one.status_code == 200 and [r["service_request_id"] for r in one.json()] == [order.number]
    assert one.json()[0]["status_notes"] == "dispatched"
    assert one.json()[0]["agency_responsible"] == "City Management Bureau (municipal facilities)"
    [message] = georeport_error(client.get(f"{BASE}/requests/GD209901010001.json"), 404)
    assert "GD209901010001" in message
    georeport_error(client.get(f"{BASE}/requests/{other}.json"), 404)  # not an Open311 request


def test_the_filters_of_the_list(client: TestClient) -> None:
    [lamp] = new_request(client)
    [water] = new_request(client, service_code="water", description="停水了")
    [gas] = new_request(client, service_code="gas", description="有煤气味")
    lamp_id, water_id, gas_id = (r["service_request_id"] for r in (lamp, water, gas))
    store = store_of(client)
    store.merge(gas_id, water_id, Actor(Role.DISPATCHER, "li.na"))  # merged: closed for GeoReport

    def ids(**params: str) -> list[str]:
        response = client.get(f"{BASE}/requests.json", params=params)
        assert response.status_code == 200, response.text
        return [r["service_request_id"] for r in response.json()]

    assert ids() == [gas_id, water_id, lamp_id]
    assert ids(service_code="water,city-management") == [water_id, lamp_id]
    assert ids(status="closed") == [gas_id] and ids(status="open") == [water_id, lamp_id]
    assert ids(status="open,closed") == [gas_id, water_id, lamp_id]
    assert ids(service_request_id=f"{lamp_id}, {gas_id}", service_code="water") == [gas_id, lamp_id]  # ids win
    merged = client.get(f"{BASE}/requests/{gas_id}.json").json()[0]
    assert (merged["status"], merged["status_notes"], merged["service_notice"]) == (
        "closed", f"已合并到{water_id}", None)
    now = datetime.now(timezone.utc)
    hour = timedelta(hours=1)
    assert ids(start_date=(now - hour).isoformat(), end_date=(now + hour).isoformat()) == [gas_id, water_id, lamp_id]
    assert ids(start_date=(now + hour).strftime("%Y-%m-%dT%H:%M:%SZ")) == []
    assert ids(end_date=(now - hour).strftime("%Y-%m-%d")) == []
    assert ids(start_date=(now - timedelta(days=30)).strftime("%Y-%m-%d")) == [gas_id, water_id, lamp_id]
    for params, expected in [
        ({"status": "pending"}, "status must be open or closed"),
        ({"service_code": "dog-walking"}, "unknown service_code: dog-walking"),
        ({"start_date": "yesterday"}, "start_date must be a time like"),
        ({"start_date": "2025-01-01", "end_date": "2025-06-01"}, "the period may span at most 90 days"),
        ({"start_date": "2025-06-01", "end_date": "2025-01-01"}, "end_date is before start_date"),
    ]:
        [message] = georeport_error(client.get(f"{BASE}/requests.json", params=params), 400)
        assert message.startswith(expected), (params, message)


def test_the_rate_limit_per_client(tmp_path: Path) -> None:
    with gateway(tmp_path, rate_open311=2) as client:
        assert [client.get(f"{BASE}/services.json").status_code for _ in range(2)] == [200, 200]
        refused = client.get(f"{BASE}/requests.json")
        [message] = georeport_error(refused, 429)
        assert "too many requests" in message and int(refused.headers["Retry-After"]) >= 1


def test_the_api_keys_are_a_secret_setting() -> None:
    settings = Settings(open311_api_keys=f" {KEY} ,, {OTHER_KEY} ")
    assert settings.open311_keys == (KEY, OTHER_KEY) and Settings().open311_keys == ()
    assert KEY not in repr(settings) and KEY not in str(settings)
    listed = {variable.name: variable for variable in variables(settings)}
    assert listed["GOVBOT_OPEN311_API_KEYS"].secret and listed["GOVBOT_OPEN311_API_KEYS"].value == SECRET_MASK
    assert listed["GOVBOT_RATE_OPEN311"].default == "600"
