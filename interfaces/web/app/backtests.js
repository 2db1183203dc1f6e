// Backtests: start one (a strategy and its parameters on the candles of one market), watch its
// progress, and read its report: equity and drawdown, metrics, and the fills on the price chart.
import { html, useEffect, useState } from "./ui.js";
import { get, post, query } from "./api.js";
import { ErrorLine, dash, time } from "./format.js";
import { CandleChart, LineChart, seconds } from "./charts.js";
import { ParamFields, paramsFrom } from "./schema_form.js";
import { Metrics, Table } from "./tables.js";

const POLL_MS = 1000;
const RUNNING = new Set(["queued", "running"]);

function isoOf(local) {
  return local ? new Date(local).toISOString() : "";
}

/** A moment as a datetime-local input shows it (the browser's time zone, to the minute). */
function localInput(date) {
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return shifted.toISOString().slice(0, 16);
}

function NewBacktest() {
  const [strategies, setStrategies] = useState([]);
  const [chosen, setChosen] = useState("sma_cross");
  const [error, setError] = useState(null);
  useEffect(() => {
    get("/v1/strategies").then(setStrategies, (failed) => setError(failed.message));
  }, []);
  const strategy = strategies.find((s) => s.name === chosen);

  const submit = (event) => {
    event.preventDefault();
    const form = event.target.elements;
    let body;
    try {
      body = {
        strategy: chosen,
        params: paramsFrom(event.target),
        symbol: form.namedItem("symbol").value.trim(),
        start: isoOf(form.namedItem("start").value),
        end: isoOf(form.namedItem("end").value),
        cash: form.namedItem("cash").value.trim(),
        fee_rate: form.namedItem("fee_rate").value.trim(),
        slippage_bps: form.namedItem("slippage_bps").value.trim(),
      };
    } catch (invalid) {
      setError(invalid.message);
      return;
    }
    setError(null);
    post("/v1/backtests", body).then(
      (accepted) => {
        location.hash = `#/backtests/${accepted.backtest_id}`;
      },
      (failed) => setError(failed.message),
    );
  };

  return html`<form class="panel form" data-testid="new-backtest" onSubmit=${submit}>
    <h2>New backtest</h2>
    <div class="fields">
      <label><span>Strategy *</span>
        <select value=${chosen} onChange=${(e) => setChosen(e.target.value)}>
          ${strategies.map((s) => html`<option value=${s.name}>${s.name}</option>`)}
        </select>
      </label>
      <label><span>Symbol *</span><input name="symbol" value="BTC/USDT" required /></label>
      <label><span>From (your time) *</span><input name="start" type="datetime-local" required value=${localInput(new Date(Date.now() - 2 * 3600000))} /></label>
      <label><span>To (your time) *</span><input name="end" type="datetime-local" required value=${localInput(new Date())} /></label>
      <label><span>Cash</span><input name="cash" value="10000" inputmode="decimal" /></label>
      <label><span>Fee rate</span><input name="fee_rate" value="0.001" inputmode="decimal" /></label>
      <label><span>Slippage (bps)</span><input name="slippage_bps" value="0" inputmode="decimal" /></label>
    </div>
    <h3>Parameters</h3>
    <div class="fields" key=${chosen}>${strategy && html`<${ParamFields} schema=${strategy.params_schema} />`}</div>
    <${ErrorLine} error=${error} />
    <button>Start backtest</button>
  </form>`;
}

function Progress({ progress }) {
  const { done_candles: done, total_candles: total } = progress;
  return html`<span data-testid="progress"><progress max=${total || 1} value=${done}></progress> ${done} / ${total} candles</span>`;
}

