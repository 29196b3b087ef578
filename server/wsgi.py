"""WSGI entry point for gunicorn: ``gunicorn server.wsgi:app``."""

import gc

from server import create_app

app = create_app()
# Everything built so far lives as long as the process; moving it out of the
# collector's generations keeps each request's collections short.
gc.freeze()
