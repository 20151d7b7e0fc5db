# Why it works: late acks keep the message until the task ends, reject-on-worker-lost gives it
# back when the process dies, and a visibility timeout longer than any task stops Redis from
# handing it out twice.
# The common wrong approach: `task_acks_late` alone (a killed process still acknowledges), or a
# visibility timeout shorter than the longest task: it then runs twice.

def safe_settings(longest_task_seconds):
    return {
        # acknowledge a message when the task ends, not when it starts...
        "task_acks_late": True,
        # ...and give it back to the queue if the process running it dies
        "task_reject_on_worker_lost": True,
        # Redis hands an unacknowledged message to another worker after this
        # long: it must be longer than any task (and any countdown)
        "broker_transport_options": {"visibility_timeout": 2 * longest_task_seconds + 60},
        # JSON only
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
    }
