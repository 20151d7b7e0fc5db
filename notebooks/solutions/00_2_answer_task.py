def answer_task(ctx, ctl):
    return ctl.response.done({"answer": 42})
