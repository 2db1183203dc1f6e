// One bot: its state and commands, positions at live marks, realized PnL over time, performance,
// and its orders, fills and risk decisions, all kept current from the live feed.
import { html, useState } from "./ui.js";
import { get, newest, query } from "./api.js";
import { useLive } from "./live.js";
import { BotActions } from "./actions.js";
import { ErrorLine, signed } from "./format.js";
import { LineChart, seconds } from "./charts.js";
import { DECISION_COLUMNS, FILL_COLUMNS, Metrics, ORDER_COLUMNS, POSITION_COLUMNS, Table } from "./tables.js";

const ofBot = (botId) => (message) => message.type === "event" && message.bot_id === botId;

function Positions({ bot }) {
  const events = ofBot(bot.bot_id);
  const positions = useLive(
    (min) => get(`/v1/positions${query({ bot_id: bot.bot_id, min_position: min })}`),
    (m) => events(m) || (m.type === "price" && bot.allowed_symbols.includes(m.symbol)),
    [bot.bot_id],
  );
  return html`<section class="panel">
    <h2>Positions</h2>
    <${ErrorLine} error=${positions.error} />
    ${positions.data &&
    html`<${Table} testid="positions" columns=${POSITION_COLUMNS} rows=${positions.data} rowKey=${(p) => p.symbol} empty="No position." />`}
  </section>`;
}

function PnlChart({ bot }) {
  const isFill = (m) => ofBot(bot.bot_id)(m) && m.event.startsWith("Position.");
  const series = useLive(
    (min) =>
      Promise.all(
        bot.allowed_symbols.map((symbol) =>
          get(`/v1/pnl${query({ bot_id: bot.bot_id, symbol, bucket: "1m", min_position: min })}`).then((points) => ({
            name: `${symbol} realized PnL`,
            points: points.map((p) => ({ time: seconds(p.bucket), value: p.realized_pnl })),
          })),
        ),
      ),
    isFill,
    [bot.bot_id],
  );
  const lines = (series.data || []).filter((line) => line.points.length);
  return html`<section class="panel">
    <h2>Realized PnL by minute</h2>
    <${ErrorLine} error=${series.error} />
    ${lines.length ? html`<${LineChart} testid="pnl-chart" lines=${lines} />` : html`<p class="muted">No fills yet.</p>`}
  </section>`;
}

function Performance({ bot }) {
  const [asked, setAsked] = useState({ capital: "10000", step: "1m" });
  const performance = useLive(
    () => get(`/v1/bots/${bot.bot_id}/performance${query(asked)}`),
    (m) => ofBot(bot.bot_id)(m) && m.event === "Order.Filled",
    [bot.bot_id, asked.capital, asked.step],
  );
  const submit = (event) => {
    event.preventDefault();
    const form = event.target.elements;
    setAsked({ capital: form.namedItem("capital").value.trim(), step: form.namedItem("step").value });
  };
  return html`<section class="panel">
    <h2>Performance</h2>
    <form class="inline" onSubmit=${submit}>
      <label>Starting capital <input name="capital" value=${asked.capital} inputmode="decimal" required /></label>
      <label>Step <select name="step">${["1m", "1h", "1d"].map((s) => html`<option selected=${s === asked.step}>${s}</option>`)}</select></label>
      <button>Measure</button>
    </form>
    <${ErrorLine} error=${performance.error} />
    ${performance.data &&
    html`<p class="muted">
        ${`${performance.data.points} points from ${new Date(performance.data.start).toLocaleString()}, valued at `}
        ${`${performance.data.valuation}; ${performance.data.counts.fills} fills, ${performance.data.counts.trades} round trips`}
      </p>
      <${Metrics} testid="performance" metrics=${performance.data.metrics} />`}
  </section>`;
}

function Listing({ bot, title, testid, load, columns, rowKey, wants }) {
  const rows = useLive(load, wants, [bot.bot_id]);
  return html`<section class="panel">
    <h2>${title}</h2>
    <${ErrorLine} error=${rows.error} />
    ${rows.data && html`<${Table} testid=${testid} columns=${columns} rows=${rows.data} rowKey=${rowKey} />`}
  </section>`;
}

export function BotPage({ botId }) {
  const bot = useLive((min) => get(`/v1/bots/${botId}${query({ min_position: min })}`), ofBot(botId), [botId]);
  const events = ofBot(botId);
  const eventOf = (prefixes) => (m) => events(m) && prefixes.some((p) => m.event.startsWith(p));
  if (!bot.data) return html`<${ErrorLine} error=${bot.error} />${!bot.error && html`<p class="muted">Loading…</p>`}`;
  const b = bot.data;
  return html`
    <p><a href="#/bots">← Bots</a></p>
    <h1 data-testid="bot-name">${b.name}</h1>
    <section class="panel summary" data-testid="bot-summary">
      <span>Status <strong class=${`status status-${b.status}`} data-field="status">${b.status}</strong></span>
      <span data-field="kill-switch">Kill switch ${b.kill_switch ? html`<strong class="tripped">tripped</strong> (${b.kill_switch_reason})` : html`<strong>off</strong>`}</span>
      <span>Strategy <strong>${b.strategy}</strong> <code>${JSON.stringify(b.params)}</code></span>
      <span>Symbols <strong>${b.allowed_symbols.join(", ")}</strong> on <strong>${b.exchange_account}</strong></span>
      <span>Realized PnL ${signed(b.realized_pnl)}</span>
      <${BotActions} bot=${b} />
      <${ErrorLine} error=${bot.error} />
    </section>
    <${Positions} bot=${b} />
    <${PnlChart} bot=${b} />
    <${Performance} bot=${b} />
    <${Listing} bot=${b} title="Orders" testid="orders" columns=${ORDER_COLUMNS} rowKey=${(o) => o.order_id}
      load=${(min) => newest("/v1/orders", { bot_id: botId, min_position: min })} wants=${eventOf(["Order.", "Bot.Order"])} />
    <${Listing} bot=${b} title="Fills" testid="fills" columns=${FILL_COLUMNS} rowKey=${(f) => f.trade_id}
      load=${(min) => newest("/v1/fills", { bot_id: botId, min_position: min })} wants=${eventOf(["Order.Filled", "Order.PartiallyFilled"])} />
    <${Listing} bot=${b} title="Risk decisions" testid="risk-decisions" columns=${DECISION_COLUMNS} rowKey=${(d) => d.decision_id}
      load=${(min) => newest("/v1/risk-decisions", { bot_id: botId, min_position: min })} wants=${eventOf(["Bot.Order"])} />
  `;
}
