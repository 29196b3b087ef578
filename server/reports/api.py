"""HTTP API of government reports: authorities, subscriptions, runs, downloads, acks.

Authentication and the role check run before the input is read (the auth
decorator sits outside ``blp.arguments``), so a stranger learns nothing of the
input rules: 401/403/404 come before 422.

Who sees what:
- a platform admin registers authorities and subscriptions and sees everything;
- an authority's staff (role ``authority`` in its organization) list, download
  and acknowledge that authority's runs, and reconcile its subscriptions;
- a cooperative admin sees the runs made about the cooperative (one run is
  about one cooperative) and downloads the same files;
- a fisher sees which of their catches were reported, in which run.
Anything else answers 404, as for every tenant's object.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from flask import Response, current_app, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import aliased

from exports import base as registry
from exports.storage import ArtifactStore
from server import db, jobs
from server.catches.models import Catch
from server.db import utcnow
from server.errors import ApiError, FieldError
from server.members import auth
from server.members.models import Member, Organization, Role
from server.pages import conditional_json, keyset_encode, keyset_typed, split_page
from server.reports import delivery, generate, periods, reconcile, scheduler, selection, services
from server.reports.models import (
    Artifact,
    Authority,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Run,
    RunItem,
    Subscription,
    Trigger,
)
from server.reports.schemas import (
    AckSchema,
    AuthorityInSchema,
    AuthoritySchema,
    ReconcileQuery,
    ReportedQuery,
    RunListQuery,
    RunNowSchema,
    StaffInSchema,
    SubscriptionInSchema,
    SubscriptionPatchSchema,
    SubscriptionSchema,
)

blp = Blueprint("reports", __name__, url_prefix="/api/v1",
                description="Government reports: authorities, subscriptions, runs and delivery.")

MAX_RECONCILE_DAYS = 800
# Runs one request may make; a longer backlog is the worker's (or the CLI's) job.
MAX_RUNS_PER_REQUEST = 400


def store() -> ArtifactStore:
    ext = current_app.extensions
    if "cardumen.artifacts" not in ext:
        ext["cardumen.artifacts"] = jobs.artifact_store(dict(current_app.config))
    st: ArtifactStore = ext["cardumen.artifacts"]
    return st


def _authority_ids(p: auth.Principal) -> list[uuid.UUID]:
    return p.orgs_with(Role.authority)


def _authority(authority_id: uuid.UUID, *, staff_ok: bool) -> Authority:
    p = auth.current()
    if not (p.is_platform_admin or (staff_ok and authority_id in _authority_ids(p))):
        raise ApiError(404, "not_found")
    a = db.session().get(Authority, authority_id)
    if a is None:
        raise ApiError(404, "not_found")
    return a


def _subscription(sub_id: uuid.UUID, *, staff_ok: bool) -> Subscription:
    sub = db.session().get(Subscription, sub_id)
    if sub is None:
        raise ApiError(404, "not_found")
    _authority(sub.authority_id, staff_ok=staff_ok)
    return sub


def _runs_visible() -> Any:
    p = auth.current()
    if p.is_platform_admin:
        return True
    return or_(Run.authority_id.in_(_authority_ids(p)),
               Run.subject_org_id.in_(p.orgs_with(Role.admin)))


def _run(run_id: uuid.UUID) -> Run:
    run = db.session().scalar(select(Run).where(Run.id == run_id, _runs_visible()))
    if run is None:
        raise ApiError(404, "not_found")
    return run


def _render_run(run: Run, d: Delivery | None, files: list[Artifact], org_name: str | None,
                authority_name: str | None,
                attempts: list[DeliveryAttempt] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id, "subscription_id": run.subscription_id, "authority_id": run.authority_id,
        "authority_name": authority_name,
        "org_id": run.subject_org_id, "org_name": org_name, "format": run.format,
        "options": run.options, "period_start": run.period_start, "period_end": run.period_end,
        "timezone": run.timezone, "purpose": run.purpose, "sequence": run.sequence,
        "amends": run.amends, "record_count": run.record_count, "counts": run.counts,
        "manifest_sha256": run.manifest_sha256, "generator_version": run.generator_version,
        "trigger": run.trigger, "created_by": run.created_by, "job_id": run.job_id,
        "created_at": run.created_at,
        "files": [{"name": a.name, "media_type": a.media_type, "size": a.size, "sha256": a.sha256,
                   "rows": a.rows, "href": f"/api/v1/reports/runs/{run.id}/files/{a.name}"}
                  for a in files],
        "delivery": None if d is None else {
            "id": d.id, "method": d.method, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at, "delivered_at": d.delivered_at,
            "acknowledged_at": d.acknowledged_at, "ack_reference": d.ack_reference,
            "last_error": d.last_error},
    }
    if attempts is not None:
        out["attempts"] = [{"attempt": a.attempt, "started_at": a.started_at,
                            "duration_ms": a.duration_ms, "ok": a.ok,
                            "status_code": a.status_code, "error": a.error} for a in attempts]
    return out


def _run_detail(run: Run) -> dict[str, Any]:
    sess = db.session()
    d = sess.scalar(select(Delivery).where(Delivery.run_id == run.id))
    files = list(sess.scalars(select(Artifact).where(Artifact.run_id == run.id)
                              .order_by(Artifact.name)))
    attempts = [] if d is None else list(sess.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id)
        .order_by(DeliveryAttempt.attempt)))
    org = sess.get(Organization, run.subject_org_id)
    authority = sess.get(Organization, run.authority_id)
    return _render_run(run, d, files, org.name if org else None,
                       authority.name if authority else None, attempts)


# --- formats -------------------------------------------------------------------------------

@blp.route("/reports/formats")
class Formats(MethodView):
    @blp.response(200)
    def get(self) -> Any:
        """The report formats the registry offers, with their options."""
        out = []
        for name in registry.names():
            cls = registry.get(name)
            out.append({"name": name, "title_es": cls.title_es, "title_en": cls.title_en,
                        "amendment_scope": cls.amendment_scope.value,
                        "options": {k: list(v) if v else None for k, v in cls.option_choices.items()},
                        "option_defaults": dict(cls.option_defaults)})
        return conditional_json(out)


# --- authorities ---------------------------------------------------------------------------

@blp.route("/authorities")
class Authorities(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(201, AuthoritySchema)
    @auth.platform_admin_required
    @blp.arguments(AuthorityInSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Register an authority (platform admin) with its jurisdiction: cooperatives, a region, or both."""
        sess = db.session()
        a = services.create_authority(sess, data, auth.current().member_id)
        sess.commit()
        return services.render_authority(sess, a)

    @blp.doc(security=auth.SECURITY)
    @blp.response(200, AuthoritySchema(many=True))
    @auth.login_required
    def get(self) -> Any:
        """Authorities: all of them for a platform admin, your own for an authority's staff."""
        p = auth.current()
        sess = db.session()
        q = select(Authority).order_by(Authority.created_at)
        if not p.is_platform_admin:
            q = q.where(Authority.id.in_(_authority_ids(p)))
        return [services.render_authority(sess, a) for a in sess.scalars(q)]


