// Creating a bot: its name, markets, account and risk limits, and its strategy's parameters in a
// form generated from the strategy's schema.
import { html, useEffect, useState } from "./ui.js";
import { get, post } from "./api.js";
import { ErrorLine } from "./format.js";
import { ParamFields, paramsFrom } from "./schema_form.js";

// the risk limits every bot has, with a starting value (decimals as text)
export const LIMITS = [
  ["max_order_notional", "Max order notional", "15000"],
  ["max_position_notional", "Max position notional", "50000"],
  ["max_open_orders", "Max open orders", "10"],
  ["daily_loss_limit", "Daily loss limit", "2000"],
  ["price_band_pct", "Price band (fraction)", "0.05"],
  ["max_orders_per_minute", "Max orders per minute", "60"],
  ["stop_loss_fraction", "Stop loss (fraction, optional)", ""],
  ["take_profit_fraction", "Take profit (fraction, optional)", ""],
];
const WHOLE = new Set(["max_open_orders", "max_orders_per_minute"]);

export function LimitFields() {
  return LIMITS.map(
    ([name, label, value]) =>
      html`<label key=${name}><span>${label}</span><input name=${`limit.${name}`} value=${value} inputmode="decimal" /></label>`,
  );
}

/** The risk limits filled in ``form``: whole numbers as numbers, decimals as strings, blanks left out. */
export function limitsFrom(form) {
  const limits = {};
  for (const [name, label] of LIMITS) {
    const text = form.elements.namedItem(`limit.${name}`).value.trim();
    if (text === "") continue;
    if (WHOLE.has(name) && !/^\d+$/.test(text)) throw new Error(`${label}: a whole number, please`);
    limits[name] = WHOLE.has(name) ? Number.parseInt(text, 10) : text;
  }
  return limits;
}

export function CreateBot({ onCreated }) {
  const [strategies, setStrategies] = useState([]);
  const [chosen, setChosen] = useState("manual");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    get("/v1/strategies").then(setStrategies, (failed) => setError(failed.message));
  }, []);
  const strategy = strategies.find((s) => s.name === chosen);

  const submit = (event) => {
    event.preventDefault();
    const form = event.target;
    setError(null);
    let body;
    try {
      body = {
        name: form.elements.namedItem("name").value.trim(),
        strategy: chosen,
        allowed_symbols: form.elements.namedItem("symbols").value.split(",").map((s) => s.trim()).filter(Boolean),
        exchange_account: form.elements.namedItem("account").value.trim(),
        limits: limitsFrom(form),
        params: paramsFrom(form),
      };
    } catch (invalid) {
      setError(invalid.message);
      return;
    }
    setBusy(true);
    post("/v1/bots", body)
      .then((answer) => onCreated(answer))
      .catch((failed) => setError(failed.message))
      .finally(() => setBusy(false));
  };

  return html`
    <form class="panel form" data-testid="create-bot" onSubmit=${submit}>
      <h2>New bot</h2>
      <div class="fields">
        <label><span>Name *</span><input name="name" required maxlength="100" /></label>
        <label><span>Strategy *</span>
          <select name="strategy" value=${chosen} onChange=${(e) => setChosen(e.target.value)}>
            ${strategies.map((s) => html`<option value=${s.name}>${s.name}</option>`)}
          </select>
        </label>
        <label><span>Symbols *</span><input name="symbols" value="BTC/USDT" required placeholder="BTC/USDT, ETH/USDT" /></label>
        <label><span>Exchange account *</span><input name="account" value="paper" required /></label>
      </div>
      ${strategy && html`<p class="muted">${strategy.description}</p>`}
      <h3>Parameters</h3>
      <div class="fields" key=${chosen}>${strategy && html`<${ParamFields} schema=${strategy.params_schema} />`}</div>
      <h3>Risk limits</h3>
      <div class="fields"><${LimitFields} /></div>
      <${ErrorLine} error=${error} />
      <button disabled=${busy}>Create bot</button>
    </form>
  `;
}
