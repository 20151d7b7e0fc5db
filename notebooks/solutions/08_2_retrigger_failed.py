# Why it works: collect every failed run of the definition first, page by page, then re-trigger:
# re-triggering makes new runs and leaves the failed ones as they were.
# The common wrong approach: re-triggering while paging (the list changes under you), or only
# the first page of 100.

def retrigger_failed(tasks, definition_id):
    # First collect every failed run, page by page; then re-trigger them.
    failed, offset, page_size = [], 0, 100
    while True:
        page = tasks.list_runs(status="failed", definition_id=definition_id,
                               limit=page_size, offset=offset)
        failed += page
        if len(page) < page_size:
            break
        offset += page_size
    return [tasks.retrigger(run.id).id for run in failed]
