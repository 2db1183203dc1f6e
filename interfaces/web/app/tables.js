// The tables the bot page shows: orders, fills, positions, risk decisions, metrics.
import { html } from "./ui.js";
import { dash, signed, time } from "./format.js";

export function Table({ columns, rows, testid, rowKey, empty }) {
  if (!rows.length) return html`<p class="muted" data-testid=${testid}>${empty || "Nothing yet."}</p>`;
  return html`<table class="grid" data-testid=${testid}>
    <thead><tr>${columns.map(([label]) => html`<th>${label}</th>`)}</tr></thead>
    <tbody>
      ${rows.map(
        (row) => html`<tr key=${rowKey(row)} data-key=${rowKey(row)}>${columns.map(([, cell]) => html`<td>${cell(row)}</td>`)}</tr>`,
      )}
    </tbody>
  </table>`;
}

export const ORDER_COLUMNS = [
  ["Placed", (o) => time(o.placed_at)],
  ["Client order id", (o) => o.client_order_id],
  ["Symbol", (o) => o.symbol],
  ["Side", (o) => html`<span class=${`side-${o.side}`}>${o.side}</span>`],
  ["Type", (o) => o.order_type],
  ["Quantity", (o) => o.quantity],
  ["Price", (o) => dash(o.price)],
  ["Status", (o) => html`<span class=${`order-${o.status}`} data-field="status">${o.status}</span>`],
  ["Filled", (o) => o.filled_quantity],
  ["Avg fill price", (o) => dash(o.average_fill_price)],
  ["Fees (quote)", (o) => dash(o.fees_quote)],
  ["Reason", (o) => dash(o.reason)],
];

export const FILL_COLUMNS = [
  ["At", (f) => time(f.at)],
  ["Trade id", (f) => f.trade_id],
  ["Symbol", (f) => f.symbol],
  ["Side", (f) => html`<span class=${`side-${f.side}`}>${f.side}</span>`],
  ["Quantity", (f) => f.quantity],
  ["Price", (f) => f.price],
  ["Fee", (f) => `${f.fee} ${f.fee_currency}`],
];

export const POSITION_COLUMNS = [
  ["Symbol", (p) => p.symbol],
  ["Quantity", (p) => signed(p.quantity)],
  ["Average price", (p) => p.average_price],
  ["Mark", (p) => html`<span data-field="mark">${dash(p.mark_price)}</span> <small class="muted">${time(p.marked_at)}</small>`],
  ["Unrealized PnL", (p) => signed(p.unrealized_pnl)],
  ["Realized PnL", (p) => signed(p.realized_pnl)],
  ["Fees paid", (p) => p.fees_paid],
];

export const DECISION_COLUMNS = [
  ["At", (d) => time(d.at)],
  ["Decision", (d) => html`<span class=${`decision-${d.decision}`}>${d.decision}</span>`],
  ["Reason codes", (d) => (d.reason_codes.length ? html`<code>${d.reason_codes.join(", ")}</code>` : "–")],
  ["Client order id", (d) => d.client_order_id],
  ["Symbol", (d) => d.symbol],
  ["Side", (d) => d.side],
  ["Type", (d) => d.order_type],
  ["Quantity", (d) => d.quantity],
  ["Price", (d) => dash(d.price)],
  ["Reference", (d) => dash(d.reference_price)],
];

const METRIC_LABELS = {
  final_equity: "Final equity",
  total_return: "Total return",
  cagr: "CAGR",
  sharpe: "Sharpe",
  sortino: "Sortino",
  calmar: "Calmar",
  max_drawdown: "Max drawdown",
  max_drawdown_duration: "Max drawdown duration (s)",
  trades: "Round trips",
  win_rate: "Win rate",
  profit_factor: "Profit factor",
  expectancy: "Expectancy",
  exposure: "Exposure",
  fees: "Fees",
  denials: "Denied orders",
};

export function Metrics({ metrics, testid }) {
  const known = Object.keys(METRIC_LABELS).filter((name) => name in metrics);
  const others = Object.keys(metrics).filter((name) => !(name in METRIC_LABELS));
  return html`<dl class="metrics" data-testid=${testid}>
    ${[...known, ...others].map((name) => [name, metrics[name]]).map(
      ([name, value]) => html`<div><dt>${METRIC_LABELS[name] || name}</dt><dd>${dash(value)}</dd></div>`,
    )}
  </dl>`;
}
