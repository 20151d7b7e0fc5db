def import_folder_task(ctx, ctl):
    children = []
    for name in ctx.input["files"]:
        child = ctx.trigger("import-file", {"file": name})   # parent_id is set for us
        children.append(child.id)
    return ctl.response.done({"children": children})
