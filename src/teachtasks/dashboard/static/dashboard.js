// teachtasks dashboard: live refresh by short polling of the JSON endpoints.
// Every value from a run is written with textContent, never as HTML, and the
// page keeps working (without moving) if this script does not run.
"use strict";
(function () {
  const EVERY = 2000;
  const STATUSES = ["pending", "running", "success", "failed", "aborted"];
  const SYMBOLS = {pending: "\u25cb", running: "\u25b6", success: "\u2605", failed: "\u2716", aborted: "\u25a0"};
  const live = document.getElementById("live");

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children || []) node.append(child);
    return node;
  }
  function badge(status) {
    const s = STATUSES.includes(status) ? status : "pending";
    const span = el("span", {className: "badge s-" + s, textContent: SYMBOLS[s] + " " + s});
    span.dataset.status = s;
    return span;
  }
  function runLink(id) {
    return el("a", {className: "id", href: "/runs/" + encodeURIComponent(id), textContent: id});
  }
  function cell(label, children) {
    const td = el("td", {}, children);
    td.dataset.label = label;
    return td;
  }
  function row(r, fresh) {
    const def = el("a", {href: "/?definition=" + encodeURIComponent(r.definition_id), textContent: r.definition_id});
    const status = [badge(r.status)];
    if (r.abort_requested && r.status === "running") status.push(" ", el("span", {className: "note", textContent: "abort requested"}));
    const tr = el("tr", {className: fresh ? "fresh" : ""}, [
      cell("Run", [runLink(r.id)]), cell("Definition", [def]), cell("Status", status),
      cell("Created", [r.created]), cell("Updated", [r.updated]), cell("Iter.", [String(r.iterations)]),
      cell("Parent", r.parent_id ? [runLink(r.parent_id)] : []),
    ]);
    tr.dataset.id = r.id;
    return tr;
  }
  function fmt(n) { return Number(n).toLocaleString("en-US"); }
  function ok(good) {
    if (!live) return;
    live.hidden = false;
    live.classList.toggle("stale", !good);
    live.textContent = good ? "live" : "not reachable";
  }
  async function poll(url, apply) {
    try {
      const response = await fetch(url, {credentials: "same-origin", cache: "no-store"});
      if (!response.ok) throw new Error(response.status);
      apply(await response.json());
      ok(true);
    } catch (e) { ok(false); }
  }

  const table = document.getElementById("runs");
  if (table) {
    const tbody = table.tBodies[0];
    const update = (data) => {
      let all = 0;
      for (const s of STATUSES) {
        all += data.counts[s];
        const node = document.querySelector('[data-count="' + s + '"]');
        if (node) node.textContent = fmt(data.counts[s]);
      }
      const allNode = document.querySelector('[data-count="all"]');
      if (allNode) allNode.textContent = fmt(all);
      const before = new Set(Array.from(tbody.rows, (tr) => tr.dataset.id));
      const rows = data.runs.map((r) => row(r, before.size > 0 && !before.has(r.id)));
      if (rows.length === 0) rows.push(el("tr", {className: "empty"}, [el("td", {colSpan: 7, textContent: "No runs match."})]));
      tbody.replaceChildren(...rows);
    };
    setInterval(() => poll(table.dataset.api, update), EVERY);
  }

  const run = document.getElementById("run");
  if (run) {
    const first = {status: run.dataset.status, logs: Number(run.dataset.logs)};
    const update = (data) => {
      document.getElementById("status").replaceChildren(badge(data.status),
        ...(data.abort_requested && !data.final ? [" ", el("span", {className: "note", textContent: "abort requested"})] : []));
      document.getElementById("updated").textContent = data.updated;
      document.getElementById("iterations").textContent = data.iterations + " (attempt " + data.attempt + ")";
      document.getElementById("worker").textContent = data.worker || "none";
      run.dataset.status = data.status;
      if (data.status !== first.status || data.logs !== first.logs) document.getElementById("changed").hidden = false;
    };
    setInterval(() => poll(run.dataset.api, update), EVERY);
  }
})();
