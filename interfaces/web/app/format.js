// Showing values as the API gives them: decimals stay strings (no float arithmetic on money).
import { html } from "./ui.js";

export const dash = (value) => (value === null || value === undefined || value === "" ? "–" : String(value));

export function time(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

/** A decimal string, coloured by its sign (read from the text, not computed). */
export function signed(value) {
  if (value === null || value === undefined) return "–";
  const text = String(value);
  const sign = text.startsWith("-") ? "neg" : /^[0.]+$/.test(text) ? "" : "pos";
  return html`<span class=${`num ${sign}`}>${text}</span>`;
}

export function ErrorLine({ error }) {
  return error ? html`<p class="error" role="alert">${error}</p>` : null;
}
