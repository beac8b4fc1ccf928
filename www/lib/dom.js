// Building DOM nodes without innerHTML: text is always text, never markup.

/**
 * `h("a", { href: "#/", class: "card" }, "text", child)`. Attributes set as attributes;
 * `on*` functions become listeners; `null`/`false` children and attributes are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const node = tag === "svg" || svgChild(tag) ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
const SVG_TAGS = new Set(["path", "line", "text", "g", "title", "desc", "circle", "rect", "linearGradient", "stop", "defs"]);
const svgChild = (tag) => SVG_TAGS.has(tag);

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
}

/** `document.getElementById`. */
export const $ = (id) => document.getElementById(id);
