def handle_signup(email, tasks):
    """Hand the welcome email to a task and answer at once with the run id,
    so the client can ask GET /runs/{run_id} later."""
    run = tasks.trigger("send-welcome-email", {"email": email})
    return {"ok": True, "run_id": run.id}
