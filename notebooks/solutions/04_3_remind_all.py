def remind_all(ctx, ctl):
    mailer = ctx.services["mailer"]      # handed in by the manager, not a global
    for person in ctx.input["to"]:
        mailer.send(person, ctx.input["text"])
    return ctl.response.done({"sent": len(ctx.input["to"])})
