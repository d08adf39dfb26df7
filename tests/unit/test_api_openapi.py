"""The served OpenAPI document: valid, complete, and true to the real responses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hotline.api.app import ApiServices, build_app
from hotline.records.call import CallRecord
from hotline.store import Store

MakeCall = Callable[..., CallRecord]


@pytest.fixture
async def client(sqlite_store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    app = build_app(ApiServices(store=sqlite_store, status=lambda: {"ami": {"ok": True}}))
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
    ]
    for schema_name, path in checks:
        validator(document, schema_name).validate(await (await client.get(path)).json())
    # and the schemas are strict enough to notice a wrong response
    with pytest.raises(jsonschema.ValidationError):
        validator(document, "CallRecord").validate({**record.to_dict(), "outcome": "lost"})
