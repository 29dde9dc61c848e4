// The one way the dashboard writes markup. Every value from the API is text: `html` escapes
// each interpolated value unless it is itself markup made by `html` (or an array of such), and
// `put` refuses anything else — so a strategy's explanation, an audit reason or a run name can
// never become a tag, whichever view draws it. Loaded before app.js and views.js.
"use strict";

class Markup {
  constructor(text) { this.text = text; }
  toString() { return this.text; }
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };
const esc = (value) => String(value ?? "").replace(/[&<>"'`]/g, (c) => ESCAPES[c]);

function piece(value) {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  return esc(value);
}

// html`<td>${value}</td>`: markup whose holes are escaped text (or nested markup).
function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => { out += piece(value) + strings[i + 1]; });
  return new Markup(out);
}

function put(element, markup) {
  if (!(markup instanceof Markup)) throw new TypeError("put() takes markup made by html``");
  element.innerHTML = markup.text;
}

// The latest decision of a bot (Overview's Strategy panel and AI Insights draw the same one).
// `chart(attributions)` draws a PPO decision's attributions where a view wants bars.
function decisionHtml(decision, chart = null) {
  if (!decision) return html``;
  const explanation = decision.explanation || {};
  const head = html`<div data-decision>last decision: ${decision.side} (action ${Number(decision.action).toFixed(3)}) at ${String(decision.time).slice(5, 16).replace("T", " ")}</div>`;
  if (explanation.attributions) {
    const stats = html`<div>action mean ${Number(explanation.action_mean).toFixed(3)}, std ${Number(explanation.action_std).toFixed(3)}, confidence ${Number(explanation.confidence).toFixed(2)}</div>`;
    const top = chart ? chart(explanation.attributions)
      : html`<div>top features: ${Object.entries(explanation.attributions).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(", ")}</div>`;
    return html`${head}${stats}${top}`;
  }
  return html`${head}<pre data-explanation>${JSON.stringify(explanation, null, 1)}</pre>`;
}
