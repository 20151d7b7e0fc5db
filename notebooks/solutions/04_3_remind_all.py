# Why it works: the mailer comes from `ctx.services`, handed in by the manager, so a test (or
# the check) can hand in a fake one and see every send.
# The common wrong approach: importing or creating a mailer inside the task: it works on your
# machine and cannot be replaced in a test.

def remind_all(ctx, ctl):
    mailer = ctx.services["mailer"]      # handed in by the manager, not a global
    for person in ctx.input["to"]:
        mailer.send(person, ctx.input["text"])
    return ctl.response.done({"sent": len(ctx.input["to"])})
