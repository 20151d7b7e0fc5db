# Why it works: each idea of the course has one Celery name; the mapping table of the notebook
# lists them.
# The common wrong approach: a description instead of the name ("send it" for `apply_async`), or
# `self.id` for the run's id inside a task (it is `self.request.id`).

def celery_names():
    return {
        "trigger a run": "apply_async",
        "read a run's status": "AsyncResult.state",
        "report progress": "update_state",
        "retry after an exception": "retry",
        "stop a run that has not started": "revoke",
        "the run's id, inside the task": "self.request.id",
        "the runner's pool of workers": "worker",
    }
