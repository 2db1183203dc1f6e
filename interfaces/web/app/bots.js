// The bots page: every bot the caller may read, with its state and commands, and the form to
// create one.
import { html, useState } from "./ui.js";
import { get, query } from "./api.js";
import { useLive } from "./live.js";
import { BotActions } from "./actions.js";
import { CreateBot } from "./create_bot.js";
import { ErrorLine, signed } from "./format.js";

const isBotEvent = (message) => message.type === "event" && message.event.startsWith("Bot.");

export function BotsPage() {
  const [creating, setCreating] = useState(false);
  const bots = useLive((min) => get(`/v1/bots${query({ limit: 200, min_position: min })}`), isBotEvent, []);
  const items = bots.data ? bots.data.items : [];
  return html`
    <h1>Bots</h1>
    <p><button onClick=${() => setCreating(!creating)}>${creating ? "Close the form" : "New bot"}</button></p>
    ${creating && html`<${CreateBot} onCreated=${() => setCreating(false)} />`}
    <${ErrorLine} error=${bots.error} />
    <table class="grid" data-testid="bots" hidden=${!items.length}>
      <thead>
        <tr>
          <th>Name</th><th>Status</th><th>Kill switch</th><th>Strategy</th><th>Parameters</th>
          <th>Symbols</th><th>Account</th><th>Realized PnL</th><th>Orders</th><th></th>
        </tr>
      </thead>
      <tbody>
        ${items.map(
          (bot) => html`
            <tr key=${bot.bot_id} data-bot-id=${bot.bot_id} data-bot-name=${bot.name}>
              <td><a href=${`#/bots/${bot.bot_id}`}>${bot.name}</a></td>
              <td><span class=${`status status-${bot.status}`} data-field="status">${bot.status}</span></td>
              <td data-field="kill-switch">
                ${bot.kill_switch ? html`<span class="tripped">tripped</span> ${bot.kill_switch_reason}` : "off"}
              </td>
              <td>${bot.strategy}</td>
              <td><code>${JSON.stringify(bot.params)}</code></td>
              <td>${bot.allowed_symbols.join(", ")}</td>
              <td>${bot.exchange_account}</td>
              <td>${signed(bot.realized_pnl)}</td>
              <td>${bot.orders_admitted} admitted, ${bot.orders_denied} denied, ${bot.fills} fills</td>
              <td><${BotActions} bot=${bot} /></td>
            </tr>
          `,
        )}
      </tbody>
    </table>
    ${bots.data && !items.length && html`<p class="muted">No bots yet: create one.</p>`}
  `;
}
