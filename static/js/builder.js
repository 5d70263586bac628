// The falcon rule builder: edits a rule's JSON in place (groups and conditions shaped like
// react-querybuilder's), asks the server to validate as you type, previews, and saves with
// the form. The server is the only judge of validity; this script only arranges controls.
// With data-mode="condition" it edits one condition group only (an alert's narrowing
// condition), validated as the "when" of a label rule, and writes the group's JSON into the
// input named by data-target when the form is sent.
(() => {
  const root = document.getElementById("builder");
  if (!root) return;
  const conditionOnly = root.dataset.mode === "condition";
  const catalog = JSON.parse(root.dataset.catalog);
  let rule = conditionOnly
    ? { name: "condition", kind: "label", enabled: true, label: { name: "condition", color: "#6366f1" }, when: JSON.parse(root.dataset.condition || "null") }
    : JSON.parse(root.dataset.rule);
  const csrf = root.dataset.csrf;
  const fields = Object.fromEntries(catalog.fields.map((f) => [f.name, f]));
  const propertyTypes = Object.fromEntries((catalog.properties || []).map((p) => [p.key, p.type]));
  const typeNames = { string: "Text", number: "Number", boolean: "Yes / no", date: "Date" };
  const status = document.getElementById(root.dataset.status || "builder-status");
  const form = root.closest("form");

  // el builds an element: el("div", {class: "x", onclick: fn}, child, "text", …).
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else if (k === "value") node.value = v;
      else if (k === "checked") node.checked = !!v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  };
  const uid = (() => { let n = 0; return (p) => `${p}-${++n}`; })();
  const numberOr = (text, fallback) => (text === "" || Number.isNaN(Number(text)) ? fallback : Number(text));

  // ---- conditions ----------------------------------------------------------------------
  const operatorsFor = (cond) => catalog.operators[cond.field] || [];
  const operatorOf = (cond) => operatorsFor(cond).find((o) => o.name === cond.operator);

  function defaultValue(op) {
    if (!op || op.arity === 0) return undefined;
    if (op.arity === -1) return [];
    if (op.arity === 2) return [0, 100];
    if (op.name === "within_last_days" || op.name === "more_than_days_ago") return 7;
    if (op.on === "number") return 0;
    return "";
  }

  function setField(cond, name) {
    const f = fields[name];
    for (const k of ["property", "attribute", "score", "window_days", "where", "value"]) delete cond[k];
    cond.field = name;
    if (f.needs === "property") cond.property = (catalog.properties[0] || {}).key || "";
    if (f.needs === "attribute") cond.attribute = "";
    if (f.needs === "score") cond.score = catalog.scores[0] || "";
    if (f.type === "count") {
      cond.operator = ">=";
      cond.value = 3;
      cond.window_days = 30;
      return;
    }
    let ops = operatorsFor(cond);
    if (f.needs === "property") {
      const t = propertyTypes[cond.property] || "string";
      ops = ops.filter((o) => o.on === t).concat(ops);
    }
    cond.operator = ops[0].name;
    cond.value = defaultValue(ops[0]);
  }

  function fieldPicker(cond, path, eventOnly) {
    const current = fields[cond.field];
    const button = el("button", { type: "button", class: "qb-field", "data-path": path + ".field", "aria-haspopup": "listbox" },
      el("span", { class: "qb-field-group" }, current ? current.group : "Field"),
      el("span", { class: "qb-field-label" }, current ? current.label : "Choose a field"));
    button.addEventListener("click", () => openPicker(button, eventOnly, (name) => {
      setField(cond, name);
      render();
      changed();
    }));
    return button;
  }

  // openPicker shows the grouped field list with a search box under anchor.
  function openPicker(anchor, eventOnly, choose) {
    closePicker();
    const search = el("input", { type: "search", class: "qb-search", placeholder: "Search fields", "aria-label": "Search fields" });
    const list = el("div", { class: "qb-options", role: "listbox" });
    const pop = el("div", { class: "qb-picker", id: "qb-picker" }, search, list);
    const fill = () => {
      list.replaceChildren();
      const q = search.value.trim().toLowerCase();
      let group = "";
      for (const f of catalog.fields) {
        if (eventOnly && !f.event_level) continue;
        if (q && !(f.label + " " + f.group + " " + f.name).toLowerCase().includes(q)) continue;
        if (f.group !== group) {
          group = f.group;
          list.append(el("div", { class: "qb-option-group" }, group));
        }
        list.append(el("button", { type: "button", class: "qb-option", role: "option", "data-field": f.name,
          onclick: () => { closePicker(); choose(f.name); } }, f.label));
      }
      if (!list.children.length) list.append(el("div", { class: "qb-option-none muted small" }, "No field matches."));
    };
    search.addEventListener("input", fill);
    search.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { closePicker(); anchor.focus(); }
      if (e.key === "Enter") {
        e.preventDefault();
        const first = list.querySelector(".qb-option");
        if (first) first.click();
      }
    });
    fill();
    anchor.after(pop);
    search.focus();
    setTimeout(() => document.addEventListener("click", outside), 0);
  }
  function outside(e) {
    const pop = document.getElementById("qb-picker");
    if (pop && !pop.contains(e.target)) closePicker();
  }
  function closePicker() {
    const pop = document.getElementById("qb-picker");
    if (pop) pop.remove();
    document.removeEventListener("click", outside);
  }

  function operatorSelect(cond, path) {
    const f = fields[cond.field];
    const select = el("select", { class: "qb-operator", "data-path": path + ".operator", "aria-label": "Operator" });
    const ops = operatorsFor(cond);
    if (f.type === "dynamic") {
      for (const t of ["string", "number", "boolean", "date"]) {
        const group = el("optgroup", { label: typeNames[t] });
        for (const o of ops.filter((o) => o.on === t)) group.append(el("option", { value: o.name }, o.label));
        select.append(group);
      }
    } else {
      for (const o of ops) select.append(el("option", { value: o.name }, o.label));
    }
    select.value = cond.operator;
    select.addEventListener("change", () => {
      const before = operatorOf(cond);
      cond.operator = select.value;
      const after = operatorOf(cond);
      if (!before || before.arity !== after.arity || before.on !== after.on || f.type === "count") {
        if (f.type !== "count") cond.value = defaultValue(after);
      }
      if (cond.value === undefined) delete cond.value;
      render();
      changed();
    });
    return select;
  }

  function input(attrs, get, set) {
    const node = el("input", attrs);
    node.value = get() ?? "";
    node.addEventListener("input", () => { set(node.value); changed(); });
    return node;
  }

  function datalist(values) {
    const id = uid("dl");
    return [id, el("datalist", { id }, [...new Set(values)].map((v) => el("option", { value: v })))];
  }

  function valueEditor(cond, path) {
    const f = fields[cond.field];
    const vpath = path + ".value";
    if (f.type === "count") {
      return el("span", { class: "qb-value" },
        input({ type: "number", min: "0", step: "1", class: "qb-num", "data-path": vpath, "aria-label": "Number of events" },
          () => cond.value, (v) => { cond.value = numberOr(v, v); }),
        el("span", { class: "qb-word" }, "events in the last"),
        input({ type: "number", min: "1", step: "1", class: "qb-num", "data-path": path + ".window_days", "aria-label": "Days" },
          () => cond.window_days, (v) => { cond.window_days = numberOr(v, 0); }),
        el("span", { class: "qb-word" }, "days"));
    }
    const op = operatorOf(cond);
    if (!op || op.arity === 0) return null;
    if (op.arity === 2) {
      const pair = Array.isArray(cond.value) ? cond.value : [0, 100];
      cond.value = pair;
      return el("span", { class: "qb-value" },
        input({ type: "number", step: "any", class: "qb-num", "data-path": vpath, "aria-label": "From" }, () => pair[0], (v) => { pair[0] = numberOr(v, v); }),
        el("span", { class: "qb-word" }, "and"),
        input({ type: "number", step: "any", class: "qb-num", "data-path": vpath, "aria-label": "To" }, () => pair[1], (v) => { pair[1] = numberOr(v, v); }));
    }
    if (op.arity === -1) {
      const list = Array.isArray(cond.value) ? cond.value : [];
      return el("span", { class: "qb-value qb-value-wide" },
        input({ type: "text", class: "qb-text", "data-path": vpath, placeholder: "values, separated by commas", "aria-label": "Values" },
          () => list.join(", "), (v) => { cond.value = v.split(",").map((s) => s.trim()).filter(Boolean); }));
    }
    if (op.name === "within_last_days" || op.name === "more_than_days_ago") {
      return el("span", { class: "qb-value" },
        input({ type: "number", min: "1", step: "1", class: "qb-num", "data-path": vpath, "aria-label": "Days" },
          () => cond.value, (v) => { cond.value = numberOr(v, v); }),
        el("span", { class: "qb-word" }, "days"));
    }
    if (op.on === "date") {
      return input({ type: "date", class: "qb-text", "data-path": vpath, "aria-label": "Date" }, () => cond.value, (v) => { cond.value = v; });
    }
    if (op.on === "number") {
      return input({ type: "number", step: "any", class: "qb-num", "data-path": vpath, "aria-label": "Value" },
        () => cond.value, (v) => { cond.value = numberOr(v, v); });
    }
    const suggestions = cond.field === "event.name" ? catalog.event_names : cond.field === "event.type" ? catalog.event_types : [];
    const [listId, dl] = datalist(suggestions);
    return el("span", { class: "qb-value qb-value-wide" },
      input({ type: "text", class: "qb-text", "data-path": vpath, list: suggestions.length ? listId : null, "aria-label": "Value",
        placeholder: cond.field === "event.name" ? "e.g. pricing or [Email campaign engagement] Opened email" : "" },
      () => cond.value, (v) => { cond.value = v; }), dl);
  }

  function keyEditor(cond, path) {
    const f = fields[cond.field];
    if (f.needs === "property") {
      const [listId, dl] = datalist(catalog.properties.map((p) => p.key));
      return el("span", { class: "qb-key" }, input({ type: "text", class: "qb-text qb-key-input", list: listId, "data-path": path + ".property",
        placeholder: "property key", "aria-label": "Event property key" }, () => cond.property, (v) => { cond.property = v.trim(); }), dl);
    }
    if (f.needs === "attribute") {
      const [listId, dl] = datalist(catalog.attributes);
      return el("span", { class: "qb-key" }, input({ type: "text", class: "qb-text qb-key-input", list: listId, "data-path": path + ".attribute",
        placeholder: "attribute", "aria-label": "Custom attribute" }, () => cond.attribute, (v) => { cond.attribute = v.trim(); }), dl);
    }
    if (f.needs === "score") {
      const select = el("select", { class: "qb-operator", "data-path": path + ".score", "aria-label": "Account score" },
        catalog.scores.map((s) => el("option", { value: s }, s)));
      select.value = cond.score;
      select.addEventListener("change", () => { cond.score = select.value; changed(); });
      return select;
    }
    return null;
  }

  function conditionEditor(cond, path, eventOnly, remove) {
    const f = fields[cond.field];
    const row = el("div", { class: "qb-cond", "data-path": path },
      el("div", { class: "qb-cond-line" },
        fieldPicker(cond, path, eventOnly), keyEditor(cond, path), f ? operatorSelect(cond, path) : null, f ? valueEditor(cond, path) : null,
        el("button", { type: "button", class: "qb-remove", title: "Remove condition", "aria-label": "Remove condition", onclick: remove }, "×")));
    if (f && f.type === "count") {
      if (cond.where) {
        row.append(el("div", { class: "qb-where" }, el("div", { class: "qb-word" }, "counting only events where"),
          groupEditor(cond.where, path + ".where", { eventOnly: true, onRemove: () => { delete cond.where; render(); changed(); } })));
      } else {
        row.append(el("button", { type: "button", class: "btn-text", onclick: () => {
          cond.where = { combinator: "and", rules: [{ field: "event.name", operator: "contains", value: "" }] };
          render(); changed();
        } }, "+ count only events where …"));
      }
    }
    return row;
  }

  // ---- groups --------------------------------------------------------------------------
  function groupEditor(group, path, opts) {
    group.rules = group.rules || [];
    const eventOnly = !!opts.eventOnly;
    const seg = (value, label) => el("button", { type: "button", class: "seg-btn" + (group.combinator === value ? " active" : ""),
      "aria-pressed": String(group.combinator === value), onclick: () => { group.combinator = value; render(); changed(); } }, label);
    const head = el("div", { class: "qb-group-head" },
      el("div", { class: "seg", role: "group", "aria-label": "Combine with" }, seg("and", "AND"), seg("or", "OR")),
      el("label", { class: "check qb-not" }, el("input", { type: "checkbox", checked: group.not, onchange: (e) => {
        group.not = e.target.checked; if (!group.not) delete group.not; render(); changed();
      } }), " not"),
      el("span", { class: "qb-hint muted small" }, (group.not ? "none of" : group.combinator === "or" ? "any of" : "all of") + " these"),
      el("span", { class: "qb-spacer" }),
      el("button", { type: "button", class: "btn btn-small", onclick: () => {
        const c = {}; setField(c, eventOnly ? "event.name" : "event.name"); group.rules.push(c); render(); changed();
      } }, "+ Condition"),
      el("button", { type: "button", class: "btn btn-small", onclick: () => {
        group.rules.push({ combinator: group.combinator === "and" ? "or" : "and", rules: [(() => { const c = {}; setField(c, "event.name"); return c; })()] });
        render(); changed();
      } }, "+ Group"),
      opts.onRemove ? el("button", { type: "button", class: "btn btn-small btn-danger-ghost", onclick: opts.onRemove }, "Remove group") : null);
    const body = el("div", { class: "qb-rules", "data-path": path + ".rules" });
    group.rules.forEach((node, i) => {
      const p = `${path}.rules[${i}]`;
      const remove = () => { group.rules.splice(i, 1); render(); changed(); };
      if (i > 0) body.append(el("div", { class: "qb-joiner" }, group.combinator === "or" ? "or" : "and"));
      if (node.rules !== undefined || node.combinator !== undefined) {
        body.append(groupEditor(node, p, { eventOnly, onRemove: remove }));
      } else {
        body.append(conditionEditor(node, p, eventOnly, remove));
      }
    });
    if (!group.rules.length) body.append(el("p", { class: "muted small" }, "Empty group: add a condition."));
    return el("div", { class: "qb-group" + (opts.root ? " qb-root" : ""), "data-path": path }, head, body);
  }

  // ---- the rule's name, kind and effect -------------------------------------------------
  function labeled(label, control, hint) {
    const id = control.id || uid("f");
    control.id = id;
    return el("div", { class: "field" }, el("label", { for: id }, label), control, hint ? el("p", { class: "field-hint" }, hint) : null);
  }

  function setKind(kind) {
    rule.kind = kind;
    delete rule.score; delete rule.label; delete rule.grade;
    if (kind === "score") rule.score = { score: catalog.scores[0] || "Lead score", points: 10, per: "event" };
    if (kind === "label") rule.label = { name: "", color: "#6366f1" };
    if (kind === "grade") rule.grade = { points: 20 };
    render();
    changed();
  }

  function effectEditor() {
    const box = el("div", { class: "effect" });
    if (rule.kind === "score") {
      const s = rule.score;
      const [listId, dl] = datalist(catalog.scores);
      box.append(el("div", { class: "effect-grid" },
        labeled("Score", input({ type: "text", list: listId, "data-path": "score.score", maxlength: "100" }, () => s.score, (v) => { s.score = v; }), "A new name creates a new score."),
        dl,
        labeled("Points", input({ type: "number", step: "any", "data-path": "score.points" }, () => s.points, (v) => { s.points = numberOr(v, 0); }), "Negative to subtract."),
        labeled("Given", (() => {
          const sel = el("select", { "data-path": "score.per" }, el("option", { value: "event" }, "for every matching event"), el("option", { value: "lead" }, "once per lead"));
          sel.value = s.per;
          sel.addEventListener("change", () => { s.per = sel.value; if (s.per === "lead") delete s.cap; render(); changed(); });
          return sel;
        })()),
        s.per === "event" ? labeled("Cap", input({ type: "number", min: "0", step: "any", "data-path": "score.cap" }, () => s.cap || "", (v) => { s.cap = numberOr(v, 0); if (!s.cap) delete s.cap; }), "Most points this rule can give a lead; empty for no cap.") : null,
        labeled("Expire after (days)", input({ type: "number", min: "0", step: "1", "data-path": "score.expire_days" }, () => s.expire_days || "", (v) => { s.expire_days = numberOr(v, 0); if (!s.expire_days) delete s.expire_days; }), "Points vanish this long after the event; empty: never."),
        labeled("Half-life (days)", input({ type: "number", min: "0", step: "any", "data-path": "score.half_life_days" }, () => s.half_life_days || "", (v) => { s.half_life_days = numberOr(v, 0); if (!s.half_life_days) delete s.half_life_days; }), "Points halve every so many days; empty: they stay whole.")));
    } else if (rule.kind === "label") {
      const l = rule.label;
      const chip = el("span", { class: "label-chip big" });
      const paint = () => {
        chip.textContent = (l.emoji ? l.emoji + " " : "") + (l.name || "Label");
        const color = /^#[0-9a-f]{6}$/i.test(l.color) ? l.color : "#6366f1";
        chip.dataset.color = color; // app.js paints chips present when it loads
        if (window.paintChip) window.paintChip(chip, color);
      };
      const onSel = el("select", { "data-path": "label.on" }, el("option", { value: "lead" }, "leads"), el("option", { value: "account" }, "accounts"));
      onSel.value = l.on || "lead";
      onSel.addEventListener("change", () => { if (onSel.value === "lead") delete l.on; else l.on = onSel.value; changed(); });
      box.append(el("div", { class: "effect-grid" },
        labeled("Label", input({ type: "text", "data-path": "label.name", maxlength: "60" }, () => l.name, (v) => { l.name = v; paint(); })),
        labeled("Colour", input({ type: "color", "data-path": "label.color" }, () => l.color, (v) => { l.color = v; paint(); })),
        labeled("Emoji", input({ type: "text", "data-path": "label.emoji", maxlength: "8", placeholder: "optional" }, () => l.emoji, (v) => { l.emoji = v.trim(); if (!l.emoji) delete l.emoji; paint(); })),
        labeled("Goes on", onSel, "Account labels use account fields and account scores only."),
        el("div", { class: "field" }, el("div", { class: "field-label" }, "Looks like"), chip)));
      paint();
      box.append(el("p", { class: "muted small" }, "A lead has the label while the conditions hold: a condition such as “event time within the last 7 days” makes it fall off by itself."));
    } else if (rule.kind === "grade") {
      box.append(el("div", { class: "effect-grid" },
        labeled("Fit points", input({ type: "number", step: "any", "data-path": "grade.points" }, () => rule.grade.points, (v) => { rule.grade.points = numberOr(v, 0); }), "Added to the lead's fit; thresholds on the rules page turn fit into grades A–F.")));
      box.append(el("p", { class: "muted small" }, "Fit grade rules look at the profile and the account only, not at events."));
    }
    return box;
  }

  // Fit grade rules read the profile and the account: offer to drop event conditions kept from
  // another kind rather than leave an error to puzzle over.
  function eventConditions(group) {
    return group.rules.reduce((n, r) => n + (r.rules ? eventConditions(r) : (r.field || "").startsWith("event.") ? 1 : 0), 0);
  }
  function dropEventConditions(group) {
    group.rules = group.rules.filter((r) => r.rules || !(r.field || "").startsWith("event."));
    group.rules.forEach((r) => { if (r.rules) dropEventConditions(r); });
    group.rules = group.rules.filter((r) => !r.rules || r.rules.length > 0);
  }
  function eventConditionsNotice() {
    const n = rule.kind === "grade" ? eventConditions(rule.when) : 0;
    if (!n) return null;
    return el("div", { class: "flash flash-info builder-notice", id: "event-conditions-notice" },
      `Fit grade rules look at the profile and the account only, not at events. ${n === 1 ? "One condition uses" : n + " conditions use"} events.`,
      el("button", { type: "button", class: "btn btn-small", onclick: () => { dropEventConditions(rule.when); render(); changed(); } }, n === 1 ? "Remove it" : "Remove them"));
  }

  function render() {
    closePicker();
    if (conditionOnly) {
      root.replaceChildren(groupEditor(rule.when, "when", { root: true }));
      showProblems(lastProblems);
      return;
    }
    const kinds = [["score", "Score points"], ["label", "Label"], ["grade", "Fit grade"]];
    const nameInput = input({ type: "text", "data-path": "name", maxlength: "200", placeholder: "e.g. Visited pricing twice this week", id: "rule-name" }, () => rule.name, (v) => { rule.name = v; });
    const enabled = el("input", { type: "checkbox", checked: rule.enabled, id: "rule-enabled", onchange: (e) => { rule.enabled = e.target.checked; changed(); } });
    root.replaceChildren(
      el("section", { class: "card builder-head" },
        el("div", { class: "builder-name" }, labeled("Rule name", nameInput)),
        el("div", { class: "field" }, el("div", { class: "field-label" }, "This rule"),
          el("div", { class: "seg", role: "group", "aria-label": "Rule kind", "data-path": "kind" },
            kinds.map(([k, label]) => el("button", { type: "button", class: "seg-btn" + (rule.kind === k ? " active" : ""), "aria-pressed": String(rule.kind === k),
              onclick: () => { if (rule.kind !== k) setKind(k); } }, label)))),
        el("label", { class: "check builder-enabled" }, enabled, " enabled")),
      el("section", { class: "card" }, el("h2", {}, "When"), eventConditionsNotice(), groupEditor(rule.when, "when", { root: true })),
      el("section", { class: "card" }, el("h2", {}, "Then"), effectEditor()));
    showProblems(lastProblems);
  }

  // ---- validation, preview, save -------------------------------------------------------
  let lastProblems = JSON.parse(root.dataset.problems || "[]") || [];
  let timer = null;
  function changed() {
    clearTimeout(timer);
    timer = setTimeout(validate, 350);
  }

  async function post(url) {
    const res = await fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" }, body: JSON.stringify(rule) });
    return { status: res.status, body: await res.json().catch(() => ({})) };
  }

  async function validate() {
    if (conditionOnly && !rule.when.rules.length) {
      lastProblems = [];
      showProblems(lastProblems);
      return;
    }
    try {
      const { body } = await post(root.dataset.validateUrl);
      lastProblems = body.problems || [];
      showProblems(lastProblems);
    } catch (_) { status.textContent = "Could not reach Peregrine to check the rule."; }
  }

  function showProblems(problems) {
    root.querySelectorAll(".qb-error").forEach((n) => n.remove());
    root.querySelectorAll(".is-invalid").forEach((n) => n.classList.remove("is-invalid"));
    for (const p of problems) {
      const target = root.querySelector(`[data-path="${CSS.escape(p.path)}"]`) || root.querySelector(`[data-path="${CSS.escape(p.path.replace(/\.[a-z_]+$/, ""))}"]`);
      const msg = el("p", { class: "qb-error field-error", role: "alert" }, p.message);
      if (!target) { root.prepend(msg); continue; }
      target.classList.add("is-invalid");
      const holder = target.closest(".qb-cond, .field, .qb-group") || target.parentElement;
      if (holder.classList.contains("qb-group")) holder.querySelector(".qb-rules").before(msg);
      else holder.append(msg);
    }
    status.textContent = problems.length ? `${problems.length} ${problems.length === 1 ? "thing" : "things"} to fix before saving`
      : conditionOnly ? (rule.when.rules.length ? "✓ The condition is valid." : "No condition: every lead the trigger finds.") : "✓ The rule is valid.";
    status.classList.toggle("status-bad", problems.length > 0);
    status.classList.toggle("status-good", problems.length === 0);
  }

  const panel = document.getElementById("preview-panel");
  const previewButton = document.getElementById("preview-btn");
  if (previewButton) previewButton.addEventListener("click", async () => {
    panel.classList.remove("hidden");
    panel.replaceChildren(el("p", { class: "muted" }, "Scoring leads with this rule…"));
    try {
      const { status: code, body } = await post(root.dataset.previewUrl);
      if (code === 422) {
        lastProblems = body.problems || [];
        showProblems(lastProblems);
        panel.replaceChildren(el("p", { class: "field-error" }, "Fix the marked fields to preview this rule."));
        return;
      }
      if (code !== 200) throw new Error(String(code));
      renderPreview(body);
    } catch (_) {
      panel.replaceChildren(el("p", { class: "field-error" }, "The preview failed. Try again in a moment."));
    }
  });

  function renderPreview(p) {
    const words = {
      score: ["would gain points", "would lose points", "Score now", "With this rule"],
      label: ["would gain the label", "would lose the label", "Label now", "With this rule"],
      grade: ["would get a better grade", "would get a worse grade", "Grade now", "With this rule"],
    }[p.Kind];
    const figure = (value, label, cls) => el("div", { class: "figure " + (cls || "") }, el("div", { class: "figure-value", "data-preview": label }, String(value)), el("div", { class: "figure-label" }, label));
    const what = rule.kind === "label" && rule.label.on === "account" ? "accounts" : "leads";
    const sample = p.Examined < p.Total ? `Scored ${p.Examined.toLocaleString()} of ${p.Total.toLocaleString()} ${what} (the most recently active).` : `Scored all ${p.Total.toLocaleString()} ${what}.`;
    const rows = (p.Examples || []).map((x) => el("tr", {},
      el("td", {}, el("a", { href: x.URL, target: "_blank" }, x.Name || x.Email), x.Name ? el("div", { class: "muted small" }, x.Email) : null),
      el("td", { class: "num" }, x.Before), el("td", { class: "num strong" }, x.After)));
    panel.replaceChildren(
      el("h2", {}, "Preview"),
      el("div", { class: "figures" },
        figure(p.Matching, what + " match now", "figure-main"),
        figure(p.Gain, words[0], "figure-up"),
        figure(p.Lose, words[1], "figure-down")),
      ...(p.Note ? [el("p", { class: "small", id: "preview-note" }, p.Note)] : []),
      el("p", { class: "muted small" }, sample + " Nothing is saved until you press Save."),
      rows.length ? el("table", { class: "table compact", id: "preview-examples" },
        el("thead", {}, el("tr", {}, el("th", {}, what === "accounts" ? "Example account" : "Example lead"), el("th", { class: "num" }, words[2]), el("th", { class: "num" }, words[3]))),
        el("tbody", {}, rows)) : el("p", { class: "muted" }, "No lead matches this rule yet."));
  }

  form.addEventListener("submit", () => {
    if (conditionOnly) document.getElementById(root.dataset.target).value = rule.when.rules.length ? JSON.stringify(rule.when) : "";
    else document.getElementById("definition").value = JSON.stringify(rule);
  });

  if (!rule.when) rule.when = { combinator: "and", rules: [] };
  render();
  if (conditionOnly) {
    if (rule.when.rules.length) validate();
    else showProblems([]);
    return;
  }
  // A saved rule is checked at once; a new one starts neutral and is checked once touched.
  if (!lastProblems.length && /[?&]id=[1-9]/.test(root.dataset.previewUrl)) validate();
  else if (!lastProblems.length) status.textContent = "Describe when the rule applies and what it does; it is checked as you go.";
})();
