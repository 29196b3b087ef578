"""Synthetic demonstration data: cooperatives, fishers, vessels, permits, trips and catches.

Everything here is INVENTED. The cooperatives, people, phone numbers, vessels,
permits and catches are made up by a seeded random generator so that the
dashboards, maps and reports have something plausible to show along Mexico's
Pacific (including the Gulf of California) and Gulf of Mexico/Caribbean coasts.
They describe no real cooperative, person or fishery.

Demo data is marked: every demo organization's name starts with ``[DEMO] ``,
every demo trip carries the note "Datos sintéticos de demostración", and every
demo member's password is ``demo1234`` (see :mod:`server.demo.loader`).

- :mod:`server.demo.reference`: the hand-written lists (names, species, fisheries).
- :mod:`server.demo.generator`: the pure, deterministic generator (no database).
- :mod:`server.demo.loader`: writes it with COPY, in chunks, at millions of catches.
- :mod:`server.demo.cli`: ``cardumen demo load``.
"""
