# Why it works: everything a run does goes through what it is handed: `ctx.sleep` (the simulated
# clock), `ctx.log`, `ctl.progress(done, total)` after each item, counting from 1.
# The common wrong approach: `time.sleep` (real seconds, and the clock never moves), or progress
# reported before the item is done, from 0 to n-1.

def log_and_progress(ctx, ctl):
    items = ctx.input["items"]
    for done, item in enumerate(items, start=1):
        ctx.sleep(1)                        # one simulated second per item
        ctx.log.info(f"processed {item}")   # one line per item
        ctl.progress(done, len(items))      # and one progress report
    return ctl.response.done({"count": len(items)})
