"""Bad input to the reports API: a clear problem+json 4xx naming the field, and nothing written.

Every refusal is checked for: its status and code, the one field at fault (and
where: body or query), a human message (never the bare code), Spanish by
default, and unchanged row counts of what the request could have created.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import PROBLEM, Api, Coop, Factory, Person, errors_of, problem
from tests.reports.helpers import Setup, local_today, make_authority, run_now, subscribe

REGION: dict[str, Any] = {"type": "Polygon", "coordinates": [[
    [-106.9, 22.8], [-106.2, 22.8], [-106.2, 23.4], [-106.9, 23.4], [-106.9, 22.8]]]}
INSIDE_REGION: dict[str, Any] = {"type": "Polygon", "coordinates": [[
    [-106.6, 23.0], [-106.5, 23.0], [-106.5, 23.1], [-106.6, 23.1], [-106.6, 23.0]]]}
LA_PAZ_BAY: dict[str, Any] = {"type": "Polygon", "coordinates": [[
    [-110.5, 24.0], [-110.2, 24.0], [-110.2, 24.3], [-110.5, 24.3], [-110.5, 24.0]]]}
STRADDLING: dict[str, Any] = {"type": "Polygon", "coordinates": [[  # half in, half out
    [-107.2, 23.0], [-106.5, 23.0], [-106.5, 23.1], [-107.2, 23.1], [-107.2, 23.0]]]}
SUB: dict[str, Any] = {"name": "Avisos diarios", "format": "conapesca_aviso_csv",
                       "schedule": "0 6 * * *", "period": "day", "delivery": "pull"}
TABLES = ("organization", "authority", "authority_cooperative", "report_subscription",
          "report_run", "membership")
JSON = {"Content-Type": "application/json"}


@dataclass
class Ctx:
    admin: Person
    inside: Coop  # listed by ``listing``
    outside: Coop  # listed by ``other`` only
    company: str  # an organization that is not a cooperative
    listing: Setup  # jurisdiction: ``inside``, by name
    region: Setup  # jurisdiction: a polygon around Mazatlán
    other: Setup  # another authority, over ``outside``
    week_sub: dict[str, Any]  # on ``listing``, weekly, from ``week_start``
    week_start: date  # a Monday three weeks ago
    day_sub: dict[str, Any]  # on ``listing``, daily, with a run
    run: dict[str, Any]  # the day subscription's run
    foreign_run: dict[str, Any]  # a run of ``other``

    @property
    def subs_url(self) -> str:
        return f"/api/v1/authorities/{self.listing.authority_id}/subscriptions"


@pytest.fixture(scope="module")
def ctx(app: Flask) -> Iterator[Ctx]:
    maker = app.extensions["cardumen.sessionmaker"]
    with maker() as sess:
        f = Factory(app, sess)
        admin = f.person(platform_admin=True)
        inside, outside = f.coop(), f.coop()
        company = f.org(kind="company")
        _, staff_l, listing_id = make_authority(f, [inside], admin=admin)
        _, staff_r, region_id = make_authority(f, [], admin=admin, region=REGION)
        _, staff_o, other_id = make_authority(f, [outside], admin=admin)
        listing = Setup(inside, admin, staff_l, listing_id)
        other = Setup(outside, admin, staff_o, other_id)
        today = local_today()
        week_start = today - timedelta(days=today.weekday() + 21)
        week_sub = subscribe(listing, period="week", starts_on=week_start.isoformat())
        day_sub = subscribe(listing, days_back=1)
        (run,) = run_now(listing, day_sub["id"])
        other_sub = subscribe(other, days_back=1)
        (foreign_run,) = run_now(other, other_sub["id"])
        yield Ctx(admin, inside, outside, str(company.id), listing,
                  Setup(inside, admin, staff_r, region_id), other, week_sub, week_start,
                  day_sub, run, foreign_run)


# --- helpers ---------------------------------------------------------------------------------

def row_counts(db: Session) -> dict[str, int]:
    db.rollback()  # a fresh snapshot of what the API committed
    return {t: int(db.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in TABLES}


@contextmanager
def nothing_written(db: Session) -> Iterator[None]:
    before = row_counts(db)
    yield
    assert row_counts(db) == before


def invalid(r: Any, field: str, code: str, *, status: int = 422,
            problem_code: str = "validation_error", location: str = "json") -> dict[str, Any]:
    """A problem naming exactly this field, with a Spanish human message; its body."""
    body = problem(r, status, problem_code)
    assert errors_of(body) == {field: code}, body
    (err,) = body["errors"]
    assert err["in"] == location
    assert err["message"] and err["message"] != code, "no text for this code"
    assert r.headers["Content-Language"] == "es"
    return body


def never_500(r: Any) -> None:
    assert r.status_code < 500, r.get_data(as_text=True)[:2000]
    if r.status_code >= 400:
        assert r.mimetype == PROBLEM


def cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def run_url(sub: dict[str, Any]) -> str:
    return f"/api/v1/reports/subscriptions/{sub['id']}/runs"


def reconcile_url(c: Ctx, sub_id: str | None = None, **query: str) -> str:
    q = {"subscription_id": sub_id or c.day_sub["id"]} | query
    qs = "&".join(f"{k}={v}" for k, v in q.items() if v)
    return f"/api/v1/authorities/{c.listing.authority_id}/reconciliation?{qs}"


# --- authorities -----------------------------------------------------------------------------

BadBody = Callable[[Ctx], dict[str, Any]]

AUTHORITY_CASES: list[tuple[str, BadBody, str, str]] = [
    ("no-jurisdiction", lambda c: {"cooperative_ids": []}, "cooperative_ids", "jurisdiction_required"),
    ("no-jurisdiction-null-region", lambda c: {"cooperative_ids": [], "region": None},
     "cooperative_ids", "jurisdiction_required"),
    ("not-a-cooperative", lambda c: {"cooperative_ids": [str(c.inside.org.id), c.company]},
     "cooperative_ids.1", "not_a_cooperative"),
    ("an-authority-is-no-cooperative", lambda c: {"cooperative_ids": [c.other.authority_id]},
     "cooperative_ids.0", "not_a_cooperative"),
    ("unknown-cooperative", lambda c: {"cooperative_ids": [str(uuid.uuid4())]},
     "cooperative_ids.0", "not_a_cooperative"),
    ("bad-uuid", lambda c: {"cooperative_ids": ["cooperativa-1"]}, "cooperative_ids.0", "not_a_uuid"),
    ("timezone", lambda c: {"timezone": "Mars/Olympus"}, "timezone", "invalid_timezone"),
    ("email", lambda c: {"contact_email": "oficina.at.conapesca"}, "contact_email", "invalid_email"),
    ("name", lambda c: {"name": "X"}, "name", "length_between"),
    ("unknown-field", lambda c: {"jurisdiccion": "Sinaloa"}, "jurisdiccion", "unknown_field"),
    ("region-not-an-object", lambda c: {"region": "Mazatlán"}, "region", "not_an_object"),
    ("region-a-point", lambda c: {"region": {"type": "Point", "coordinates": [-106.5, 23.0]}},
     "region.type", "wrong_geometry_type"),
    ("region-ring-too-short", lambda c: {"region": {"type": "Polygon",
                                                    "coordinates": [[[-106.9, 22.8], [-106.2, 23.4]]]}},
     "region.coordinates.0", "too_few_points"),
    ("region-hole-off-the-globe", lambda c: {"region": {"type": "Polygon", "coordinates": [
        REGION["coordinates"][0], [[-500, 23.0], [-106.5, 23.0], [-106.5, 23.1], [-500, 23.0]]]}},
     "region.coordinates.1.0.0", "longitude_out_of_range"),
    ("region-self-intersecting", lambda c: {"region": {"type": "Polygon", "coordinates": [[
        [-106.9, 22.8], [-106.2, 23.4], [-106.2, 22.8], [-106.9, 23.4], [-106.9, 22.8]]]}},
     "region.coordinates.0", "self_intersection"),
]


def authority_body(c: Ctx, **over: Any) -> dict[str, Any]:
    return {"name": "Oficina de Pesca de Escuinapa", "cooperative_ids": [str(c.inside.org.id)]} | over


@pytest.mark.parametrize(("make", "field", "code"), [case[1:] for case in AUTHORITY_CASES],
                         ids=[case[0] for case in AUTHORITY_CASES])
def test_bad_authority_is_refused_and_not_written(ctx: Ctx, db: Session, make: BadBody,
                                                  field: str, code: str) -> None:
    with nothing_written(db):
        invalid(ctx.admin.api.post("/api/v1/authorities", authority_body(ctx, **make(ctx))), field, code)


def test_authority_with_a_registered_rnpa_is_a_conflict(ctx: Ctx, db: Session) -> None:
    rnpa = ctx.inside.org.rnpa
    with nothing_written(db):
        body = invalid(ctx.admin.api.post("/api/v1/authorities", authority_body(ctx, rnpa=rnpa)),
                       "rnpa", "already_registered", status=409, problem_code="conflict")
    assert body["detail"] == "La solicitud entra en conflicto con el estado actual."


# --- subscriptions ---------------------------------------------------------------------------

SUBSCRIPTION_CASES: list[tuple[str, BadBody, str, str]] = [
    ("unknown-format", lambda c: {"format": "sardina_xml"}, "format", "unknown_format"),
    ("unknown-option", lambda c: {"options": {"compression": "zip"}}, "options.compression",
     "unknown_option"),
    ("invalid-encoding", lambda c: {"options": {"encoding": "ebcdic"}}, "options.encoding",
     "invalid_choice"),
    ("option-not-text", lambda c: {"options": {"encoding": 8}}, "options.encoding.value", "not_a_string"),
    ("cron-words", lambda c: {"schedule": "every day"}, "schedule", "invalid_cron"),
    ("cron-minute-61", lambda c: {"schedule": "61 * * * *"}, "schedule", "invalid_cron"),
    ("cron-six-fields", lambda c: {"schedule": "0 0 6 * * *"}, "schedule", "invalid_cron"),
    ("cron-four-fields", lambda c: {"schedule": "0 6 * *"}, "schedule", "invalid_cron"),
    ("cron-empty", lambda c: {"schedule": ""}, "schedule", "invalid_cron"),
    ("cron-macro", lambda c: {"schedule": "@daily"}, "schedule", "invalid_cron"),
    ("period", lambda c: {"period": "year"}, "period", "one_of"),
    ("delivery", lambda c: {"delivery": "email"}, "delivery", "one_of"),
    ("timezone", lambda c: {"timezone": "America/Sinaloa"}, "timezone", "invalid_timezone"),
    ("starts-on", lambda c: {"starts_on": "mañana"}, "starts_on", "not_a_date"),
    ("org-outside", lambda c: {"org_ids": [str(c.outside.org.id)]}, "org_ids.0", "outside_jurisdiction"),
    ("second-org-outside", lambda c: {"org_ids": [str(c.inside.org.id), str(c.outside.org.id)]},
     "org_ids.1", "outside_jurisdiction"),
    ("org-not-a-cooperative", lambda c: {"org_ids": [c.company]}, "org_ids.0", "not_a_cooperative"),
    ("region-invalid", lambda c: {"region": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
     "region.coordinates.0", "too_few_points"),
    ("push-http", lambda c: {"delivery": "push", "push_url": "http://conapesca.example.org/in"},
     "push_url", "endpoint_not_https"),
    ("push-ftp", lambda c: {"delivery": "push", "push_url": "ftp://conapesca.example.org/in"},
     "push_url", "endpoint_not_https"),
    ("push-credentials", lambda c: {"delivery": "push",
                                    "push_url": "https://oficina:secreto@conapesca.example.org/in"},
     "push_url", "endpoint_has_credentials"),
    ("push-loopback-ip", lambda c: {"delivery": "push", "push_url": "http://127.0.0.1:8080/in"},
     "push_url", "endpoint_not_https"),
    ("push-localhost", lambda c: {"delivery": "push", "push_url": "http://localhost:8080/in"},
     "push_url", "endpoint_not_https"),
    ("push-loopback-v6", lambda c: {"delivery": "push", "push_url": "http://[::1]:8080/in"},
     "push_url", "endpoint_not_https"),
    ("push-no-host", lambda c: {"delivery": "push", "push_url": "https:///in"},
     "push_url", "endpoint_invalid"),
    ("push-fragment", lambda c: {"delivery": "push", "push_url": "https://conapesca.example.org/in#x"},
     "push_url", "endpoint_has_fragment"),
    ("push-without-url", lambda c: {"delivery": "push"}, "push_url", "required"),
    ("push-empty-url", lambda c: {"delivery": "push", "push_url": ""}, "push_url", "required"),
    ("pull-with-url", lambda c: {"push_url": "https://conapesca.example.org/in"},
     "push_url", "push_url_without_push"),
]


@pytest.mark.parametrize(("make", "field", "code"), [case[1:] for case in SUBSCRIPTION_CASES],
                         ids=[case[0] for case in SUBSCRIPTION_CASES])
def test_bad_subscription_is_refused_and_not_written(app: Flask, ctx: Ctx, db: Session,
                                                     make: BadBody, field: str, code: str) -> None:
    assert not app.config["ALLOW_LOOPBACK_HTTP"]  # the loopback cases rely on it
    with nothing_written(db):
        invalid(ctx.admin.api.post(ctx.subs_url, SUB | make(ctx)), field, code)


def test_unknown_format_names_the_formats_there_are(ctx: Ctx) -> None:
    body = invalid(ctx.admin.api.post(ctx.subs_url, SUB | {"format": "sardina_xml"}),
                   "format", "unknown_format")
    assert "conapesca_aviso_csv" in body["errors"][0]["message"]


@pytest.mark.parametrize("region", [LA_PAZ_BAY, STRADDLING], ids=["far-away", "straddling"])
def test_region_beyond_the_authoritys_region_is_refused(ctx: Ctx, db: Session,
                                                        region: dict[str, Any]) -> None:
    url = f"/api/v1/authorities/{ctx.region.authority_id}/subscriptions"
    with nothing_written(db):
        invalid(ctx.admin.api.post(url, SUB | {"region": region}), "region", "outside_jurisdiction")


def test_region_inside_the_authoritys_region_is_accepted(ctx: Ctx) -> None:
    # The control of the case above: the check refuses widening, not narrowing.
    url = f"/api/v1/authorities/{ctx.region.authority_id}/subscriptions"
    r = ctx.admin.api.post(url, SUB | {"region": INSIDE_REGION})
    assert r.status_code == 201, r.get_json()


def test_schedule_that_never_fires_is_refused(ctx: Ctx, db: Session) -> None:
    # Five valid-looking fields, but 31 February never comes.
    with nothing_written(db):
        invalid(ctx.admin.api.post(ctx.subs_url, SUB | {"schedule": "0 6 31 2 *"}),
                "schedule", "invalid_cron")


def test_subscription_for_an_unknown_authority_is_404(ctx: Ctx, db: Session) -> None:
    with nothing_written(db):
        problem(ctx.admin.api.post(f"/api/v1/authorities/{uuid.uuid4()}/subscriptions", SUB),
                404, "not_found")


# --- languages -------------------------------------------------------------------------------

def test_outside_jurisdiction_speaks_spanish_by_default_and_english_on_request(ctx: Ctx) -> None:
    bad = SUB | {"org_ids": [str(ctx.outside.org.id)]}
    es = invalid(ctx.admin.api.post(ctx.subs_url, bad), "org_ids.0", "outside_jurisdiction")
    assert es["title"] == "La solicitud tiene campos no válidos."
    assert es["errors"][0]["message"] == "Fuera de la jurisdicción de la autoridad."

    r = ctx.admin.api.post(ctx.subs_url, bad, lang="en")
    en = problem(r, 422, "validation_error")
    assert r.headers["Content-Language"] == "en"
    assert en["title"] == "The request has invalid fields."
    assert en["errors"] == [{"field": "org_ids.0", "in": "json", "code": "outside_jurisdiction",
                             "message": "Outside the authority's jurisdiction."}]


def test_invalid_cron_speaks_spanish_by_default_and_english_on_request(ctx: Ctx) -> None:
    bad = SUB | {"schedule": "every day"}
    es = invalid(ctx.admin.api.post(ctx.subs_url, bad), "schedule", "invalid_cron")
    assert "cinco campos cron" in es["errors"][0]["message"]
    en = problem(ctx.admin.api.post(ctx.subs_url, bad, lang="en-US,en;q=0.9"), 422, "validation_error")
    assert "five cron fields" in en["errors"][0]["message"]


def test_period_inverted_speaks_spanish_by_default_and_english_on_request(ctx: Ctx) -> None:
    url = reconcile_url(ctx, period_from="2026-02-10", period_to="2026-02-01")
    api = ctx.listing.staff.api
    es = invalid(api.get(url), "period_to", "period_inverted", location="query")
    assert es["errors"][0]["message"] == "El periodo termina antes de empezar."
    en = problem(api.get(url, lang="en"), 422, "validation_error")
    assert en["errors"][0]["message"] == "The period ends before it starts."


def test_paused_subscription_speaks_spanish_by_default_and_english_on_request(ctx: Ctx) -> None:
    sub = subscribe(ctx.listing, days_back=1)
    assert ctx.admin.api.patch(f"/api/v1/reports/subscriptions/{sub['id']}",
                               {"active": False}).status_code == 200
    es = problem(ctx.admin.api.post(run_url(sub), {}), 409, "subscription_inactive")
    assert es["detail"] == "La suscripción está en pausa."
    en = problem(ctx.admin.api.post(run_url(sub), {}, lang="en"), 409, "subscription_inactive")
    assert en["detail"] == "The subscription is paused."


# --- run now ---------------------------------------------------------------------------------

def test_run_now_with_a_misaligned_period_start_names_the_periods_start(ctx: Ctx, db: Session) -> None:
    wednesday = ctx.week_start + timedelta(days=2)
    with nothing_written(db):
        body = invalid(ctx.admin.api.post(run_url(ctx.week_sub), {"period_start": wednesday.isoformat()}),
                       "period_start", "period_misaligned")
    assert ctx.week_start.isoformat() in body["errors"][0]["message"]


def test_run_now_before_the_subscription_starts_is_refused(ctx: Ctx, db: Session) -> None:
    earlier = ctx.week_start - timedelta(days=7)
    with nothing_written(db):
        body = invalid(ctx.admin.api.post(run_url(ctx.week_sub), {"period_start": earlier.isoformat()}),
                       "period_start", "before_subscription")
    assert ctx.week_start.isoformat() in body["errors"][0]["message"]


@pytest.mark.parametrize("weeks_ahead", [0, 2], ids=["current-week", "future-week"])
def test_run_now_of_a_period_not_yet_closed_is_refused(ctx: Ctx, db: Session, weeks_ahead: int) -> None:
    today = local_today()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks_ahead)
    with nothing_written(db):
        invalid(ctx.admin.api.post(run_url(ctx.week_sub), {"period_start": monday.isoformat()}),
                "period_start", "period_not_closed")


def test_run_now_with_a_period_start_that_is_no_date_is_refused(ctx: Ctx, db: Session) -> None:
    with nothing_written(db):
        invalid(ctx.admin.api.post(run_url(ctx.day_sub), {"period_start": "ayer"}),
                "period_start", "not_a_date")


def test_run_now_at_the_end_of_the_calendar_is_refused_not_a_500(ctx: Ctx, db: Session) -> None:
    with nothing_written(db):
        invalid(ctx.admin.api.post(run_url(ctx.day_sub), {"period_start": "9999-12-31"}),
                "period_start", "range_between")


def test_a_subscription_starting_in_year_9999_is_refused(ctx: Ctx, db: Session) -> None:
    with nothing_written(db):
        r = ctx.admin.api.post(
            f"/api/v1/authorities/{ctx.listing.authority_id}/subscriptions",
            {"name": "Avisos", "format": "conapesca_aviso_csv", "schedule": "0 6 * * *",
             "period": "day", "delivery": "pull", "starts_on": "9999-12-31"})
        invalid(r, "starts_on", "range_between")


def test_first_period_the_schedule_reports_can_be_run_by_hand(ctx: Ctx) -> None:
    # A weekly subscription starting on a Wednesday: the schedule reports that
    # whole week (from its Monday), so running that week by hand must be allowed too.
    monday = ctx.week_start - timedelta(weeks=1)
    sub = subscribe(ctx.listing, period="week", starts_on=(monday + timedelta(days=2)).isoformat())
    scheduled = {r["period_start"] for r in run_now(ctx.listing, sub["id"])}
    assert monday.isoformat() in scheduled
    r = ctx.admin.api.post(run_url(sub), {"period_start": monday.isoformat()})
    assert r.status_code == 201, r.get_data(as_text=True)[:2000]


def test_running_a_paused_subscription_is_a_conflict(ctx: Ctx, db: Session) -> None:
    sub = subscribe(ctx.listing, days_back=2)
    url = f"/api/v1/reports/subscriptions/{sub['id']}"
    r = ctx.admin.api.patch(url, {"active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    with nothing_written(db):
        problem(ctx.admin.api.post(run_url(sub), {}), 409, "subscription_inactive")
        problem(ctx.admin.api.post(run_url(sub), {"period_start": yesterday}), 409,
                "subscription_inactive")
    assert ctx.admin.api.patch(url, {"active": True}).get_json()["active"] is True
    assert len(run_now(ctx.listing, sub["id"], period_start=yesterday)) == 1


def test_pausing_with_a_non_boolean_is_refused(ctx: Ctx) -> None:
    url = f"/api/v1/reports/subscriptions/{ctx.day_sub['id']}"
    invalid(ctx.admin.api.patch(url, {"active": "quizás"}), "active", "not_a_boolean")
    assert ctx.admin.api.get(url).get_json()["active"] is True


def test_run_now_and_pause_of_an_unknown_subscription_are_404(ctx: Ctx, db: Session) -> None:
    unknown = {"id": str(uuid.uuid4())}
    with nothing_written(db):
        problem(ctx.admin.api.post(run_url(unknown), {}), 404, "not_found")
        problem(ctx.admin.api.patch(f"/api/v1/reports/subscriptions/{unknown['id']}", {"active": False}),
                404, "not_found")


# --- reconciliation --------------------------------------------------------------------------

@pytest.mark.parametrize(("period_from", "period_to", "code"), [
    ("2026-02-10", "2026-02-01", "period_inverted"),
    ("2026-02-10", "2026-02-10", "period_empty"),
    ("2024-01-01", "2026-03-12", "period_too_long"),  # 801 days
], ids=["inverted", "empty", "too-long"])
def test_reconciliation_with_a_bad_period_is_refused(ctx: Ctx, period_from: str, period_to: str,
                                                     code: str) -> None:
    url = reconcile_url(ctx, period_from=period_from, period_to=period_to)
    invalid(ctx.listing.staff.api.get(url), "period_to", code, location="query")


def test_reconciliation_without_a_subscription_is_refused(ctx: Ctx) -> None:
    url = f"/api/v1/authorities/{ctx.listing.authority_id}/reconciliation" \
          "?period_from=2026-02-01&period_to=2026-02-10"
    invalid(ctx.listing.staff.api.get(url), "subscription_id", "required", location="query")


def test_reconciliation_without_any_query_names_every_missing_field(ctx: Ctx) -> None:
    r = ctx.listing.staff.api.get(f"/api/v1/authorities/{ctx.listing.authority_id}/reconciliation")
    body = problem(r, 422, "validation_error")
    assert errors_of(body) == {"subscription_id": "required", "period_from": "required",
                               "period_to": "required"}
    assert {e["in"] for e in body["errors"]} == {"query"}


def test_reconciliation_with_a_date_that_is_no_date_is_refused(ctx: Ctx) -> None:
    url = reconcile_url(ctx, period_from="1 de febrero", period_to="2026-02-10")
    invalid(ctx.listing.staff.api.get(url), "period_from", "not_a_date", location="query")


def test_reconciliation_of_an_unknown_subscription_is_404(ctx: Ctx) -> None:
    url = reconcile_url(ctx, str(uuid.uuid4()), period_from="2026-02-01", period_to="2026-02-10")
    problem(ctx.listing.staff.api.get(url), 404, "not_found")


def test_reconciliation_at_the_end_of_the_calendar_is_not_a_500(ctx: Ctx) -> None:
    never_500(ctx.listing.staff.api.get(reconcile_url(ctx, period_from="9999-12-30",
                                                      period_to="9999-12-31")))


def test_reconciliation_at_the_start_of_the_calendar_east_of_utc_is_not_a_500(ctx: Ctx) -> None:
    sub = subscribe(ctx.listing, timezone="Asia/Tokyo")
    never_500(ctx.listing.staff.api.get(reconcile_url(ctx, sub["id"], period_from="0001-01-01",
                                                      period_to="0001-01-02")))


# --- runs, files, acks, deliveries -----------------------------------------------------------

def test_ack_of_an_unknown_run_is_404(ctx: Ctx) -> None:
    problem(ctx.listing.staff.api.post(f"/api/v1/reports/runs/{uuid.uuid4()}/ack", {}), 404, "not_found")


def test_ack_and_download_of_another_authoritys_run_are_404_and_change_nothing(ctx: Ctx) -> None:
    run_id = ctx.foreign_run["id"]
    api = ctx.listing.staff.api
    problem(api.post(f"/api/v1/reports/runs/{run_id}/ack", {"reference": "X"}), 404, "not_found")
    problem(api.get(f"/api/v1/reports/runs/{run_id}/files/avisos_arribo.csv"), 404, "not_found")
    problem(api.get(f"/api/v1/reports/runs/{run_id}/files/manifest.json"), 404, "not_found")
    delivery = ctx.admin.api.get(f"/api/v1/reports/runs/{run_id}").get_json()["delivery"]
    assert delivery["status"] == "pending" and delivery["ack_reference"] is None


@pytest.mark.parametrize("name", ["avisos.csv", "..%2Fmanifest.json", "MANIFEST.JSON", "%00"],
                         ids=["other-name", "traversal", "case", "nul"])
def test_download_of_a_file_the_run_does_not_have_is_refused(ctx: Ctx, name: str) -> None:
    r = ctx.listing.staff.api.get(f"/api/v1/reports/runs/{ctx.run['id']}/files/{name}")
    assert r.status_code in (400, 404), r.get_data(as_text=True)[:2000]
    assert r.mimetype == PROBLEM


def test_retry_of_a_delivery_that_has_not_failed_is_a_conflict(ctx: Ctx) -> None:
    url = f"/api/v1/reports/runs/{ctx.run['id']}"
    before = ctx.admin.api.get(url).get_json()["delivery"]
    problem(ctx.admin.api.post(f"/api/v1/reports/deliveries/{before['id']}/retry"), 409,
            "delivery_not_failed")
    assert ctx.admin.api.get(url).get_json()["delivery"] == before


def test_retry_of_an_unknown_delivery_is_404(ctx: Ctx) -> None:
    problem(ctx.admin.api.post(f"/api/v1/reports/deliveries/{uuid.uuid4()}/retry"), 404, "not_found")


def bad_cursors(arity: int) -> list[str]:
    return ["%%%", "bm90IGpzb24", cursor({"t": 1}), cursor(["x"] * (arity + 1)),
            cursor(["nope"] * arity), cursor([None] * arity)]


@pytest.mark.parametrize(("path", "arity"), [
    ("/api/v1/reports/runs", 2),
    ("/api/v1/reports/runs/{run}/items", 1),
    ("/api/v1/reports/reported-catches", 3),
], ids=["runs", "items", "reported-catches"])
def test_malformed_cursor_is_a_400(ctx: Ctx, path: str, arity: int) -> None:
    url = path.format(run=ctx.run["id"])
    for after in bad_cursors(arity):
        r = ctx.admin.api.get(f"{url}?after={after}")
        invalid(r, "after", "invalid_cursor", status=400, problem_code="invalid_cursor", location="query")


def test_run_list_cursor_with_a_bad_time_or_id_is_a_400(ctx: Ctx) -> None:
    for values in (["ayer", str(uuid.uuid4())], ["2026-01-01T00:00:00+00:00", "no-es-uuid"]):
        r = ctx.admin.api.get(f"/api/v1/reports/runs?after={cursor(values)}")
        invalid(r, "after", "invalid_cursor", status=400, problem_code="invalid_cursor", location="query")


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=diez", "purpose=borrador",
                                   "status=perdido", "org_id=coop", "period_from=ayer"])
def test_run_list_with_a_bad_filter_is_refused(ctx: Ctx, query: str) -> None:
    field = query.split("=")[0]
    body = problem(ctx.admin.api.get(f"/api/v1/reports/runs?{query}"), 422, "validation_error")
    assert set(errors_of(body)) == {field}
    assert body["errors"][0]["in"] == "query"


# --- never a 500: bodies that are not objects, and empty bodies ------------------------------

# (method, path template, status for an empty body); templates name the context's ids.
BODY_ENDPOINTS: list[tuple[str, str, int]] = [
    ("POST", "/api/v1/authorities", 422),
    ("POST", "/api/v1/authorities/{authority}/staff", 422),
    ("POST", "/api/v1/authorities/{authority}/subscriptions", 422),
    ("PATCH", "/api/v1/reports/subscriptions/{sub}", 422),
    ("POST", "/api/v1/reports/subscriptions/{sub}/runs", 201),  # no period_start: run what is due
    ("POST", "/api/v1/reports/runs/{run}/ack", 200),  # no reference
    ("POST", "/api/v1/reports/deliveries/{delivery}/retry", 409),  # takes no body
]
EMPTY_REQUIRED = {
    "/api/v1/authorities": {"name"},
    "/api/v1/authorities/{authority}/staff": {"member_id"},
    "/api/v1/authorities/{authority}/subscriptions": {"name", "format", "schedule", "period", "delivery"},
    "/api/v1/reports/subscriptions/{sub}": {"active"},
}


def fill(c: Ctx, template: str) -> str:
    return template.format(authority=c.listing.authority_id, sub=c.day_sub["id"], run=c.run["id"],
                           delivery=c.run["delivery"]["id"])


def caller(c: Ctx, template: str) -> Api:
    """The one allowed to make the call: the authority's staff acks, the platform admin the rest."""
    return c.listing.staff.api if template.endswith("/ack") else c.admin.api


