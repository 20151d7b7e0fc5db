"""The shop's order tasks for notebook 07, and the tiny "shop database" they write to.

Both the notebook (which triggers runs, as a web app would) and the worker
processes (``apps/fragile_worker.py``, which execute them) import this module:
task definitions are code, so every process that runs them must import them.

Sending an email here means writing a row into the ``outbox`` table of the
shop's SQLite file: a mail program would send every row it finds there. So
counting the rows of one order counts the emails its customer gets.

* ``confirm-order-naive`` writes its email every time it executes.
* ``confirm-order`` first records "confirmation sent" for the order in the
  ``confirmations`` table, keyed by the order id, and writes the email only if
  that record is new; both in one transaction. Executing it twice is harmless:
  it is **idempotent**.

Both then wait ``ctx.services["pause"]`` seconds, standing in for slow work
that comes after the email (printing the invoice, say): the notebook kills the
worker process during that wait, the worst moment for a crash, on purpose.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from teachtasks import task

SUBJECT = "Your order is confirmed"


def create_shop_db(path: str) -> None:
    """The two tables the tasks use (a new, empty database)."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE outbox (n INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "order_id TEXT NOT NULL, subject TEXT NOT NULL)")
        db.execute("CREATE TABLE confirmations (order_id TEXT PRIMARY KEY)")
        db.commit()


def emails_for(path: str, order_id: str) -> int:
    """How many emails the outbox holds for one order."""
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT COUNT(*) FROM outbox WHERE order_id = ?",
                          (order_id,)).fetchone()[0]


def emails_in_outbox(path: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]


@task("confirm-order-naive", title="Confirm an order (sends every time)")
def confirm_order_naive(ctx, ctl):
    """Email the customer, then do the slow rest of the work."""
    order_id = ctx.input["order_id"]
    with closing(sqlite3.connect(ctx.services["shop_db"])) as db:
        db.execute("INSERT INTO outbox (order_id, subject) VALUES (?, ?)", (order_id, SUBJECT))
        db.commit()
    ctx.log.info(f"confirmation email for {order_id} sent")
    ctx.sleep(ctx.services["pause"])  # the slow rest of the work
    return ctl.response.done({"order_id": order_id})


@task("confirm-order", title="Confirm an order (at most one email per order)")
def confirm_order(ctx, ctl):
    """Email the customer unless this order's confirmation was already sent."""
    order_id = ctx.input["order_id"]
    with closing(sqlite3.connect(ctx.services["shop_db"])) as db:
        with db:  # one transaction: both rows are written, or neither
            new = db.execute("INSERT OR IGNORE INTO confirmations (order_id) VALUES (?)",
                             (order_id,)).rowcount == 1
            if new:
                db.execute("INSERT INTO outbox (order_id, subject) VALUES (?, ?)",
                           (order_id, SUBJECT))
    ctx.log.info(f"confirmation email for {order_id} " + ("sent" if new else "was already sent"))
    ctx.sleep(ctx.services["pause"])
    return ctl.response.done({"order_id": order_id, "sent_now": new})


DEFINITIONS = [confirm_order_naive, confirm_order]
