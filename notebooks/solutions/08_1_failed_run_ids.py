def failed_run_ids(tasks, page_size):
    ids, offset = [], 0
    while True:
        page = tasks.list_runs(status="failed", limit=page_size, offset=offset)
        ids += [run.id for run in page]
        if len(page) < page_size:  # a short page (or an empty one) is the last
            return ids
        offset += page_size
