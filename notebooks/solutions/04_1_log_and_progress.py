def log_and_progress(ctx, ctl):
    items = ctx.input["items"]
    for done, item in enumerate(items, start=1):
        ctx.sleep(1)                        # one simulated second per item
        ctx.log.info(f"processed {item}")   # one line per item
        ctl.progress(done, len(items))      # and one progress report
    return ctl.response.done({"count": len(items)})
