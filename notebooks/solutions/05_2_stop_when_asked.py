def stop_when_asked(ctx, ctl):
    items = ctx.input["items"]
    for _ in range(items):
        if ctl.is_aborted():                   # asked to stop? stop now, cleanly
            return ctl.response.aborted()
        ctx.sleep(1)                           # one item of work
    return ctl.response.done({"processed": items})
