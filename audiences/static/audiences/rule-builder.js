/*
 * The audience rule builder: edits the rule JSON of the audience change page without typing JSON.
 *
 * Reads the dimension registry from <script id="audience-builder-meta"> (audiences.admin.builder)
 * and the validator's problems from <script id="audience-rule-problems">; writes the rule into the
 * form's textarea (kept under "Advanced: edit the rule as JSON"). Each node remembers the path the
 * validator would name it by (`all[1].where.all[0]`), so a problem is shown next to its condition.
 * "Count" posts the rule to the admin's preview view and shows the count and a small sample.
 */
(function () {
  "use strict";

  const FIELD_OPS = {
    eq: "is", ne: "is not", lt: "is less than", lte: "is at most", gt: "is more than", gte: "is at least",
    in: "is one of", not_in: "is none of", contains: "contains", icontains: "contains (any case)",
    startswith: "starts with", is_null: "is empty", between: "is between", before: "is before",
    after: "is after", in_last_days: "is in the last", in_next_days: "is in the next",
  };
  const DATE_OPS = {
    eq: "is on", ne: "is not on", lt: "is earlier than", lte: "is on or earlier than", gt: "is later than",
    gte: "is on or later than",
  };
  const COUNT_OPS = {
    eq: "exactly", ne: "not exactly", lt: "fewer than", lte: "at most", gt: "more than", gte: "at least",
    between: "between",
  };
  const AGG_OPS = {
    eq: "equals", ne: "does not equal", lt: "is less than", lte: "is at most", gt: "is more than",
    gte: "is at least", between: "is between",
  };
  const AGG_LABELS = { count: "Number", sum: "Sum", avg: "Average", min: "Smallest", max: "Largest" };
  const PART_LABELS = {
    field: "Field", op: "Operator", value: "Value", has: "Related rows", where: "Where", count: "Count",
    agg: "Function", of: "Of", in_audience: "Audience", dimension: "Dimension",
  };

  // -- DOM helpers -------------------------------------------------------------------------------

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    let value;
    for (const [key, val] of Object.entries(props || {})) {
      if (val === null || val === undefined || val === false) continue;
      if (key === "class") node.className = val;
      else if (key === "value") value = val;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), val);
      else if (key === "text") node.textContent = val;
      else node.setAttribute(key, val === true ? "" : val);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    if (value !== undefined) node.value = value;
    return node;
  }

  // options: [[value, label], ...] or [{group, items: [[value, label], ...]}, ...]
  function select(options, value, onChange, props) {
    const option = ([val, label]) => h("option", { value: String(val) }, label);
    const children = options.map((item) =>
      Array.isArray(item) ? option(item) : h("optgroup", { label: item.group }, item.items.map(option)),
    );
    const node = h("select", props, children);
    node.value = value === null || value === undefined ? "" : String(value);
    node.addEventListener("change", () => onChange(node.value));
    return node;
  }

  function button(label, onClick, props) {
    return h("button", { type: "button", class: "rb-button", onclick: onClick, ...props }, label);
  }

  // Lower case without accents, as the server compares suggestions: "Évora" -> "evora".
  const fold = (text) => String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

  function join(path, part) {
    if (part.startsWith("[")) return path + part;
    return path ? `${path}.${part}` : part;
  }

  // -- the rule as a tree of editable nodes --------------------------------------------------------

  const isObject = (raw) => raw !== null && typeof raw === "object" && !Array.isArray(raw);
  const onlyKeys = (raw, allowed) => Object.keys(raw).every((key) => allowed.includes(key));

  function emptyGroup() {
    return { kind: "group", mode: "all", negate: false, children: [] };
  }

  class Model {
    constructor(meta) {
      this.meta = meta;
    }

    dimension(key) {
      return this.meta.dimensions[key];
    }

    relation(dimKey, name) {
      const dim = this.dimension(dimKey);
      return dim ? dim.relations.find((r) => r.name === name) : undefined;
    }

    // The field definition behind a rule path such as `product.category`, following to-one links.
    // A field's own name may hold a dot too: custom traits are `attributes.<key>`.
    field(dimKey, path) {
      let dim = this.dimension(dimKey);
      const parts = String(path || "").split(".");
      while (dim) {
        const found = dim.fields.find((f) => f.name === parts.join("."));
        if (found || parts.length < 2 || !dim.links[parts[0]]) return found;
        dim = this.dimension(dim.links[parts.shift()]);
      }
      return undefined;
    }

    // [{group, items: [[path, label]]}]: the dimension's fields, then those of its to-one links.
    fieldOptions(dimKey) {
      const groups = [];
      // Linked fields read "Product › Category" so that the chosen option names its table.
      const walk = (key, prefix, via, seen) => {
        const dim = this.dimension(key);
        const title = via.length ? via.join(" › ") : dim.label;
        groups.push({ group: title, items: dim.fields.map((f) => [prefix + f.name, via.length ? `${title} › ${f.label}` : f.label]) });
        if (seen.length > 2) return;
        for (const [link, target] of Object.entries(dim.links)) {
          if (!seen.includes(target)) {
            const name = link.replace(/_/g, " ");
            walk(target, `${prefix}${link}.`, [...via, name[0].toUpperCase() + name.slice(1)], [...seen, target]);
          }
        }
      };
      walk(dimKey, "", [], [dimKey]);
      return groups;
    }

    group(raw, dimKey) {
      if (isObject(raw) && Object.keys(raw).length === 1 && (Array.isArray(raw.all) || Array.isArray(raw.any))) {
        const mode = "all" in raw ? "all" : "any";
        return { kind: "group", mode, negate: false, children: raw[mode].map((child) => this.node(child, dimKey)) };
      }
      if (isObject(raw) && Object.keys(raw).length === 1 && "not" in raw) {
        const inner = this.group(raw.not, dimKey);
        if (!inner.negate) return { ...inner, negate: true };
        return { kind: "group", mode: "all", negate: true, children: [inner] };
      }
      return { kind: "group", mode: "all", negate: false, children: [this.node(raw, dimKey)] };
    }

    node(raw, dimKey) {
      const raw_ = { kind: "raw", json: raw };
      if (!isObject(raw)) return raw_;
      if ("all" in raw || "any" in raw || "not" in raw) return this.group(raw, dimKey);
      if ("field" in raw && onlyKeys(raw, ["field", "op", "value"])) {
        return { kind: "field", field: raw.field, op: raw.op, value: raw.value };
      }
      if ("has" in raw && onlyKeys(raw, ["has", "where", "count"])) {
        const relation = this.relation(dimKey, raw.has);
        if (!relation) return raw_;
        return {
          kind: "has", relation: raw.has, count: isObject(raw.count) ? { ...raw.count } : null,
          where: raw.where ? this.group(raw.where, relation.dimension) : null,
        };
      }
      if ("agg" in raw && onlyKeys(raw, ["agg", "of", "where", "op", "value"])) {
        const [relationName, fieldName] = String(raw.of || "").split(".");
        const relation = this.relation(dimKey, relationName);
        if (!relation) return raw_;
        return {
          kind: "agg", fn: raw.agg, relation: relationName, field: fieldName || "", op: raw.op, value: raw.value,
          where: raw.where ? this.group(raw.where, relation.dimension) : null,
        };
      }
      if ("in_audience" in raw && onlyKeys(raw, ["in_audience"])) return { kind: "audience", slug: raw.in_audience };
      return raw_;
    }

    // The rule JSON of a node; records each node's validator path and the dimension it is over.
    serialize(node, path, dimKey, visited) {
      node.path = path;
      node.dim = dimKey;
      visited.push(node);
      switch (node.kind) {
        case "group": {
          const inner = node.negate ? join(path, "not") : path;
          const items = node.children.map((child, i) => this.serialize(child, join(inner, `${node.mode}[${i}]`), dimKey, visited));
          const group = { [node.mode]: items };
          return node.negate ? { not: group } : group;
        }
        case "field":
          return { field: node.field, op: node.op, value: node.value };
        case "has": {
          const rule = { has: node.relation };
          const target = this.relation(dimKey, node.relation).dimension;
          if (node.where) rule.where = this.serialize(node.where, join(path, "where"), target, visited);
          if (node.count) rule.count = { op: node.count.op, value: node.count.value };
          return rule;
        }
        case "agg": {
          const target = this.relation(dimKey, node.relation).dimension;
          const rule = { agg: node.fn, of: node.fn === "count" ? node.relation : `${node.relation}.${node.field}` };
          if (node.where) rule.where = this.serialize(node.where, join(path, "where"), target, visited);
          rule.op = node.op;
          rule.value = node.value;
          return rule;
        }
        case "audience":
          return { in_audience: node.slug };
        default:
          return node.json;
      }
    }
  }

  // -- values by type and operator ----------------------------------------------------------------

  function shape(op) {
    if (op === "is_null") return "flag";
    if (op === "in_last_days" || op === "in_next_days") return "days";
    if (op === "in" || op === "not_in") return "list";
    if (op === "between") return "pair";
    return "scalar";
  }

  function emptyScalar(type) {
    if (type === "integer" || type === "decimal") return null;
    if (type === "boolean") return true;
    return "";
  }

  function defaultValue(op, type) {
    switch (shape(op)) {
      case "flag": return true;
      case "days": return 30;
      case "list": return [];
      case "pair": return [emptyScalar(type), emptyScalar(type)];
      default: return emptyScalar(type);
    }
  }

  function parseScalar(type, text) {
    if (type === "integer" || type === "decimal") {
      if (text.trim() === "") return null;
      const number = Number(text);
      return Number.isFinite(number) ? number : text;
    }
    if (type === "boolean") return text === "true";
    return text;
  }

  function scalarInput(type, choices, value, set, props) {
    if (type === "choice") {
      return select([["", "— choose —"], ...choices.map((c) => [c, c])], value, set, props);
    }
    if (type === "boolean") return select([["true", "true"], ["false", "false"]], String(value), (v) => set(v === "true"), props);
    const attrs = { class: "rb-input", value: value === null || value === undefined ? "" : String(value), ...props };
    if (type === "integer") Object.assign(attrs, { type: "number", step: "1", class: "rb-input rb-number" });
    else if (type === "decimal") Object.assign(attrs, { type: "number", step: "any", class: "rb-input rb-number" });
    else if (type === "date" || (type === "datetime" && String(value || "").length <= 10)) attrs.type = "date";
    else attrs.type = "text";
    const input = h("input", attrs);
    input.addEventListener("input", () => set(parseScalar(type, input.value)));
    return input;
  }

  // -- the builder ------------------------------------------------------------------------------

  class Builder {
    constructor(container, textarea, meta, problems) {
      this.container = container;
      this.textarea = textarea;
      this.model = new Model(meta);
      this.meta = meta;
      this.problems = problems;
      this.problemSource = "save";
      this.suggestionCache = new Map();
      this.dimSelect = document.getElementById("id_dimension");
      this.kindSelect = document.getElementById("id_kind");
      this.dim = this.dimSelect ? this.dimSelect.value : "profile";
      this.load(textarea.value, true);
      this.wire();
      container.hidden = false;
      this.render();
      this.saved = this.textarea.value;
      this.guardCalculate();
    }

    // Calculate evaluates the saved rule: say so when the builder holds unsaved changes.
    guardCalculate() {
      for (const form of document.querySelectorAll(".object-tool-form")) {
        form.addEventListener("submit", (event) => {
          // eslint-disable-next-line no-alert
          if (this.textarea.value !== this.saved && !window.confirm("Calculate uses the saved rule, not your unsaved changes. Calculate anyway?")) {
            event.preventDefault();
          }
        });
      }
    }

    load(text, initial) {
      const advanced = this.textarea.closest("details");
      const error = advanced.querySelector(".rule-json-error");
      error.textContent = "";
      let raw = null;
      if (text.trim()) {
        try {
          raw = JSON.parse(text);
        } catch (exc) {
          error.textContent = `Not valid JSON: ${exc.message}`;
          advanced.open = true;
          if (initial) this.root = emptyGroup();
          return false;
        }
      }
      this.root = raw === null ? emptyGroup() : this.model.group(raw, this.dim);
      return true;
    }

    wire() {
      const advanced = this.textarea.closest("details");
      advanced.querySelector(".rule-apply-json").addEventListener("click", () => {
        if (this.load(this.textarea.value, false)) this.changed(true);
      });
      if (this.kindSelect) {
        const toggle = () => {
          const fieldset = this.textarea.closest("fieldset") || this.container.parentElement;
          fieldset.hidden = this.kindSelect.value !== "rule";
        };
        this.kindSelect.addEventListener("change", toggle);
        toggle();
      }
      if (this.dimSelect) {
        this.dimSelect.addEventListener("change", () => {
          const used = this.root.children.length > 0;
          // eslint-disable-next-line no-alert
          if (used && !window.confirm("The fields differ between dimensions: changing it clears the rule. Continue?")) {
            this.dimSelect.value = this.dim;
            return;
          }
          this.dim = this.dimSelect.value;
          this.root = emptyGroup();
          this.changed(true);
        });
      }
    }

    // After an edit: old problems no longer point at the right conditions.
    changed(structural) {
      this.problems = [];
      if (structural) this.render();
      else {
        this.container.querySelectorAll(".rb-errors, .rb-summary, .rb-value-hint").forEach((node) => node.remove());
        this.container.querySelectorAll(".rb-invalid").forEach((node) => node.classList.remove("rb-invalid"));
        this.sync();
      }
    }

    rule() {
      this.visited = [];
      return this.model.serialize(this.root, "", this.dim, this.visited);
    }

    sync() {
      this.textarea.value = JSON.stringify(this.rule(), null, 2);
    }

    // problems by node: the node whose path is the longest prefix of the problem's path.
    placeProblems() {
      const placed = new Map();
      for (const problem of this.problems) {
        let best = this.root;
        for (const node of this.visited) {
          const p = node.path;
          const inside = p === "" || problem.path === p || problem.path.startsWith(`${p}.`) || problem.path.startsWith(`${p}[`);
          if (inside && p.length >= best.path.length) best = node;
        }
        const rest = problem.path.slice(best.path.length).replace(/^\./, "");
        if (!placed.has(best)) placed.set(best, []);
        placed.get(best).push({ part: rest, message: problem.message });
      }
      return placed;
    }

    render() {
      const rule = this.rule();
      this.textarea.value = JSON.stringify(rule, null, 2);
      this.placed = this.placeProblems();
      const dimension = this.model.dimension(this.dim);
      const summary = this.problems.length && this.problemSource === "preview"
        ? h("div", { class: "rb-summary errornote" },
          `The rule has ${this.problems.length} problem${this.problems.length === 1 ? "" : "s"}; see the marked conditions.`)
        : null;
      const body = dimension
        ? this.renderGroup(this.root, this.dim, { root: true })
        : h("p", { class: "rb-empty" }, "Choose a dimension first.");
      this.container.replaceChildren(summary || "", body, this.renderPreview());
    }

    errors(node, element) {
      const problems = this.placed.get(node);
      if (!problems) return null;
      for (const { part } of problems) {
        const control = element.querySelector(`:scope > .rb-line [data-part="${part.split(/[.[]/)[0]}"]`);
        if (control) control.classList.add("rb-invalid");
      }
      return h("ul", { class: "rb-errors errorlist" },
        problems.map(({ part, message }) => h("li", {}, part ? `${PART_LABELS[part.split(/[.[]/)[0]] || part}: ${message}` : message)));
    }

    renderGroup(group, dimKey, { root = false, onRemove = null, caption = "" } = {}) {
      const dimension = this.model.dimension(dimKey);
      const element = h("div", { class: `rb-group${group.negate ? " rb-negated" : ""}${root ? " rb-root" : ""}`, "data-path": group.path });
      // "Profiles matching [all] of these conditions", "Matching [any] of these", "where the bookings match [all] of these"
      const lead = caption || (root ? `${dimension.label} matching` : "Matching");
      const head = h("div", { class: "rb-line rb-group-head" },
        h("span", {}, lead),
        select([["all", "all"], ["any", "any"]], group.mode, (v) => { group.mode = v; this.changed(true); },
          { "data-part": group.mode, "aria-label": "Match all or any", class: "rb-mode" }),
        h("span", {}, root ? "of these conditions" : "of these"),
        h("label", { class: "rb-not", title: "Keep what this group does NOT match" },
          h("input", { type: "checkbox", checked: group.negate, onchange: (e) => { group.negate = e.target.checked; this.changed(true); } }),
          " not"),
        onRemove ? button("×", onRemove, { class: "rb-button rb-remove", title: "Remove this group", "aria-label": "Remove group" }) : null,
      );
      const children = h("div", { class: "rb-children" });
      group.children.forEach((child, index) => {
        if (index) children.append(h("div", { class: "rb-connector" }, group.mode === "all" ? "and" : "or"));
        const remove = () => { group.children.splice(index, 1); this.changed(true); };
        children.append(child.kind === "group"
          ? this.renderGroup(child, dimKey, { onRemove: remove })
          : this.renderCondition(child, dimKey, remove));
      });
      if (!group.children.length) {
        children.append(h("p", { class: "rb-empty" }, root
          ? `No conditions yet: every row of ${dimension.label.toLowerCase()} matches.`
          : "No conditions: any row matches."));
      }
      const add = (node) => { group.children.push(node); this.changed(true); };
      const relations = dimension.relations;
      const audiences = this.meta.audiences.filter((a) => a.dimension === dimKey);
      const tools = h("div", { class: "rb-add" },
        button("+ Condition", () => add(this.newField(dimKey)), { class: "rb-button rb-add-condition" }),
        button("+ Group", () => add({ ...emptyGroup(), mode: group.mode === "all" ? "any" : "all", children: [this.newField(dimKey)] }),
          { class: "rb-button rb-add-group" }),
        button("+ Has related", () => add({ kind: "has", relation: relations[0].name, where: null, count: null }),
          { class: "rb-button rb-add-has", disabled: !relations.length, title: relations.length ? "Rows of a related table, e.g. bookings" : `${dimension.label} have no related tables` }),
        button("+ Aggregate", () => add({ kind: "agg", fn: "count", relation: relations[0].name, field: "", where: null, op: "gte", value: 1 }),
          { class: "rb-button rb-add-agg", disabled: !relations.length, title: "Count, sum, average, smallest or largest over related rows" }),
        button("+ In audience", () => add({ kind: "audience", slug: audiences[0].slug }),
          { class: "rb-button rb-add-audience", disabled: !audiences.length, title: audiences.length ? "Members of another audience" : `No other audience of ${dimension.label.toLowerCase()}` }),
      );
      element.append(head);
      element.append(children, tools);
      const errors = this.errors(group, element);
      if (errors) head.after(errors);
      return element;
    }

    newField(dimKey) {
      const field = this.model.dimension(dimKey).fields[0];
      return { kind: "field", field: field.name, op: field.operators[0], value: defaultValue(field.operators[0], field.type) };
    }

    renderCondition(node, dimKey, onRemove) {
      const element = h("div", { class: `rb-condition rb-${node.kind}`, "data-path": node.path });
      const line = h("div", { class: "rb-line" });
      element.append(line);
      const remove = button("×", onRemove, { class: "rb-button rb-remove", title: "Remove this condition", "aria-label": "Remove condition" });
      if (node.kind === "field") this.fieldLine(node, dimKey, line);
      else if (node.kind === "has") this.hasLine(node, dimKey, line, element);
      else if (node.kind === "agg") this.aggLine(node, dimKey, line, element);
      else if (node.kind === "audience") {
        const options = this.meta.audiences.filter((a) => a.dimension === dimKey).map((a) => [a.slug, a.name]);
        if (!options.some(([slug]) => slug === node.slug)) options.unshift([node.slug, `${node.slug} (not found)`]);
        line.append(h("span", { class: "rb-keyword" }, "In audience"),
          select(options, node.slug, (v) => { node.slug = v; this.changed(false); }, { "data-part": "in_audience", class: "rb-audience" }));
      } else {
        line.append(h("span", { class: "rb-keyword" }, "Custom condition"), h("code", { class: "rb-raw" }, JSON.stringify(node.json)),
          h("span", { class: "rb-hint" }, "edit it under Advanced"));
      }
      line.append(remove);
      const errors = this.errors(node, element);
      if (errors) line.after(errors);
      return element;
    }

    fieldLine(node, dimKey, line) {
      let field = this.model.field(dimKey, node.field);
      const options = this.model.fieldOptions(dimKey);
      if (!field) options.unshift({ group: "Unknown", items: [[node.field, `${node.field} (unknown)`]] });
      line.append(select(options, node.field, (path) => {
        const before = field;
        node.field = path;
        field = this.model.field(dimKey, path);
        if (!field.operators.includes(node.op)) node.op = field.operators[0];
        if (!before || before.type !== field.type || field.type === "choice") node.value = defaultValue(node.op, field.type);
        this.changed(true);
      }, { "data-part": "field", class: "rb-field-select", "aria-label": "Field" }));
      if (!field) return;
      const labels = field.type === "date" || field.type === "datetime" ? { ...FIELD_OPS, ...DATE_OPS } : FIELD_OPS;
      const ops = field.operators.map((op) => [op, labels[op] || op]);
      if (!field.operators.includes(node.op)) ops.unshift([node.op, String(node.op)]);
      line.append(select(ops, node.op, (op) => {
        if (shape(op) !== shape(node.op)) node.value = defaultValue(op, field.type);
        node.op = op;
        this.changed(true);
      }, { "data-part": "op", class: "rb-op-select", "aria-label": "Operator" }));
      const suggest = field.suggest && this.meta.suggestionsUrl ? { dim: dimKey, field: node.field } : null;
      line.append(this.valueEditor(node, field.type, field.choices, node.op, suggest));
    }

    // The editor of `holder.value` for an operator over values of `type`.
    valueEditor(holder, type, choices, op, suggest = null) {
      const set = (value) => { holder.value = value; this.changed(false); };
      const wrap = (...children) => h("span", { class: "rb-value", "data-part": "value" }, ...children);
      switch (shape(op)) {
        case "flag":
          return wrap(select([["true", "yes"], ["false", "no"]], String(holder.value !== false), (v) => set(v === "true"), { "aria-label": "Empty" }));
        case "days": {
          const input = h("input", { type: "number", min: "0", step: "1", class: "rb-input rb-number", value: holder.value ?? "", "aria-label": "Days" });
          input.addEventListener("input", () => set(input.value === "" ? null : Number(input.value)));
          return wrap(input, " days");
        }
        case "list": {
          const values = Array.isArray(holder.value) ? holder.value : [];
          if (type === "choice") {
            return wrap(h("span", { class: "rb-choices" }, choices.map((choice) => h("label", {},
              h("input", { type: "checkbox", value: choice, checked: values.includes(choice), onchange: (e) => {
                const chosen = new Set(Array.isArray(holder.value) ? holder.value : []);
                if (e.target.checked) chosen.add(choice); else chosen.delete(choice);
                set(choices.filter((c) => chosen.has(c)));
              } }), ` ${choice}`))));
          }
          return wrap(this.chipsInput(values, type, set, suggest));
        }
        case "pair": {
          const pair = Array.isArray(holder.value) && holder.value.length === 2 ? holder.value : [emptyScalar(type), emptyScalar(type)];
          holder.value = pair;
          const setAt = (index) => (value) => { pair[index] = value; set(pair); };
          return wrap(scalarInput(type, choices, pair[0], setAt(0), { "aria-label": "From" }), " and ",
            scalarInput(type, choices, pair[1], setAt(1), { "aria-label": "To" }));
        }
        default:
          if (suggest && type === "string") return wrap(this.suggestInput(suggest, holder.value, set, { "aria-label": "Value" }).element);
          return wrap(scalarInput(type, choices, holder.value, set, { "aria-label": "Value" }));
      }
    }

    // The most frequent values of a field over its whole dimension, fetched once per field.
    suggestions(suggest) {
      const key = `${suggest.dim}|${suggest.field}`;
      if (!this.suggestionCache.has(key)) {
        const url = `${this.meta.suggestionsUrl}?${new URLSearchParams({ dimension: suggest.dim, field: suggest.field })}`;
        this.suggestionCache.set(key, fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then((response) => (response.ok ? response.json() : { values: [] }))
          .then((data) => data.values || [], () => []));
      }
      return this.suggestionCache.get(key);
    }

    // A text input with a list of the field's frequent values under it, filtered as one types.
    // `onPick(value)` runs when a suggestion is chosen (click or Enter); typing calls `set`.
    suggestInput(suggest, value, set, props, onPick = null) {
      const input = h("input", { type: "text", class: "rb-input rb-suggest-input", autocomplete: "off", value: value ?? "", ...props });
      const list = h("ul", { class: "rb-suggestions", role: "listbox", hidden: true });
      let active = -1;
      const pick = (chosen) => {
        list.hidden = true;
        if (onPick) { onPick(chosen); input.value = ""; } else { input.value = chosen; set(chosen); }
      };
      const mark = (index) => {
        const items = list.querySelectorAll(".rb-suggestion");
        active = items.length ? (index + items.length) % items.length : -1;
        items.forEach((item, i) => item.classList.toggle("rb-active", i === active));
      };
      const show = async () => {
        const typed = fold(input.value.trim());
        const values = (await this.suggestions(suggest)).filter((v) => fold(v.value).includes(typed));
        list.replaceChildren(...values.map((v) => h("li", {
          role: "option", class: "rb-suggestion", "data-value": v.value,
          onmousedown: (event) => { event.preventDefault(); pick(String(v.value)); },
        }, h("span", { class: "rb-suggestion-value" }, String(v.value)), h("span", { class: "rb-suggestion-count" }, v.count.toLocaleString("en")))));
        list.hidden = document.activeElement !== input || !values.length;
        active = -1;
      };
      input.addEventListener("focus", show);
      input.addEventListener("input", () => { if (!onPick) set(input.value); show(); });
      input.addEventListener("blur", () => { list.hidden = true; });
      input.addEventListener("keydown", (event) => {
        if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          if (list.hidden) show(); else mark(active + (event.key === "ArrowDown" ? 1 : -1));
        } else if (event.key === "Escape") {
          list.hidden = true;
        } else if (event.key === "Enter" && active >= 0 && !list.hidden) {
          event.preventDefault();
          pick(list.querySelectorAll(".rb-suggestion")[active].dataset.value);
        }
      });
      return { element: h("span", { class: "rb-suggest" }, input, list), input };
    }

    // The values of `in` / `not in` as chips: Enter or a comma adds what is typed, × removes one.
    chipsInput(values, type, set, suggest) {
      let current = [...values];
      const chips = h("span", { class: "rb-chips" });
      const update = (next) => { current = next; set([...current]); draw(); };
      const add = (text) => {
        const value = parseScalar(type, String(text).trim());
        if (value === "" || value === null || current.includes(value)) return;
        update([...current, value]);
      };
      const draw = () => {
        chips.replaceChildren(...current.map((value, index) => h("span", { class: "rb-chip", "data-value": String(value) },
          String(value), button("×", () => update(current.filter((_, i) => i !== index)), { class: "rb-chip-remove", "aria-label": `Remove ${value}` }))));
        input.placeholder = current.length ? "add another" : "type a value, then Enter";
      };
      const props = { "aria-label": "Add a value" };
      const entry = suggest ? this.suggestInput(suggest, "", () => {}, props, add) : null;
      const input = entry ? entry.input : h("input", { type: "text", class: "rb-input rb-chip-input", ...props });
      input.classList.add("rb-chip-input");
      input.addEventListener("keydown", (event) => {
        if ((event.key === "Enter" || event.key === ",") && input.value.trim()) {
          if (event.key === "Enter" && entry && entry.element.querySelector(".rb-active")) return;  // a suggestion is chosen
          event.preventDefault();
          add(input.value);
          input.value = "";
        } else if (event.key === "Enter") {
          event.preventDefault();  // never submit the audience form from here
        } else if (event.key === "Backspace" && !input.value && current.length) {
          update(current.slice(0, -1));
        }
      });
      input.addEventListener("blur", () => { if (input.value.trim()) { add(input.value); input.value = ""; } });
      draw();
      return h("span", { class: "rb-chip-list" }, chips, entry ? entry.element : input);
    }

    relationSelect(node, dimKey, onChange) {
      const relations = this.model.dimension(dimKey).relations;
      return select(relations.map((r) => [r.name, r.label]), node.relation, (name) => { node.relation = name; onChange(); this.changed(true); },
        { "data-part": node.kind === "has" ? "has" : "of", class: "rb-relation", "aria-label": "Related rows" });
    }

    whereTools(node, dimKey, line, element) {
      const target = this.model.relation(dimKey, node.relation).dimension;
      if (!node.where) {
        line.append(button("+ where", () => { node.where = { ...emptyGroup(), children: [this.newField(target)] }; this.changed(true); },
          { class: "rb-button rb-add-where", title: `Only ${this.model.relation(dimKey, node.relation).label.toLowerCase()} that match conditions` }));
        return;
      }
      element.append(this.renderGroup(node.where, target, {
        caption: `where the ${this.model.relation(dimKey, node.relation).label.toLowerCase()} match`,
        onRemove: () => { node.where = null; this.changed(true); },
      }));
    }

    hasLine(node, dimKey, line, element) {
      line.append(h("span", { class: "rb-keyword" }, "Has"),
        this.relationSelect(node, dimKey, () => { node.where = null; }));
      if (node.count) {
        line.append(h("span", {}, "numbering"),
          select(this.meta.boundOperators.map((op) => [op, COUNT_OPS[op] || op]), node.count.op, (op) => {
            if ((op === "between") !== (node.count.op === "between")) node.count.value = op === "between" ? [1, 2] : 1;
            node.count.op = op;
            this.changed(true);
          }, { "data-part": "count", class: "rb-count-op", "aria-label": "Count comparison" }),
          this.valueEditor(node.count, "integer", [], node.count.op),
          button("no count", () => { node.count = null; this.changed(true); }, { class: "rb-button rb-link" }));
      } else {
        line.append(button("+ count", () => { node.count = { op: "gte", value: 1 }; this.changed(true); },
          { class: "rb-button rb-add-count", title: "How many related rows, e.g. at least 2" }));
      }
      this.whereTools(node, dimKey, line, element);
    }

    aggLine(node, dimKey, line, element) {
      const fnTypes = this.meta.aggregateTypes;
      const targetFields = () => {
        const target = this.model.dimension(this.model.relation(dimKey, node.relation).dimension);
        return target.fields.filter((f) => node.fn !== "count" && fnTypes[node.fn].includes(f.type));
      };
      const fixField = () => {
        const fields = targetFields();
        if (node.fn === "count") node.field = "";
        else if (!fields.some((f) => f.name === node.field)) node.field = fields.length ? fields[0].name : "";
      };
      line.append(select(this.meta.aggregates.map((fn) => [fn, AGG_LABELS[fn] || fn]), node.fn, (fn) => {
        node.fn = fn;
        fixField();
        node.value = node.op === "between" ? [null, null] : null;
        this.changed(true);
      }, { "data-part": "agg", class: "rb-agg-fn", "aria-label": "Aggregate" }), h("span", {}, "of"),
      this.relationSelect(node, dimKey, () => { node.where = null; fixField(); }));
      let valueType = "integer";
      if (node.fn !== "count") {
        const fields = targetFields();
        const field = fields.find((f) => f.name === node.field);
        const options = fields.map((f) => [f.name, f.label]);
        if (!field) options.unshift([node.field, node.field ? `${node.field} (not usable)` : "— no usable field —"]);
        line.append(select(options, node.field, (name) => { node.field = name; this.changed(true); },
          { "data-part": "of", class: "rb-agg-field", "aria-label": "Field" }));
        valueType = node.fn === "sum" || node.fn === "avg" ? "decimal" : (field ? field.type : "decimal");
      }
      line.append(select(this.meta.boundOperators.map((op) => [op, AGG_OPS[op] || op]), node.op, (op) => {
        if ((op === "between") !== (node.op === "between")) node.value = op === "between" ? [null, null] : null;
        node.op = op;
        this.changed(true);
      }, { "data-part": "op", class: "rb-agg-op", "aria-label": "Comparison" }),
      this.valueEditor(node, valueType, [], node.op));
      this.whereTools(node, dimKey, line, element);
    }

    // A value that no row has, said at its condition, with the suggested value one click away.
    showValueHints(hints, withMessages = true) {
      this.container.querySelectorAll(".rb-value-hint").forEach((node) => node.remove());
      for (const hint of hints) {
        const node = this.visited.find((item) => item.path === hint.path && item.kind === "field");
        const element = this.container.querySelector(`.rb-condition[data-path="${CSS.escape(hint.path)}"]`);
        if (!node || !element || (!withMessages && !hint.suggestion)) continue;
        const use = hint.suggestion ? button(`Use ${hint.suggestion}`, () => {
          node.value = Array.isArray(node.value)
            ? [...new Set(node.value.map((v) => (v === hint.value ? hint.suggestion : v)))]
            : hint.suggestion;
          this.changed(true);
        }, { class: "rb-button rb-use-suggestion" }) : null;
        (element.querySelector(":scope > .rb-errors") || element.querySelector(":scope > .rb-line")).after(h("div", { class: withMessages ? "rb-value-hint" : "rb-value-hint rb-value-fix", role: "status" }, withMessages ? hint.message : null, use ? " " : null, use));
      }
    }

    // -- live count ----------------------------------------------------------------------------

    renderPreview() {
      const result = h("span", { class: "rb-count-result", "aria-live": "polite" });
      const sample = h("div", { class: "rb-sample" });
      const count = button("Count", () => this.count(count, result, sample), { class: "button rb-count", title: "How many match this rule now (nothing is saved)" });
      return h("div", { class: "rb-preview" }, h("div", { class: "rb-line" }, count, result), sample);
    }

    async count(control, result, sample) {
      const token = this.textarea.form.querySelector("[name=csrfmiddlewaretoken]").value;
      control.disabled = true;
      result.textContent = "Counting…";
      sample.replaceChildren();
      try {
        const response = await fetch(this.meta.previewUrl, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": token, Accept: "application/json" },
          body: JSON.stringify({ dimension: this.dim, rule: this.rule() }),
        });
        const data = await response.json().catch(() => ({}));
        if (response.status === 400 && data.errors) {
          this.problems = data.errors;
          this.problemSource = "preview";
          this.render();
          this.showValueHints(data.hints || [], false);  // the problems say the hints; offer the fix
          return;
        }
        if (!response.ok) {
          result.textContent = `Could not count (${response.status}${data.errors ? `: ${data.errors.map((e) => e.message).join("; ")}` : ""}).`;
          return;
        }
        if (this.problems.length) {
          this.problems = [];
          this.render();
          return this.showCount(data);
        }
        this.showCount(data, result, sample);
      } catch (exc) {
        result.textContent = `Could not count: ${exc.message}`;
      } finally {
        control.disabled = false;
      }
    }

    showCount(data, result, sample) {
      if (!result) {
        result = this.container.querySelector(".rb-count-result");
        sample = this.container.querySelector(".rb-sample");
      }
      const label = this.model.dimension(this.dim).label.toLowerCase();
      result.replaceChildren(h("strong", { class: "rb-count-number" }, data.count.toLocaleString("en")),
        ` ${label} match now`, h("span", { class: "rb-hint" }, ` (${data.duration_ms} ms)`));
      this.showValueHints(data.hints || []);
      if (!data.sample || !data.sample.length) return;
      const columns = Object.keys(data.sample[0]);
      columns.sort((a, b) => (a === "id" ? -1 : b === "id" ? 1 : 0));
      sample.replaceChildren(h("p", { class: "rb-hint" }, `A random sample of ${data.sample.length}:`),
        h("table", { class: "rb-sample-table" },
          h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.replace(/_/g, " "))))),
          h("tbody", {}, data.sample.map((row) => h("tr", {}, columns.map((c) => h("td", {}, row[c] === null ? "—" : String(row[c]))))))));
    }
  }

  function start() {
    const container = document.querySelector(".rule-builder");
    const metaScript = document.getElementById("audience-builder-meta");
    if (!container || !metaScript) return;
    const textarea = document.getElementById(container.dataset.ruleInput);
    if (!textarea) return;
    const problemsScript = document.getElementById("audience-rule-problems");
    const problems = problemsScript ? JSON.parse(problemsScript.textContent) : [];
    window.audienceRuleBuilder = new Builder(container, textarea, JSON.parse(metaScript.textContent), problems);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