def send_raw(api: Api, method: str, path: str, data: bytes | None) -> Any:
    headers = dict(JSON) if data is not None else {}
    return api.request(method, path, None, headers=headers, data=data)


@pytest.mark.parametrize(("method", "template", "empty_status"), BODY_ENDPOINTS,
                         ids=[f"{m} {t}" for m, t, _ in BODY_ENDPOINTS])
@pytest.mark.parametrize("raw", [b"[]", b'[{"name": "Oficina"}]', b'"Oficina"', b"42", b"true"],
                         ids=["empty-list", "list", "string", "number", "boolean"])
def test_body_that_is_not_an_object_is_refused(ctx: Ctx, db: Session, method: str, template: str,
                                               empty_status: int, raw: bytes) -> None:
    with nothing_written(db):
        r = send_raw(caller(ctx, template), method, fill(ctx, template), raw)
    if template.endswith("/retry"):
        problem(r, 409, "delivery_not_failed")
    else:
        invalid(r, "", "invalid_type")


@pytest.mark.parametrize(("method", "template", "empty_status"), BODY_ENDPOINTS,
                         ids=[f"{m} {t}" for m, t, _ in BODY_ENDPOINTS])
@pytest.mark.parametrize("raw", [None, b""], ids=["no-body", "empty-json-body"])
def test_empty_body_is_never_a_500(ctx: Ctx, method: str, template: str, empty_status: int,
                                   raw: bytes | None) -> None:
    r = send_raw(caller(ctx, template), method, fill(ctx, template), raw)
    never_500(r)
    assert r.status_code == empty_status, r.get_data(as_text=True)[:2000]
    if template in EMPTY_REQUIRED:
        body = problem(r, 422, "validation_error")
        assert errors_of(body) == dict.fromkeys(EMPTY_REQUIRED[template], "required")


@pytest.mark.parametrize(("method", "template"), [(m, t) for m, t, _ in BODY_ENDPOINTS],
                         ids=[f"{m} {t}" for m, t, _ in BODY_ENDPOINTS])
def test_body_that_is_not_json_is_a_400(ctx: Ctx, db: Session, method: str, template: str) -> None:
    with nothing_written(db):
        r = send_raw(caller(ctx, template), method, fill(ctx, template), b"{nombre: 'Oficina'")
    if template.endswith("/retry"):
        never_500(r)
    else:
        problem(r, 400, "malformed_json")


@pytest.mark.parametrize("template", [
    "/api/v1/authorities", "/api/v1/authorities/{authority}",
    "/api/v1/authorities/{authority}/subscriptions", "/api/v1/reports/subscriptions/{sub}",
    "/api/v1/reports/runs", "/api/v1/reports/runs/{run}", "/api/v1/reports/runs/{run}/items",
    "/api/v1/reports/reported-catches", "/api/v1/reports/formats",
])
def test_get_ignores_a_body_that_is_not_an_object(ctx: Ctx, template: str) -> None:
    r = send_raw(ctx.admin.api, "GET", fill(ctx, template), b"[1, 2]")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
