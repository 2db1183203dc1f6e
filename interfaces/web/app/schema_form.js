// A form for a strategy's parameters, generated from its JSON schema (GET /v1/strategies):
// one field per property, its kind read from the schema; decimals are typed and sent as text.
import { html } from "./ui.js";

const DECIMAL_PATTERN = /^\^\[\+-\]\?/; // the decimal-string pattern the API's schemas use

function resolve(schema, root) {
  if (schema && schema.$ref && schema.$ref.startsWith("#/$defs/")) return root.$defs[schema.$ref.slice(8)];
  return schema;
}

function branches(schema, root) {
  const resolved = resolve(schema, root);
  return resolved.anyOf ? resolved.anyOf.flatMap((branch) => branches(branch, root)) : [resolved];
}

/** A property's kind (decimal, integer, number, boolean, enum, text, list, json) and whether null is allowed. */
export function kindOf(schema, root) {
  const all = branches(schema, root);
  const nullable = all.some((b) => b.type === "null");
  const rest = all.filter((b) => b.type !== "null");
  const types = new Set(rest.map((b) => b.type));
  let kind = "json";
  if (rest.some((b) => b.type === "string" && b.pattern && DECIMAL_PATTERN.test(b.pattern))) kind = "decimal";
  else if (types.size === 1 && rest[0].enum) kind = "enum";
  else if (types.size === 1) kind = { integer: "integer", number: "number", boolean: "boolean", string: "text", array: "list" }[rest[0].type] || "json";
  return { kind, nullable, options: kind === "enum" ? rest[0].enum : null };
}

function isFreeForm(schema) {
  return schema.additionalProperties === true && !Object.keys(schema.properties || {}).length;
}

function initial(property, kind) {
  const value = property.default;
  if (value === undefined || value === null) return "";
  if (kind === "json") return JSON.stringify(value);
  if (kind === "list") return value.join(", ");
  return String(value);
}

function Field({ name, property, root, required }) {
  const { kind, options } = kindOf(property, root);
  const label = `${property.title || name}${required ? " *" : ""}`;
  const id = `param-${name}`;
  const common = { id, name: `param.${name}`, "data-kind": kind, required: required && kind !== "boolean" };
  let input;
  if (kind === "enum") {
    input = html`<select ...${common}>
      ${!required && html`<option value="">(default)</option>`}
      ${options.map((o) => html`<option value=${o} selected=${property.default === o}>${o}</option>`)}
    </select>`;
  } else if (kind === "boolean") {
    input = html`<input type="checkbox" ...${common} checked=${property.default === true} />`;
  } else if (kind === "integer") {
    input = html`<input type="number" step="1" min=${property.minimum} max=${property.maximum} ...${common} value=${initial(property, kind)} />`;
  } else if (kind === "json") {
    input = html`<textarea rows="2" placeholder='{"BTC/USDT": "0.5"}' ...${common}>${initial(property, kind)}</textarea>`;
  } else {
    input = html`<input inputmode=${kind === "decimal" || kind === "number" ? "decimal" : undefined} ...${common}
      value=${initial(property, kind)} placeholder=${kind === "list" ? "comma-separated" : ""} />`;
  }
  return html`<label for=${id} title=${property.description || ""}>
    <span>${label}</span>${input}<small class="muted">${property.description || ""}</small>
  </label>`;
}

/** The fields of ``schema``'s parameters (a JSON text area for a free-form object). */
export function ParamFields({ schema }) {
  if (isFreeForm(schema)) {
    return html`<label for="param-json"><span>Parameters (JSON object)</span>
      <textarea id="param-json" name="param-json" rows="3">{}</textarea></label>`;
  }
  const required = new Set(schema.required || []);
  const names = Object.keys(schema.properties || {});
  if (!names.length) return html`<p class="muted">This strategy takes no parameters.</p>`;
  return names.map(
    (name) => html`<${Field} key=${name} name=${name} property=${schema.properties[name]} root=${schema} required=${required.has(name)} />`,
  );
}

function converted(name, kind, text, checked) {
  if (kind === "boolean") return checked;
  if (kind === "integer") {
    if (!/^-?\d+$/.test(text)) throw new Error(`${name}: a whole number, please`);
    return Number.parseInt(text, 10);
  }
  if (kind === "number") return Number(text);
  if (kind === "list") return text.split(",").map((item) => item.trim()).filter(Boolean);
  if (kind === "json") {
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${name}: not valid JSON`);
    }
  }
  return text; // decimals, enums and text stay strings
}

/** The parameters filled in ``form`` (empty fields left out, so the strategy's defaults apply). */
export function paramsFrom(form) {
  const free = form.elements.namedItem("param-json");
  if (free) return converted("parameters", "json", free.value || "{}");
  const params = {};
  for (const element of form.elements) {
    if (!element.name || !element.name.startsWith("param.")) continue;
    const name = element.name.slice(6);
    const kind = element.dataset.kind;
    if (kind !== "boolean" && element.value.trim() === "") continue;
    params[name] = converted(name, kind, element.value.trim(), element.checked);
  }
  return params;
}
