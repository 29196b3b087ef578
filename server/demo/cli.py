"""``cardumen demo load``: fill the database with SYNTHETIC demo data.

Registered by server/cli.py (``main.add_command(demo)``).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy.orm import Session


@click.group()
def demo() -> None:
    """Synthetic demonstration data (organizations named "[DEMO] ...")."""


def load_office(sess: Session) -> dict[str, int]:
    """The demo fisheries office and its report subscriptions (see server.demo.authority)."""
    from server.demo import authority, loader
    from server.members import tokens

    return authority.load(sess, tokens.hash_password(loader.DEMO_PASSWORD))


def load_market(sess: Session) -> dict[str, int]:
    """The demo marketplace: listings from kept catches, a restaurant's orders (see
    server.demo.market)."""
    from server.demo import loader, market
    from server.members import tokens

    return market.load(sess, tokens.hash_password(loader.DEMO_PASSWORD))


def load_forum(sess: Session) -> dict[str, int]:
    """The demo forum: threads, replies, votes, solutions, a flag (see server.demo.forum)."""
    from server.demo import forum

    return forum.load(sess)


@demo.command("load")
@click.option("--size", default="small", show_default=True,
              help="small (20k catches), medium (200k), large (2M) or a number of catches")
@click.option("--seed", default=42, show_default=True, type=int, help="random seed")
@click.option("--force", is_flag=True, help="load another set even if demo data is present")
@with_appcontext
def load(size: str, seed: int, force: bool) -> None:
    """Load synthetic cooperatives, fishers, vessels, permits, trips and catches.

    Every demo member's password is "demo1234"."""
    from server import db
    from server.demo import loader

    try:
        loader.parse_size(size)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--size") from None
    sess = db.session()
    if loader.already_loaded(sess) and not force:
        click.echo("demo data already loaded (use --force to load another set)")
        return
    counts = loader.load(sess, size, progress=True, seed=seed)
    counts |= load_office(sess)
    counts |= load_market(sess)
    counts |= load_forum(sess)
    sess.commit()
    click.echo("demo data: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
    click.echo(f"every demo member's password is {loader.DEMO_PASSWORD!r}")


@demo.command("accounts")
@click.option("--limit", default=3, show_default=True, type=int,
              help="accounts listed per cooperative")
@with_appcontext
def accounts(limit: int) -> None:
    """Demo logins to try the API with: administrators first, then fishers."""
    from sqlalchemy import func, select

    from server import db
    from server.demo import loader
    from server.members.models import Member, Membership, Organization

    rank = func.row_number().over(partition_by=Membership.org_id,
                                  order_by=(Membership.role != "admin", Member.phone))
    inner = (select(Organization.name.label("org"), Membership.role, Member.phone,
                    Member.name, rank.label("n"))
             .join(Membership, Membership.org_id == Organization.id)
             .join(Member, Member.id == Membership.member_id)
             .where(Organization.name.startswith("[DEMO] "))).subquery()
    # Cooperatives first (their admins, then fishers), then the demo restaurant's buyer,
    # then the demo fisheries office.
    rows = db.session().execute(select(inner).where(inner.c.n <= limit)
                                .order_by(inner.c.role == "authority", inner.c.role == "buyer",
                                          inner.c.org, inner.c.n)).all()
    if not rows:
        click.echo("no demo data: run `cardumen demo load`")
        return
    for row in rows:
        click.echo(f"{row.phone:<15} {row.role:<7} {row.name:<32} {row.org}")
    click.echo(f"password for all: {loader.DEMO_PASSWORD}")
