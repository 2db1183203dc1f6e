// Signals: the messages a bot received (from the API or a linked Telegram channel) and what became
// of each: the plan read from it or the reasons it was refused, and the orders it became.
import { html, useEffect, useState } from "./ui.js";
import { get, newest, query } from "./api.js";
import { useLive } from "./live.js";
import { ErrorLine, dash, time } from "./format.js";
import { Table } from "./tables.js";

const COLUMNS = [
  ["Received", (s) => time(s.received_at)],
  ["Source", (s) => `${s.source} #${s.message_id}`],
  ["Text", (s) => html`<span class="message">${s.text}</span>`],
  ["Status", (s) => html`<span data-field="status">${s.status}</span>`],
  ["Reader", (s) => s.reader],
  ["Plan", (s) => (s.symbol ? `${s.side} ${s.symbol} ${s.entry_kind || ""} ${(s.entries || []).join(" / ")}` : dash(s.action))],
  ["Stop loss", (s) => dash(s.stop_loss)],
  ["Reasons", (s) => (s.reasons.length ? html`<code>${s.reasons.join(", ")}</code>` : "–")],
  ["Orders", (s) => `${s.orders.length} placed, ${s.denied.length} denied, ${s.cancelled.length} cancelled`],
];

function BotSignals({ botId }) {
  const signals = useLive(
    (min) => newest(`/v1/bots/${botId}/signals`, { min_position: min }),
    (m) => m.type === "event" && m.bot_id === botId && m.event.startsWith("Signal."),
    [botId],
  );
  return html`<${ErrorLine} error=${signals.error} />
    ${signals.data && html`<${Table} testid="signals" columns=${COLUMNS} rows=${signals.data} rowKey=${(s) => s.signal_id} empty="No signal received." />`}`;
}

export function SignalsPage() {
  const [bots, setBots] = useState(null);
  const [error, setError] = useState(null);
  const [botId, setBotId] = useState("");
  useEffect(() => {
    get(`/v1/bots${query({ limit: 200 })}`).then((page) => {
      setBots(page.items);
      const first = page.items.find((b) => b.strategy === "signals") || page.items[0];
      if (first) setBotId(first.bot_id);
    }, (failed) => setError(failed.message));
  }, []);
  return html`<h1>Signals</h1>
    <${ErrorLine} error=${error} />
    ${bots && !bots.length && html`<p class="muted">No bots yet.</p>`}
    ${bots && bots.length > 0 && html`<p><label>Bot <select value=${botId} onChange=${(e) => setBotId(e.target.value)}>
      ${bots.map((b) => html`<option value=${b.bot_id}>${b.name} (${b.strategy})</option>`)}
    </select></label></p>`}
    ${botId && html`<section class="panel"><${BotSignals} botId=${botId} key=${botId} /></section>`}`;
}
