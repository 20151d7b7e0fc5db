# Why it works: `ctx.trigger` makes a child run whose `parent_id` is this run; collecting each
# child's `.id` in the files' order is the output.
# The common wrong approach: calling the import function directly (no child runs, no record of
# each file), or putting the run objects themselves in the output.

def import_folder_task(ctx, ctl):
    children = []
    for name in ctx.input["files"]:
        child = ctx.trigger("import-file", {"file": name})   # parent_id is set for us
        children.append(child.id)
    return ctl.response.done({"children": children})
