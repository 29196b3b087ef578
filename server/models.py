"""Imports every domain's models so the metadata (Alembic, tests) sees all tables."""

from server.analytics import models as analytics
from server.catalog import models as catalog
from server.catches import models as catches
from server.consent import models as consent
from server.db import Base
from server.fleet import models as fleet
from server.forum import models as forum
from server.governance import models as governance
from server.market import models as market
from server.members import models as members
from server.notifications import models as notifications
from server.ogc import models as ogc
from server.reports import models as reports

__all__ = ["Base", "analytics", "catalog", "catches", "consent", "fleet", "forum", "governance",
           "market", "members", "notifications", "ogc", "reports"]