export function BacktestsPage() {
  const [list, setList] = useState({ data: null, error: null });
  useEffect(() => {
    let timer;
    const load = () =>
      get(`/v1/backtests${query({ limit: 100 })}`).then(
        (data) => {
          setList({ data, error: null });
          if (data.some((b) => RUNNING.has(b.status))) timer = setTimeout(load, POLL_MS);
        },
        (failed) => setList({ data: null, error: failed.message }),
      );
    load();
    return () => clearTimeout(timer);
  }, []);
  const columns = [
    ["Created", (b) => html`<a href=${`#/backtests/${b.backtest_id}`}>${time(b.created_at)}</a>`],
    ["Strategy", (b) => b.request.strategy],
    ["Symbol", (b) => b.request.symbol],
    ["Range", (b) => `${time(b.request.start)} → ${time(b.request.end)}`],
    ["Status", (b) => b.status],
    ["Progress", (b) => html`<${Progress} progress=${b.progress} />`],
    ["Error", (b) => dash(b.error)],
  ];
  return html`<h1>Backtests</h1>
    <${NewBacktest} />
    <section class="panel">
      <h2>Backtests</h2>
      <${ErrorLine} error=${list.error} />
      ${list.data && html`<${Table} testid="backtests" columns=${columns} rows=${list.data} rowKey=${(b) => b.backtest_id} empty="No backtest yet." />`}
    </section>`;
}

/** The drawdown at each point of the equity curve, in percent of the peak so far (for the chart only). */
function drawdowns(curve) {
  let peak = -Infinity;
  return curve.map(([at, equity]) => {
    const value = Number(equity);
    peak = Math.max(peak, value);
    return { time: seconds(at), value: peak > 0 ? String((100 * (value - peak)) / peak) : "0" };
  });
}

function Report({ backtest }) {
  const report = backtest.report;
  const [candles, setCandles] = useState(null);
  useEffect(() => {
    const { symbol, start, end } = backtest.request;
    get(`/v1/candles${query({ symbol, start, end, limit: 500 })}`).then(setCandles, () => setCandles([]));
  }, [backtest.backtest_id]);
  const equity = (report.equity_curve || []).map(([at, value]) => ({ time: seconds(at), value }));
  const markers = report.fills.map((f) => ({
    time: Math.floor(seconds(f.time) / 60) * 60,
    side: f.side,
    text: `${f.side} ${f.quantity} @ ${f.price}`,
  }));
  const tradeColumns = [
    ["Side", (t) => t.side],
    ["Entry", (t) => `${time(t.entry_time)} @ ${t.entry_price}`],
    ["Exit", (t) => `${time(t.exit_time)} @ ${t.exit_price}`],
    ["Quantity", (t) => t.quantity],
    ["Fees", (t) => t.fees],
    ["PnL", (t) => t.pnl],
  ];
  return html`
    <section class="panel"><h2>Metrics</h2><${Metrics} testid="backtest-metrics" metrics=${report.metrics} /></section>
    <section class="panel"><h2>Equity</h2><${LineChart} testid="equity-chart" lines=${[{ name: "equity", points: equity }]} /></section>
    <section class="panel"><h2>Drawdown</h2>
      <${LineChart} testid="drawdown-chart" lines=${[{ name: "drawdown %", points: drawdowns(report.equity_curve || []), priceFormat: { type: "price", precision: 3, minMove: 0.001 } }]} /></section>
    <section class="panel"><h2>Fills on the price chart</h2>
      ${candles && candles.length
        ? html`<${CandleChart} testid="fills-chart" candles=${candles} markers=${markers} />`
        : html`<p class="muted">No candles to show.</p>`}
    </section>
    <section class="panel"><h2>Round trips</h2>
      <${Table} testid="trades" columns=${tradeColumns} rows=${report.trades} rowKey=${(t) => `${t.entry_time}-${t.exit_time}`} /></section>
  `;
}

export function BacktestPage({ backtestId }) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let timer;
    const load = () =>
      get(`/v1/backtests/${backtestId}`).then(
        (data) => {
          setState({ data, error: null });
          if (RUNNING.has(data.status)) timer = setTimeout(load, POLL_MS);
        },
        (failed) => setState({ data: null, error: failed.message }),
      );
    load();
    return () => clearTimeout(timer);
  }, [backtestId]);
  const b = state.data;
  return html`<p><a href="#/backtests">← Backtests</a></p>
    <${ErrorLine} error=${state.error} />
    ${b &&
    html`<h1>Backtest of ${b.request.strategy} on ${b.request.symbol}</h1>
      <section class="panel summary">
        <span>Status <strong data-testid="backtest-status">${b.status}</strong></span>
        <${Progress} progress=${b.progress} />
        <span>${time(b.request.start)} → ${time(b.request.end)}</span>
        <span>Parameters <code>${JSON.stringify(b.request.params)}</code></span>
        ${b.error && html`<p class="error">${b.error}</p>`}
      </section>
      ${b.report && html`<${Report} backtest=${b} />`}`}`;
}
