"""Background job of the marketplace: expire orders and listings past their time, every
minute. Correctness does not wait for it (a late order is refused when touched, a
listing past its end takes no order); it returns reserved stock and catches' rest."""

from __future__ import annotations

import procrastinate

from server import jobs
from server.market import listings, orders

CRON = "* * * * *"

bp = procrastinate.Blueprint()


@bp.task(name="expire", queue="market", queueing_lock="market-expire", pass_context=False)
def expire(timestamp: int = 0) -> dict[str, int]:
    rt = jobs.runtime()
    with rt.maker() as sess:
        n_orders = orders.expire_due(sess, rt.market_deadlines)
        n_listings = listings.expire_due(sess)
        sess.commit()
    return {"orders": n_orders, "listings": n_listings}
