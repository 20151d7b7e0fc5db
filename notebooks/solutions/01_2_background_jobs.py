def background_jobs():
    """The jobs whose result the response does not need, and which are slow
    or can fail: they go to the background. The rest stay in the request."""
    return {
        "send-welcome-email",  # slow, can fail, nobody waits for it
        "resize-avatar",  # seconds of image work
        "monthly-report",  # minutes of work; fetch it later
        "notify-followers",  # thousands of sends
    }
