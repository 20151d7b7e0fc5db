# Why it works: one rule sorts every job: if the response (the next page) needs the result, it
# stays in the request; if nobody waits for it and it is slow or can fail, it goes to the
# background.
# The common wrong approach: moving everything slow out, including checks the user must see fail
# now (the password, the coupon, saving the user the next page shows).

def background_jobs():
    """The jobs whose result the response does not need, and which are slow
    or can fail: they go to the background. The rest stay in the request."""
    return {
        "send-welcome-email",  # slow, can fail, nobody waits for it
        "resize-avatar",  # seconds of image work
        "monthly-report",  # minutes of work; fetch it later
        "notify-followers",  # thousands of sends
    }
