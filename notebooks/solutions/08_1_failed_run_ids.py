# Why it works: the store filters (`status="failed"`) and hands out pages of `page_size`; a page
# shorter than that is the last, so no extra call is made.
# The common wrong approach: one `list_runs()` call (only the first 100 runs), filtering in
# Python, or stopping on an empty page (one call too many).

def failed_run_ids(tasks, page_size):
    ids, offset = [], 0
    while True:
        page = tasks.list_runs(status="failed", limit=page_size, offset=offset)
        ids += [run.id for run in page]
        if len(page) < page_size:  # a short page (or an empty one) is the last
            return ids
        offset += page_size
