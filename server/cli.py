"""The ``cardumen`` command: serve, migrate, seed, demo data and admin tasks."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from server import create_app


def _database_url() -> str:
    """DATABASE_URL, or the embedded cluster (started if needed)."""
    from server import config, localdb

    url = os.environ.get("DATABASE_URL")
    if url:
        return config.normalize_db_url(url)
    cluster = localdb.ensure_cluster()
    localdb.ensure_database(cluster.conninfo(), "cardumen")
    return cluster.url("cardumen")


def _app(*_: Any, **__: Any) -> Flask:
    return create_app({"DATABASE_URL": _database_url()})


@click.group(cls=FlaskGroup, create_app=_app, add_default_commands=False,
             help="Cardumen: cooperative fisheries data backend.")
def main() -> None:
    pass


@main.command()
def migrate() -> None:
    """Apply database migrations (alembic upgrade head)."""
    from server import migrate as mig

    mig.upgrade(current_app.config["DATABASE_URL"])
    click.echo("database at head")


@main.command()
def seed() -> None:
    """Load the shipped catalog: species, gear, ports, FAO areas, land layer."""
    from server import db
    from server.catalog import services

    with db.session() as sess:
        counts = services.load_seed(sess)
        sess.commit()
    click.echo("catalog: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@main.command()
@click.option("--bind", default=None, help="host:port (default CARDUMEN_BIND or 127.0.0.1:8000)")
@click.option("--workers", type=int, default=None)
@click.option("--threads", type=int, default=None)
def serve(bind: str | None, workers: int | None, threads: int | None) -> None:
    """Serve the API under gunicorn (threaded workers), configured from the environment."""
    cfg = current_app.config
    env = dict(os.environ, DATABASE_URL=cfg["DATABASE_URL"])
    if cfg.get("SECRET_KEY") and "CARDUMEN_SECRET_KEY" not in env:
        # Every worker must sign and verify tokens with the same key.
        env["CARDUMEN_SECRET_KEY"] = cfg["SECRET_KEY"]
    args = [
        sys.executable, "-m", "gunicorn", "server.wsgi:app",
        "--bind", bind or cfg["BIND"],
        "--workers", str(workers or cfg["WORKERS"]),
        "--threads", str(threads or cfg["THREADS"]),
        "--worker-class", "gthread",
        # A listening socket per worker: the kernel spreads connections over the
        # workers. With one shared socket, whichever gthread worker woke first
        # took every pending keep-alive connection and ran all their pushes
        # under one GIL while the other worker idled.
        "--reuse-port",
        "--access-logfile", "-",
        "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    ]
    click.echo(f"serving on http://{bind or cfg['BIND']}  (docs: /api/docs)")
    os.execve(sys.executable, args, env)  # gunicorn gets the signals, not a wrapper


@main.command()
@click.option("--port", type=int, default=None, help="default CARDUMEN_PORT or 8000")
@click.option("--demo-size", default="small", show_default=True,
              help="demo data size: small, medium, large or a number of catches")
@click.option("--no-demo", is_flag=True, help="do not load demo data")
def up(port: int | None, demo_size: str, no_demo: bool) -> None:
    """Migrate, seed the catalog, load demo data once, start the job worker, serve on 127.0.0.1."""
    from server import db
    from server import migrate as mig
    from server.catalog import services as catalog

    mig.upgrade(current_app.config["DATABASE_URL"])
    with db.session() as sess:
        catalog.load_seed(sess)
        sess.commit()
    if not no_demo:
        from server.demo import loader
        from server.demo.cli import load_forum, load_market, load_office

        with db.session() as sess:
            if loader.already_loaded(sess):
                click.echo("demo data already loaded")
            else:
                loader.load(sess, size=demo_size, progress=True)
            load_office(sess)
            load_market(sess)
            load_forum(sess)
            sess.commit()
    # The job worker runs beside the API: scheduled reports need no button.
    import subprocess

    env = dict(os.environ, DATABASE_URL=current_app.config["DATABASE_URL"])
    subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], env=env,
                     preexec_fn=_die_with_parent)
    click.echo("job worker started (reports, deliveries)")
    p = port or current_app.config["PORT"]
    current_app.config["BIND"] = f"127.0.0.1:{p}"
    click.get_current_context().invoke(serve, bind=f"127.0.0.1:{p}")


def _die_with_parent() -> None:
    """Linux: SIGTERM this child when its parent (gunicorn, after the exec) exits."""
    import contextlib
    import ctypes
    import signal

    # Not glibc Linux (OSError): the worker then outlives an orphaned stop.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _register_groups() -> None:
    from server.demo.cli import demo
    from server.ogc.cli import ogc
    from server.reports.cli import reports, worker

    main.add_command(demo)
    main.add_command(ogc)
    main.add_command(reports)
    main.add_command(worker)


_register_groups()


@main.group()
def admin() -> None:
    """Administration tasks."""


@admin.command("create-platform-admin")
@click.option("--phone", required=True)
@click.option("--name", required=True)
@click.password_option()
def create_platform_admin(phone: str, name: str, password: str) -> None:
    """Create (or promote) a platform administrator."""
    from sqlalchemy import select

    from server import db
    from server.members import services
    from server.members.models import Member
    from server.members.schemas import normalize_phone

    phone = normalize_phone(phone)
    with db.session() as sess:
        member = sess.scalar(select(Member).where(Member.phone == phone))
        if member is None:
            member = services.register(sess, phone=phone, password=password, name=name,
                                       locale="es")
        member.is_platform_admin = True
        sess.commit()
    click.echo(f"platform admin {phone}")


@main.group()
def db() -> None:
    """The embedded PostgreSQL cluster."""


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    from server import localdb

    click.echo("stopped" if localdb.stop_cluster() else "not running")


@db.command("url")
def db_url() -> None:
    """Print the database URL in use."""
    click.echo(current_app.config["DATABASE_URL"])


if __name__ == "__main__":
    main()
