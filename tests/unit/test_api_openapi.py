"""The served OpenAPI document: valid, complete, and true to the real responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from apikit import api_services
from authkit import serve, site_with_users

from hotline.api.app import build_app
from hotline.records.call import CallRecord
from hotline.config.site import SiteConfig
from hotline.store import Store

MakeCall = Callable[..., CallRecord]


def full_site() -> SiteConfig:
    """Seats, queues and users: every feature of the app has something to serve."""
    return site_with_users(queues=[{"name": "hotline", "title": "市热线"}])


@pytest.fixture
async def client(sqlite_store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    """The app as the controller builds it (hotline.compose), with an open API (no users)."""
    services = api_services(sqlite_store, site=full_site().model_copy(update={"users": []}))
    services.seats.publish_all()   # as the controller does on start: the live snapshot has the seats
    app = build_app(services)
    async with TestClient(TestServer(app)) as c:
        yield c


@pytest.fixture
async def document(client: TestClient[Any, Any]) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status == 200
    return dict(await response.json())


def validator(document: dict[str, Any], schema_name: str) -> Any:
    """A JSON Schema validator for one component schema, resolving $refs inside the document."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource("urn:hotline-api", resource)
    return jsonschema.Draft202012Validator({"$ref": f"urn:hotline-api#/components/schemas/{schema_name}"},
                                           registry=registry)


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    pytest.importorskip("openapi_spec_validator").validate(document)


def test_document_lists_exactly_the_served_routes(client: TestClient[Any, Any], document: dict[str, Any]) -> None:
    served = {(route.resource.canonical, route.method.lower())
              for route in client.app.router.routes() if route.method != "HEAD"}
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert documented == served
    # the seat, queue and live routes are among them (an API built without seats once hid them)
    assert {("/api/seats", "get"), ("/api/seats/{seat_id}/pause", "post"), ("/api/queues/{queue}", "get"),
            ("/api/live", "get")} <= documented


def test_document_declares_the_bearer_token(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
    public = {(path, method) for path, operations in document["paths"].items()
              for method, operation in operations.items() if operation.get("security") == []}
    assert public == {("/status", "get"), ("/openapi.json", "get"), ("/metrics", "get"), ("/api/login", "post"),
                      ("/wallboard", "get"), ("/wallboard/{asset}", "get"), ("/portal", "get"),
                      ("/portal/{asset}", "get"), ("/pages/{asset}", "get"),
                      ("/console", "get"), ("/console/{asset}", "get"), ("/console/vendor/sip.js/{path}", "get"),
                      ("/api/integration/{system}/changes", "post")}   # the order system's own token or HMAC
    assert document["paths"]["/api/seats/{seat_id}/spy"]["post"]["x-min-role"] == "supervisor"


async def test_documented_security_is_what_the_app_enforces(sqlite_store: Store, tmp_path: Path,
                                                            document: dict[str, Any]) -> None:
    """With users configured, every operation documented as needing a token answers 401 without
    one, and every public one does not (the order system's route has its own: inbound-auth-failed)."""
    async with serve(sqlite_store, tmp_path, full_site()) as users_client:
        for path, operations in document["paths"].items():
            url = re.sub(r"\{[^}]+\}", "1", path)
            for method, operation in operations.items():
                response = await users_client.request(method.upper(), url, json={},
                                                      headers={"Origin": str(users_client.make_url(""))})
                if operation.get("security") == []:
                    assert response.status != 401 or (await response.json())["error_id"] != "auth-required", \
                        (method, path)
                else:
                    assert response.status == 401, (method, path, response.status)
                    assert (await response.json())["error_id"] == "auth-required"
                response.close()


async def test_real_responses_match_the_schemas(client: TestClient[Any, Any], document: dict[str, Any],
                                                sqlite_store: Store, make_call: MakeCall) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    record = make_call("c1", seat="1001", extra={"ivr": ["1"]})
    sqlite_store.upsert_call(record)
    created = await (await client.post("/api/work-orders", json={
        "call_ids": ["c1"], "title": "t", "description": "d", "category": "report", "created_by": "1001"})).json()
    checks = [
        ("Status", "/status"),
        ("CallPage", "/api/calls"),
        ("CallRecord", "/api/calls/c1"),
        ("WorkOrder", f"/api/work-orders/{created['id']}"),
        ("Error", "/api/calls/nope"),
        ("Error", "/api/calls?limit=0"),
        ("Error", "/no/such/route"),
        ("SeatList", "/api/seats"),
        ("Seat", "/api/seats/1001"),
        ("QueueList", "/api/queues"),
        ("Queue", "/api/queues/hotline"),
        ("LiveSnapshot", "/api/live"),
        ("Error", "/api/seats/9999"),
    ]
    for schema_name, path in checks:
        validator(document, schema_name).validate(await (await client.get(path)).json())
    # and the schemas are strict enough to notice a wrong response
    with pytest.raises(jsonschema.ValidationError):
        validator(document, "CallRecord").validate({**record.to_dict(), "outcome": "lost"})
