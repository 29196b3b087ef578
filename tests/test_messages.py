"""Every domain's message codes are its own: a code defined twice would show one domain's
text (with the other's placeholders) for the other's error."""

from __future__ import annotations

import geo.messages
from server import i18n
from server.analytics import messages as analytics
from server.consent import messages as consent
from server.forum import messages as forum
from server.governance import messages as governance
from server.market import messages as market
from server.ogc import messages as ogc
from server.reports import messages as reports

DOMAINS = (geo.messages, reports, consent, analytics, market, ogc, forum, governance)


def test_no_message_code_is_defined_twice() -> None:
    import server  # noqa: F401  (the app factory registers the domains' messages)

    base = set(i18n.MESSAGES) - {c for m in DOMAINS
                                 for c in m.MESSAGES}
    seen: dict[str, str] = dict.fromkeys(base, "server.i18n")
    clashes = []
    for mod in DOMAINS:
        for code in mod.MESSAGES:
            if code in seen:
                clashes.append((code, seen[code], mod.__name__))
            seen[code] = mod.__name__
    assert clashes == []


def test_every_message_has_both_languages() -> None:
    for mod in DOMAINS:
        for code, texts in mod.MESSAGES.items():
            assert set(texts) >= {"es", "en"}, (mod.__name__, code)
