"""The directory (hotline.directory): entries from the site config and the CSV importer,
search by Chinese name or number, and the HTTP API with its stable error ids."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from multidict import MultiDict

from hotline.api.openapi import OPENAPI
from hotline.config import parse_site
from hotline.directory.schemas import DirectoryQuery, parse_query
from hotline.directory.services import DirectoryService, NoSuchEntry
from hotline.exceptions import InvalidRequest
from hotline.importer import import_csv
from hotline.store import Store
from apikit import api_app

SITE = parse_site({
    "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
    "departments": [
        {"id": "renshe", "name": "人力资源和社会保障局", "queue": "renshe", "duty_phone": "051385000001",
         "phone_secret": "dept-secret-renshe", "hours": {"days": "workdays", "start": "08:30", "end": "17:30"}},
        {"id": "chengjian", "name": "城建局"},
        {"id": "gongan", "name": "公安局"},
    ],
    "queues": [{"name": "hotline"}, {"name": "renshe"}],
    "legacy_numbers": [
        {"number": "12333", "mode": "parallel", "department": "renshe", "hotline": "人社咨询热线", "ring_seconds": 15},
        {"number": "83531111", "mode": "merged", "department": "chengjian", "hotline": "城建服务热线",
         "note": "number withdrawn after the transition period",
         "transition": {"start": "2026-01-01", "end": "2026-12-31", "after": "notice_then_hotline"}},
        {"number": "85123330", "mode": "merged", "department": "renshe"},
        {"number": "110", "mode": "emergency", "department": "gongan"},
    ],
    "emergency": [{"number": "110", "trunk": "carrier"}, {"number": "120", "trunk": "carrier"}],
})
SERVICE = DirectoryService(SITE)


def keys(items: list[dict[str, Any]]) -> list[str]:
    return [e["id"] if e["kind"] == "department" else e["number"] for e in items]


def test_department_entry() -> None:
    assert SERVICE.get("051385000001") == {
        "kind": "department", "id": "renshe", "name": "人力资源和社会保障局", "duty_phone": "051385000001",
        "hours": {"days": "workdays", "start": "08:30", "end": "17:30"}, "queue": "renshe",
        "phone": "dept-renshe", "numbers": ["12333", "85123330"]}
    chengjian = SERVICE.search(DirectoryQuery(q="城建局", mode="department"))[0][0]
    assert chengjian["hours"] is None and chengjian["phone"] is None and chengjian["queue"] == "hotline"


def test_number_entries() -> None:
    assert SERVICE.get("12333") == {
        "kind": "number", "number": "12333", "mode": "parallel", "hotline": "人社咨询热线", "department": "renshe",
        "department_name": "人力资源和社会保障局", "queue": "renshe", "note": None, "ring_seconds": 15,
        "transition": None}
    merged = SERVICE.get("83531111")
    assert merged["queue"] == "hotline" and merged["ring_seconds"] is None
    assert merged["transition"] == {"prompt": True, "start": "2026-01-01", "end": "2026-12-31",
                                    "after": "notice_then_hotline"}
    # emergency: the listed number keeps its department; a route not listed is an entry of its own
    assert SERVICE.get("110")["department"] == "gongan" and SERVICE.get("110")["queue"] is None
    assert SERVICE.get("120")["mode"] == "emergency" and SERVICE.get("120")["department"] is None


def test_no_secret_is_ever_listed() -> None:
    text = json.dumps(SERVICE.search(DirectoryQuery(limit=500))[0], ensure_ascii=False)
    assert "dept-secret-renshe" not in text and "secret" not in text


@pytest.mark.parametrize("q, mode, expected", [
    ("", None, ["renshe", "chengjian", "gongan", "12333", "83531111", "85123330", "110", "120"]),
    ("人社", None, ["12333"]),                                  # the hotline's name
    ("人力资源", None, ["renshe", "12333", "85123330"]),          # the department's name, and its numbers
    ("社会保障", None, ["renshe", "12333", "85123330"]),          # any part of the name
    ("城建", None, ["chengjian", "83531111"]),
    ("RENSHE", None, ["renshe", "12333", "85123330"]),           # ids, case-insensitive
    ("1233", None, ["12333", "85123330"]),                       # part of a number
    ("0513850", None, ["renshe"]),                               # part of a duty phone
    ("+12333", None, ["12333", "85123330"]),                     # with a leading +
    ("11", None, ["83531111", "110"]),
    ("", "department", ["renshe", "chengjian", "gongan"]),
    ("", "parallel", ["12333"]),
    ("", "emergency", ["110", "120"]),
    ("人力资源", "merged", ["85123330"]),
    ("", "convenience", []),
    ("水务", None, []),
])
def test_search(q: str, mode: str | None, expected: list[str]) -> None:
    items, total = SERVICE.search(DirectoryQuery(q=q, mode=mode))
    assert keys(items) == expected and total == len(expected)


def test_paging() -> None:
    items, total = SERVICE.search(DirectoryQuery(limit=3, offset=2))
    assert keys(items) == ["gongan", "12333", "83531111"] and total == 8
    assert SERVICE.search(DirectoryQuery(limit=3, offset=8)) == ([], 8)


def test_lookup_of_an_unknown_number() -> None:
    with pytest.raises(NoSuchEntry) as err:
        SERVICE.get("99999")
    assert err.value.error_id == "no-such-entry" and err.value.http_status == 404
    empty = DirectoryService(parse_site({"trunks": [{"name": "carrier", "host": "127.0.0.2"}]}))
    with pytest.raises(NoSuchEntry):
        empty.get("12333")
    assert empty.search(DirectoryQuery()) == ([], 0)


@pytest.mark.parametrize("params, field", [
    ({"x": "1"}, "x"),
    ({"mode": "hotline"}, "mode"),
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"offset": "1.5"}, "offset"),
    ({"q": "人" * 41}, "q"),
    ({"q": "a\x00b"}, "q"),
])
def test_invalid_queries_name_the_parameter(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_query(MultiDict(params))
    assert err.value.details["field"] == field


def test_a_repeated_parameter_is_refused() -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_query(MultiDict([("q", "a"), ("q", "b")]))
    assert err.value.details["field"] == "q"


def test_empty_parameters_are_absent() -> None:
    assert parse_query(MultiDict({"q": " ", "mode": "", "limit": "", "offset": ""})) == DirectoryQuery()


def test_the_directory_of_an_imported_csv(tmp_path: Path) -> None:
    """Departments and numbers come from the CSV; hours, duty phones and phones from the base are kept."""
    csv = tmp_path / "hotlines.csv"
    csv.write_text("mode,department,hotline,numbers,note\n"
                   "parallel,住房公积金管理中心,住房公积金客户服务热线,12329,\n"
                   "merged,城建局,城建服务热线,83531111;83531112,\n", encoding="utf-8")
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({
        "trunks": [{"name": "carrier", "host": "127.0.0.2"}],
        "departments": [{"id": "gjj", "name": "住房公积金管理中心", "duty_phone": "051385100000",
                         "phone_secret": "gjj-phone-secret", "hours": {"days": "workdays", "start": "09:00",
                                                                       "end": "17:00"}}],
    }, allow_unicode=True), encoding="utf-8")
    text, _ = import_csv(csv, base=base)
    directory = DirectoryService(parse_site(yaml.safe_load(text)))
    gjj = directory.get("051385100000")
    assert gjj["id"] == "gjj" and gjj["numbers"] == ["12329"] and gjj["phone"] == "dept-gjj"
    assert gjj["hours"] == {"days": "workdays", "start": "09:00", "end": "17:00"}
    items, _ = directory.search(DirectoryQuery(q="城建"))
    assert keys(items) == ["d01", "83531111", "83531112"]
    assert directory.get("12329")["department_name"] == "住房公积金管理中心"


# --- over HTTP ---------------------------------------------------------------------------


@pytest.fixture
async def client(sqlite_store: Store) -> AsyncIterator[TestClient[Any, Any]]:
    app = api_app(sqlite_store, status=dict, site=SITE)
    async with TestClient(TestServer(app)) as c:
        yield c


def schema(name: str) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    resource = referencing.Resource.from_contents(OPENAPI, default_specification=referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource("urn:hotline-api", resource)
    return jsonschema.Draft202012Validator({"$ref": f"urn:hotline-api#/components/schemas/{name}"},
                                           registry=registry)


async def test_http_search_and_lookup(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/directory", params={"q": "人力资源", "limit": "2"})
    assert response.status == 200
    page = await response.json()
    assert keys(page["items"]) == ["renshe", "12333"] and page["total"] == 3
    assert (page["limit"], page["offset"]) == (2, 0)
    schema("DirectoryPage").validate(page)
    every = await (await client.get("/api/directory", params={"limit": "500"})).json()
    schema("DirectoryPage").validate(every)
    for number in ("12333", "051385000001", "120"):
        response = await client.get(f"/api/directory/{number}")
        assert response.status == 200
        schema("DirectoryEntry").validate(await response.json())
    assert (await (await client.get("/api/directory/%2B12333")).json())["error_id"] == "no-such-entry"


@pytest.mark.parametrize("url, status, error_id, field", [
    ("/api/directory/99999", 404, "no-such-entry", None),
    ("/api/directory/12a33", 400, "invalid-request", "number"),
    ("/api/directory?mode=hotline", 400, "invalid-request", "mode"),
    ("/api/directory?limit=0", 400, "invalid-request", "limit"),
    ("/api/directory?offset=-3", 400, "invalid-request", "offset"),
    ("/api/directory?name=x", 400, "invalid-request", "name"),
])
async def test_http_errors(client: TestClient[Any, Any], url: str, status: int, error_id: str,
                           field: str | None) -> None:
    response = await client.get(url)
    assert response.status == status
    body = await response.json()
    assert body["error_id"] == error_id
    if field:
        assert body["details"]["field"] == field
    else:
        assert body["details"]["number"] == "99999"
