# Why it works: before each email the run asks whether its time budget is nearly up; if so it
# saves its place in `ctx.state` and answers `continue_`, and the next iteration starts where
# this one stopped.
# The common wrong approach: saving the place but starting from 0 again (every iteration resends
# the first addresses), checking the budget only once per iteration, or a loop that never
# returns `done`.

def checkpointed_batch(ctx, ctl):
    emails = ctx.input["emails"]
    start = ctx.state.get("next", 0)           # where the last iteration stopped
    for i in range(start, len(emails)):
        if ctl.is_close_to_timeout():
            ctx.state.set("next", i)           # checkpoint...
            return ctl.response.continue_()    # ...and go on in the next iteration
        ctx.services["mailer"].send(emails[i])
    return ctl.response.done({"sent": len(emails)})