@blp.route("/authorities/<uuid:authority_id>")
class AuthorityItem(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, AuthoritySchema)
    @auth.login_required
    def get(self, authority_id: uuid.UUID) -> Any:
        """One authority and its jurisdiction."""
        return services.render_authority(db.session(), _authority(authority_id, staff_ok=True))


@blp.route("/authorities/<uuid:authority_id>/staff")
class AuthorityStaff(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(201)
    @auth.platform_admin_required
    @blp.arguments(StaffInSchema)
    def post(self, data: dict[str, Any], authority_id: uuid.UUID) -> Any:
        """Give a member the authority's role: they then see, download and acknowledge its runs."""
        _authority(authority_id, staff_ok=False)
        sess = db.session()
        if sess.get(Member, data["member_id"]) is None:
            raise ApiError(422, "validation_error", errors=[
                FieldError("member_id", "not_an_authority_member", {"id": str(data["member_id"])})])
        m = services.add_staff(sess, authority_id, data["member_id"], auth.current().member_id)
        sess.commit()
        return conditional_json({"org_id": m.org_id, "member_id": m.member_id, "role": m.role,
                                 "status": m.status}, status=201)


@blp.route("/authorities/<uuid:authority_id>/subscriptions")
class Subscriptions(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(201, SubscriptionSchema)
    @auth.platform_admin_required
    @blp.arguments(SubscriptionInSchema)
    def post(self, data: dict[str, Any], authority_id: uuid.UUID) -> Any:
        """Subscribe the authority to a report (platform admin): format, scope, schedule, delivery.

        For push delivery the answer carries ``push_secret`` once: the key of the
        ``Cardumen-Signature`` HMAC on every POST (see the README)."""
        a = _authority(authority_id, staff_ok=False)
        sess = db.session()
        sub, secret = services.create_subscription(
            sess, a, data, by=auth.current().member_id, now=utcnow(),
            allow_loopback_http=bool(current_app.config["ALLOW_LOOPBACK_HTTP"]))
        sess.commit()
        return conditional_json({**services.render_subscription(sub), "push_secret": secret},
                                status=201)

    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SubscriptionSchema(many=True))
    @auth.login_required
    def get(self, authority_id: uuid.UUID) -> Any:
        """The authority's subscriptions."""
        _authority(authority_id, staff_ok=True)
        subs = db.session().scalars(select(Subscription).where(
            Subscription.authority_id == authority_id).order_by(Subscription.created_at))
        return [services.render_subscription(s) for s in subs]


@blp.route("/reports/subscriptions/<uuid:sub_id>")
class SubscriptionItem(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SubscriptionSchema)
    @auth.login_required
    def get(self, sub_id: uuid.UUID) -> Any:
        """One subscription."""
        return services.render_subscription(_subscription(sub_id, staff_ok=True))

    @blp.doc(security=auth.SECURITY)
    @blp.response(200, SubscriptionSchema)
    @auth.platform_admin_required
    @blp.arguments(SubscriptionPatchSchema)
    def patch(self, data: dict[str, Any], sub_id: uuid.UUID) -> Any:
        """Pause or resume a subscription (platform admin)."""
        sub = _subscription(sub_id, staff_ok=False)
        sub.active = data["active"]
        if sub.active:
            sub.next_run_at = periods.next_fire(sub.schedule, sub.timezone, utcnow())
        db.session().commit()
        return services.render_subscription(sub)


def _check_period(sub: Subscription, start: date, field: str = "period_start") -> periods.Span:
    span = periods.span_of(sub.period, start)
    if span.start != start:
        raise ApiError(422, "validation_error", errors=[FieldError(
            field, "period_misaligned", {"expected": span.start.isoformat()})])
    if start < sub.starts_on:
        raise ApiError(422, "validation_error", errors=[FieldError(
            field, "before_subscription", {"starts_on": sub.starts_on.isoformat()})])
    today = utcnow().astimezone(periods.ZoneInfo(sub.timezone)).date()
    if span.end > today:
        raise ApiError(422, "validation_error", errors=[FieldError(field, "period_not_closed")])
    return span


@blp.route("/reports/subscriptions/<uuid:sub_id>/runs")
class RunNow(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(201)
    @auth.platform_admin_required
    @blp.arguments(RunNowSchema)
    def post(self, data: dict[str, Any], sub_id: uuid.UUID) -> Any:
        """Run a subscription now (platform admin): every period due, or the periods in
        ``[period_start, period_end)`` (one period when ``period_end`` is left out).

        Makes originals that are missing and amendments where records changed;
        answers the runs made (none when nothing was owed). Push deliveries go
        out from the job worker within a tick."""
        sub = _subscription(sub_id, staff_ok=False)
        if not sub.active:
            raise ApiError(409, "subscription_inactive")
        now = utcnow()
        me = auth.current().member_id
        maker = current_app.extensions["cardumen.sessionmaker"]
        if data["period_start"] is None:
            if data["period_end"] is not None:
                raise ApiError(422, "validation_error", errors=[
                    FieldError("period_start", "required")])
            try:
                result = scheduler.run_subscription(maker, store(), sub.id, now=now,
                                                    trigger=Trigger.manual, member_id=me,
                                                    advance_schedule=False,
                                                    limit=MAX_RUNS_PER_REQUEST)
            except scheduler.TooMuchWork as exc:
                raise ApiError(422, "too_much_work", count=exc.count, max=exc.limit) from exc
            made = result.runs
        else:
            made = []
            sess = db.session()
            spans = _requested_spans(sub, data["period_start"], data["period_end"])
            work = [(org, span) for span in spans for org in selection.orgs_owed(sess, sub, span)]
            if len(work) > MAX_RUNS_PER_REQUEST:
                raise ApiError(422, "too_much_work", count=len(work), max=MAX_RUNS_PER_REQUEST)
            for org, span in work:
                out = generate.generate(sess, store(), sub, org, span, trigger=Trigger.manual,
                                        now=now, member_id=me)
                sess.commit()
                if out is not None:
                    made.append(out.run.id)
        sess = db.session()
        runs = [_run_detail(r) for r in sess.scalars(select(Run).where(Run.id.in_(made))
                                                     .order_by(Run.period_start, Run.id))]
        return conditional_json({"runs": runs}, status=201)


def _requested_spans(sub: Subscription, start: date, end: date | None) -> list[periods.Span]:
    """Whole, closed periods from ``start`` up to ``end`` (exclusive)."""
    if end is not None and end < start:
        raise ApiError(422, "validation_error", errors=[FieldError("period_end", "period_inverted")])
    if end is not None and end == start:
        raise ApiError(422, "validation_error", errors=[FieldError("period_end", "period_empty")])
    spans = [_check_period(sub, start)]
    while end is not None and spans[-1].end < end:
        spans.append(_check_period(sub, spans[-1].end, "period_end"))
    if end is not None and spans[-1].end != end:
        raise ApiError(422, "validation_error", errors=[FieldError(
            "period_end", "period_misaligned", {"expected": spans[-1].end.isoformat()})])
    return spans


# --- runs ----------------------------------------------------------------------------------

def _run_list_query(query: dict[str, Any]) -> Any:
    authority = aliased(Organization)
    q = (select(Run, Delivery, Organization.name, authority.name)
         .join(Delivery, Delivery.run_id == Run.id)
         .join(Organization, Organization.id == Run.subject_org_id)
         .join(authority, authority.id == Run.authority_id)
         .where(_runs_visible()))
    for key, col in (("authority_id", Run.authority_id), ("org_id", Run.subject_org_id),
                     ("subscription_id", Run.subscription_id), ("purpose", Run.purpose),
                     ("status", Delivery.status)):
        if query[key] is not None:
            q = q.where(col == query[key])
    if query["period_from"]:
        q = q.where(Run.period_start >= query["period_from"])
    if query["period_to"]:
        q = q.where(Run.period_start < query["period_to"])
    if query["after"]:
        t, i = keyset_typed(query["after"], datetime.fromisoformat, uuid.UUID)
        q = q.where(tuple_(Run.created_at, Run.id) < tuple_(t, i))
    return q.order_by(Run.created_at.desc(), Run.id.desc())


@blp.route("/reports/runs")
class Runs(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200)
    @auth.login_required
    @blp.arguments(RunListQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Runs you may see, newest first: your authority's, or those about your cooperative."""
        sess = db.session()
        rows, more = split_page(sess.execute(_run_list_query(query).limit(query["limit"] + 1)).all(),
                                query["limit"])
        ids = [r[0].id for r in rows]
        files: dict[uuid.UUID, list[Artifact]] = {i: [] for i in ids}
        for a in sess.scalars(select(Artifact).where(Artifact.run_id.in_(ids))
                              .order_by(Artifact.name)):
            files[a.run_id].append(a)
        items = [_render_run(run, d, files[run.id], name, a_name) for run, d, name, a_name in rows]
        nxt = keyset_encode(rows[-1][0].created_at.isoformat(), rows[-1][0].id) \
            if more and rows else None
        return conditional_json({"items": items, "next_cursor": nxt})


@blp.route("/reports/runs/<uuid:run_id>")
class RunItemView(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200)
    @auth.login_required
    def get(self, run_id: uuid.UUID) -> Any:
        """One run: its files with their SHA-256, what it amends, its delivery and every attempt."""
        return conditional_json(_run_detail(_run(run_id)))


@blp.route("/reports/runs/<uuid:run_id>/items")
class RunItems(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200)
    @auth.login_required
    @blp.arguments(ReportedQuery, location="query")
    def get(self, query: dict[str, Any], run_id: uuid.UUID) -> Any:
        """The exact catch versions the run carries, and why (original, correction, ...)."""
        run = _run(run_id)
        q = select(RunItem).where(RunItem.run_id == run.id).order_by(RunItem.catch_id)
        if query["after"]:
            (after,) = keyset_typed(query["after"], uuid.UUID)
            q = q.where(RunItem.catch_id > after)
        rows, more = split_page(db.session().scalars(q.limit(query["limit"] + 1)).all(),
                                query["limit"])
        return conditional_json({
            "items": [{"org_id": i.org_id, "catch_id": i.catch_id, "version": i.catch_version,
                       "action": i.action, "refers_to_run_id": i.refers_to_run_id} for i in rows],
            "next_cursor": keyset_encode(rows[-1].catch_id) if more and rows else None})


@blp.route("/reports/runs/<uuid:run_id>/files/<string:name>")
class RunFile(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200, description="The file, byte for byte as generated (see its SHA-256).")
    @auth.login_required
    def get(self, run_id: uuid.UUID, name: str) -> Any:
        """Download one of the run's files. The authority's first download marks a pull delivered."""
        run = _run(run_id)
        sess = db.session()
        art = sess.get(Artifact, (run.id, name))
        if art is None:
            raise ApiError(404, "not_found")
        if run.authority_id in _authority_ids(auth.current()):
            d = sess.scalar(select(Delivery).where(Delivery.run_id == run.id).with_for_update())
            if d is not None:
                delivery.mark_downloaded(sess, d, utcnow())
                sess.commit()
        st = store()
        path = st.path(art.storage_key)
        resp: Response
        if path is not None:
            resp = send_file(path, mimetype=art.media_type, as_attachment=True, download_name=name,
                             etag=art.sha256, conditional=True, max_age=0)
        else:  # pragma: no cover - only local storage exists today
            resp = send_file(st.open(art.storage_key), mimetype=art.media_type,
                             as_attachment=True, download_name=name, etag=art.sha256)
        resp.headers["Digest"] = f"sha-256={art.sha256}"
        resp.headers["X-Content-SHA256"] = art.sha256
        return resp


@blp.route("/reports/runs/<uuid:run_id>/ack")
class RunAck(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200)
    @auth.login_required
    @blp.arguments(AckSchema)
    def post(self, data: dict[str, Any], run_id: uuid.UUID) -> Any:
        """Acknowledge a run (the receiving authority's staff). Repeating it changes nothing."""
        run = _run(run_id)
        p = auth.current()
        if run.authority_id not in _authority_ids(p):
            raise ApiError(403, "not_acknowledgeable")
        sess = db.session()
        d = sess.scalar(select(Delivery).where(Delivery.run_id == run.id).with_for_update())
        assert d is not None
        first = delivery.acknowledge(sess, d, p.member_id, data["reference"], utcnow())
        sess.commit()
        return conditional_json({"run_id": run.id, "status": d.status,
                                 "acknowledged_at": d.acknowledged_at,
                                 "ack_reference": d.ack_reference, "first": first})


@blp.route("/reports/deliveries/<uuid:delivery_id>/retry")
class DeliveryRetry(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200)
    @auth.platform_admin_required
    def post(self, delivery_id: uuid.UUID) -> Any:
        """Give a failed push another round of attempts (platform admin)."""
        sess = db.session()
        d = sess.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())
        if d is None:
            raise ApiError(404, "not_found")
        if d.status != DeliveryStatus.failed:
            raise ApiError(409, "delivery_not_failed")
        delivery.retry_failed(sess, d, utcnow())
        sess.commit()
        return conditional_json({"id": d.id, "status": d.status, "next_attempt_at": d.next_attempt_at})


@blp.route("/authorities/<uuid:authority_id>/reconciliation")
class Reconciliation(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200)
    @auth.login_required
    @blp.arguments(ReconcileQuery, location="query")
    def get(self, query: dict[str, Any], authority_id: uuid.UUID) -> Any:
        """For a subscription and a range of periods: records in scope, reported net of
        amendments, and what is pending, per cooperative and period."""
        _authority(authority_id, staff_ok=True)
        sub = _subscription(query["subscription_id"], staff_ok=True)
        if sub.authority_id != authority_id:
            raise ApiError(404, "not_found")
        start, end = query["period_from"], query["period_to"]
        if end < start:
            raise ApiError(422, "validation_error", errors=[
                FieldError("period_to", "period_inverted", location="query")])
        if end == start:
            raise ApiError(422, "validation_error", errors=[
                FieldError("period_to", "period_empty", location="query")])
        if end - start > timedelta(days=MAX_RECONCILE_DAYS):
            raise ApiError(422, "validation_error", errors=[FieldError(
                "period_to", "period_too_long", {"max": MAX_RECONCILE_DAYS}, location="query")])
        return conditional_json(reconcile.reconcile(
            db.session(), sub, start, end, org_id=query["org_id"],
            pending_limit=query["pending_limit"]))


@blp.route("/reports/reported-catches")
class ReportedCatches(MethodView):
    @blp.doc(security=auth.SECURITY)
    @blp.response(200)
    @auth.login_required
    @blp.arguments(ReportedQuery, location="query")
    def get(self, query: dict[str, Any]) -> Any:
        """Your catches that were reported: which version, in which run, to which authority."""
        me = auth.current().member_id
        sess = db.session()
        q = (select(RunItem, Run, Organization.name, Delivery.status)
             .join(Catch, (Catch.org_id == RunItem.org_id) & (Catch.id == RunItem.catch_id)
                   & (Catch.version == RunItem.catch_version))
             .join(Run, Run.id == RunItem.run_id)
             .join(Organization, Organization.id == Run.authority_id)
             .join(Delivery, Delivery.run_id == Run.id)
             .where(Catch.member_id == me)
             .order_by(Run.created_at.desc(), Run.id.desc(), RunItem.catch_id))
        if query["after"]:
            t, r, c = keyset_typed(query["after"], datetime.fromisoformat, uuid.UUID, uuid.UUID)
            q = q.where(tuple_(Run.created_at, Run.id, RunItem.catch_id) < tuple_(t, r, c))
        rows, more = split_page(sess.execute(q.limit(query["limit"] + 1)).all(), query["limit"])
        items = [{"catch_id": i.catch_id, "version": i.catch_version, "action": i.action,
                  "run_id": run.id, "authority_id": run.authority_id, "authority_name": name,
                  "format": run.format, "period_start": run.period_start,
                  "period_end": run.period_end, "purpose": run.purpose,
                  "reported_at": run.created_at, "delivery_status": status}
                 for i, run, name, status in rows]
        nxt = None
        if more and rows:
            last_i, last_run = rows[-1][0], rows[-1][1]
            nxt = keyset_encode(last_run.created_at.isoformat(), last_run.id, last_i.catch_id)
        return conditional_json({"items": items, "next_cursor": nxt})

