"""A member downloads all of their data at any time, in one archive."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pyogrio
from pyogrio.raw import read as ogr_read

from tests.conftest import Api, Factory, catch_item, problem, trip_item
from tests.test_sync import push, statuses

URL = "/api/v1/me/archive"


def archive(api: Api) -> zipfile.ZipFile:
    r = api.get(URL)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == "application/zip"
    assert r.headers["Content-Disposition"].startswith("attachment; filename=cardumen-")
    return zipfile.ZipFile(io.BytesIO(r.get_data()))


def test_the_archive_holds_everything_of_the_members_and_nothing_else(
        factory: Factory, tmp_path: Path) -> None:
    coop = factory.coop()
    api = coop.fisher.api
    t = trip_item(coop.vessel_id)
    k = catch_item(t["id"], landed_kg=12.5)
    assert statuses(push(api, [t, k])) == ["created", "created"]
    r = api.patch(f"/api/v1/catches/{k['id']}", {"base_version": 1, "landed_kg": 13})
    assert r.status_code == 201, r.get_json()
    api.post("/api/v1/me/consents", {"purpose": "cooperative_statistics",
                                     "recipient_id": str(coop.org.id), "granted": True})
    # Someone else's catch in the same cooperative: never in this member's archive.
    other = factory.person(coop.org)
    t2 = trip_item(coop.vessel_id)
    assert statuses(push(other.api, [t2, catch_item(t2["id"])])) == ["created", "created"]

    z = archive(api)
    names = set(z.namelist())
    assert {"data.json", "manifest.json", "catches.gpkg", "catches.csv", "trips.csv",
            "reports.csv", "consents.csv", "consent_history.csv", "profile.csv"} <= names
    manifest = json.loads(z.read("manifest.json"))
    for f in manifest["files"]:
        body = z.read(f["name"])
        assert len(body) == f["bytes"] and hashlib.sha256(body).hexdigest() == f["sha256"]
    data = json.loads(z.read("data.json"))
    assert data["meta"]["member_id"] == str(coop.fisher.member.id)
    assert data["profile"][0]["phone"] == coop.fisher.phone
    assert [m["org_id"] for m in data["memberships"]] == [str(coop.org.id)]
    assert [v["id"] for v in data["vessels"]] == [str(coop.vessel_id)]
    assert [x["id"] for x in data["trips"]] == [t["id"]]
    # Both versions of the corrected catch, the first one superseded.
    versions = [(c["id"], c["version"], c["landed_kg"]) for c in data["catches"]]
    assert versions == [(k["id"], 1, "12.500"), (k["id"], 2, "13.000")]
    assert data["catches"][0]["superseded_at"] is not None
    assert [(c["purpose"], c["granted"]) for c in data["consents"]] == [
        ("cooperative_statistics", True)]
    assert len(data["consent_history"]) == 1
    rows = list(csv.DictReader(io.StringIO(z.read("catches.csv").decode())))
    assert [r["version"] for r in rows] == ["1", "2"] and rows[1]["landed_kg"] == "13.000"
    gpkg = tmp_path / "catches.gpkg"
    gpkg.write_bytes(z.read("catches.gpkg"))
    assert pyogrio.list_layers(gpkg)[0][0] == "catches"
    meta, _, geometry, fields = ogr_read(gpkg)
    assert len(geometry) == 2 and meta["crs"] == "EPSG:4326"
    landed = list(fields[list(meta["fields"]).index("landed_kg")])
    assert landed == [12.5, 13.0]


def test_a_new_member_gets_an_empty_but_whole_archive(factory: Factory) -> None:
    z = archive(factory.person().api)
    data = json.loads(z.read("data.json"))
    assert data["catches"] == [] and data["trips"] == [] and len(data["profile"]) == 1
    assert z.read("catches.csv").decode().startswith("org_id,id,version,")


def test_no_archive_without_a_token(anon: Api) -> None:
    problem(anon.get(URL), 401, "token_missing")


