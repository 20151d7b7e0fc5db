# Why it works: the record of sending is keyed by the order, not the run, and is written in the
# same transaction as the email: a second execution finds the record and sends nothing.
# The common wrong approach: checking and sending in two steps (two executions both see "not
# sent yet"), or keying by run id, which is new for every run.

import sqlite3
from contextlib import closing


def send_receipt(ctx, ctl):
    order_id = ctx.input["order_id"]
    with closing(sqlite3.connect(ctx.services["shop_db"])) as db:
        with db:  # one transaction: the record and the email together, or neither
            new = db.execute("INSERT OR IGNORE INTO receipts (order_id) VALUES (?)",
                             (order_id,)).rowcount == 1
            if new:  # the first time for this order: send
                db.execute("INSERT INTO outbox (order_id, subject) VALUES (?, ?)",
                           (order_id, "Your receipt"))
    return ctl.response.done({"order_id": order_id, "sent_now": new})
