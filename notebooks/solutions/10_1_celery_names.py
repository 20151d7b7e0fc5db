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
