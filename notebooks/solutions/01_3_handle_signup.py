# Why it works: the endpoint only writes down the wish (`trigger`) and answers at once; the
# run's id lets the client ask later how the email is doing.
# The common wrong approach: sending the email in the endpoint (slow again), or returning the
# run object itself instead of `run.id`.

def handle_signup(email, tasks):
    """Hand the welcome email to a task and answer at once with the run id,
    so the client can ask GET /runs/{run_id} later."""
    run = tasks.trigger("send-welcome-email", {"email": email})
    return {"ok": True, "run_id": run.id}
