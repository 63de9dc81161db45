// Renders /api/openapi.json as a readable reference. Same-origin only: no CDN, no inline
// script (the page's CSP forbids both). Every string from the document goes in as text.

const root = document.getElementById("api-docs");
const body = document.getElementById("api-docs-body");
const status = document.getElementById("api-docs-status");
const filter = document.getElementById("api-docs-filter");
const METHODS = ["get", "post", "put", "patch", "delete"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function resolve(spec, schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { name, schema: spec.components.schemas[name] || {} };
  }
  return { name: null, schema: schema || {} };
}

function typeLabel(spec, schema) {
  const { name, schema: s } = resolve(spec, schema);
  if (name) return name;
  if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map((part) => typeLabel(spec, part)).join(" | ");
  if (s.type === "array") return `${typeLabel(spec, s.items)}[]`;
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  let label = s.type || "any";
  if (s.format) label += ` (${s.format})`;
  return label;
}

function constraints(schema) {
  const parts = [];
  for (const key of ["minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "pattern"]) {
    if (schema[key] !== undefined) parts.push(`${key} ${schema[key]}`);
  }
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(", ");
}

// A schema as a nested list of fields; objects referenced by name expand once per branch.
function schemaTree(spec, schema, seen = new Set()) {
  const { name, schema: s } = resolve(spec, schema);
  if (name && seen.has(name)) return el("span", { class: "muted" }, `${name} (see above)`);
  const nextSeen = new Set(seen);
  if (name) nextSeen.add(name);
  const variants = s.anyOf || s.oneOf;
  if (variants) {
    const objects = variants.filter((v) => resolve(spec, v).schema.properties);
    if (objects.length === 1) return schemaTree(spec, objects[0], nextSeen);
  }
  if (s.type === "array" && s.items && resolve(spec, s.items).schema.properties) {
    return el("div", {}, el("span", { class: "muted" }, "array of"), schemaTree(spec, s.items, nextSeen));
  }
  if (!s.properties) {
    return el("code", {}, typeLabel(spec, schema));
  }
  const required = new Set(s.required || []);
  const list = el("ul", { class: "api-fields" });
  for (const [field, prop] of Object.entries(s.properties)) {
    const inner = resolve(spec, prop).schema;
    const nested = inner.properties || (inner.type === "array" && inner.items && resolve(spec, inner.items).schema.properties);
    list.append(
      el(
        "li",
        {},
        el("code", { class: "api-field-name" }, field),
        " ",
        el("span", { class: "api-field-type" }, typeLabel(spec, prop)),
        required.has(field) ? el("span", { class: "api-required" }, " required") : null,
        constraints(inner) ? el("span", { class: "muted" }, ` — ${constraints(inner)}`) : null,
        inner.description || prop.description ? el("div", { class: "muted" }, inner.description || prop.description) : null,
        nested ? schemaTree(spec, prop, nextSeen) : null,
      ),
    );
  }
  return list;
}

function parametersTable(spec, params) {
  const rows = params.map((p) =>
    el(
      "tr",
      {},
      el("td", {}, el("code", {}, p.name)),
      el("td", {}, p.in),
      el("td", {}, typeLabel(spec, p.schema)),
      el("td", {}, p.required ? "yes" : "no"),
      el("td", { class: "muted" }, constraints(resolve(spec, p.schema).schema)),
    ),
  );
  return el(
    "table",
    { class: "api-params" },
    el("thead", {}, el("tr", {}, ["name", "in", "type", "required", "constraints"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows),
  );
}

function operation(spec, path, method, op) {
  const secured = op.security && op.security.length > 0;
  const details = el(
    "details",
    { class: "api-op", "data-search": `${method} ${path} ${op.summary || ""} ${(op.tags || []).join(" ")}`.toLowerCase() },
    el(
      "summary",
      {},
      el("span", { class: `api-method api-${method}` }, method.toUpperCase()),
      el("code", { class: "api-path" }, path),
      el("span", { class: "api-summary" }, op.summary || ""),
      secured ? el("span", { class: "api-lock", title: "needs an access token" }, "token") : null,
    ),
  );
  if (op.parameters && op.parameters.length) details.append(el("h4", {}, "Parameters"), parametersTable(spec, op.parameters));
  const requestBody = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  if (requestBody) details.append(el("h4", {}, "Request body (application/json)"), schemaTree(spec, requestBody.schema));
  details.append(el("h4", {}, "Responses"));
  const responses = el("ul", { class: "api-responses" });
  for (const [code, response] of Object.entries(op.responses || {})) {
    const [mediaType, media] = Object.entries(response.content || {})[0] || [];
    const item = el(
      "li",
      {},
      el("strong", { class: `api-status api-status-${code[0]}` }, code),
      " ",
      response.description || "",
      mediaType ? el("span", { class: "muted" }, ` — ${mediaType}`) : null,
      response.headers ? el("span", { class: "muted" }, ` — headers: ${Object.keys(response.headers).join(", ")}`) : null,
    );
    if (media && media.schema && mediaType === "application/json") item.append(schemaTree(spec, media.schema));
    responses.append(item);
  }
  details.append(responses);
  return details;
}

function render(spec) {
  const byTag = new Map();
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      if (!ops[method]) continue;
      const tag = (ops[method].tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(spec, path, method, ops[method]));
    }
  }
  body.replaceChildren();
  for (const [tag, ops] of [...byTag.entries()].sort()) {
    body.append(el("section", { class: "api-tag card", "data-tag": tag }, el("h2", {}, tag.replace(/_/g, " ")), ops));
  }
  const count = [...byTag.values()].reduce((n, ops) => n + ops.length, 0);
  status.textContent = `${spec.info.title} ${spec.info.version}: ${count} operations. ${spec.info.description || ""}`;
}

function applyFilter() {
  const needle = filter.value.trim().toLowerCase();
  for (const section of body.querySelectorAll(".api-tag")) {
    let visible = 0;
    for (const op of section.querySelectorAll(".api-op")) {
      const match = !needle || op.dataset.search.includes(needle);
      op.hidden = !match;
      if (match) visible += 1;
    }
    section.hidden = visible === 0;
  }
}

async function main() {
  try {
    const response = await fetch(root.dataset.spec, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    filter.addEventListener("input", applyFilter);
    if (location.hash) {
      const wanted = decodeURIComponent(location.hash.slice(1)).toLowerCase();
      filter.value = wanted;
      applyFilter();
    }
  } catch (err) {
    status.textContent = `Could not load the API document: ${err.message}`;
  }
}

main();
