# Why it works: an abort is a request: the run checks `ctl.is_aborted()` before each item and
# answers `aborted()` itself, so it stops between items, cleanly, within a second.
# The common wrong approach: raising an exception to stop (the run ends failed, not aborted), or
# checking only at the start, so a stop during the work is ignored.

def stop_when_asked(ctx, ctl):
    items = ctx.input["items"]
    for _ in range(items):
        if ctl.is_aborted():                   # asked to stop? stop now, cleanly
            return ctl.response.aborted()
        ctx.sleep(1)                           # one item of work
    return ctl.response.done({"processed": items})
