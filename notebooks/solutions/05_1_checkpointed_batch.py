def checkpointed_batch(ctx, ctl):
    emails = ctx.input["emails"]
    start = ctx.state.get("next", 0)           # where the last iteration stopped
    for i in range(start, len(emails)):
        if ctl.is_close_to_timeout():
            ctx.state.set("next", i)           # checkpoint...
            return ctl.response.continue_()    # ...and go on in the next iteration
        ctx.services["mailer"].send(emails[i])
    return ctl.response.done({"sent": len(emails)})
