"""A management dashboard: the runs on a web page, as Flower shows Celery's.

Notebook 08 manages runs from code; the people who operate background tasks
watch and steer them on a page. ``create_app(manager)`` is that page over any
``TaskManager`` (memory or SQLite): the runs newest first with their counts,
filters and steady pages, one run with everything the store knows about it,
the definitions, and three actions (abort, re-trigger, delete), each confirmed,
CSRF-protected and answered in plain words.

``serve(manager)`` runs it in a background thread on 127.0.0.1 (a notebook's
kernel takes it down when it stops); ``python -m teachtasks.dashboard --sqlite
runs.db`` serves a SQLite file from a shell and prints the address with its
token, as JupyterLab does.

* ``security``: the token (query once, then a cookie) and the CSRF token
* ``pages``: what each page shows, read through the public API only
* ``app``: the FastAPI routes and the Jinja2 templates
* ``server``: ``serve`` and ``DashboardServer`` (uvicorn in a daemon thread)
"""

from .app import create_app
from .server import DashboardServer, serve

__all__ = ["DashboardServer", "create_app", "serve"]
