// Notification settings: the caller's channels (webhook, email, Telegram) and the kinds each
// wants, switched on and off or removed here, and the latest deliveries.
import { html, useState } from "./ui.js";
import { get, post, request } from "./api.js";
import { useLive } from "./live.js";
import { ErrorLine, dash, time } from "./format.js";
import { Table } from "./tables.js";

// the kinds a channel may subscribe to (the API refuses others, naming them)
const KINDS = [
  "order_filled",
  "order_rejected",
  "risk_denied",
  "kill_switch",
  "protection_fired",
  "bot_lifecycle",
  "signal_rejected",
  "signal_executed",
  "daily_pnl",
];

function NewChannel({ onAdded }) {
  const [channel, setChannel] = useState("webhook");
  const [error, setError] = useState(null);
  const submit = (event) => {
    event.preventDefault();
    const form = event.target.elements;
    const kinds = KINDS.filter((kind) => form.namedItem(`kind.${kind}`).checked);
    const body = { channel, target: form.namedItem("target").value.trim(), kinds };
    if (channel === "webhook") body.secret = form.namedItem("secret").value;
    setError(null);
    post("/v1/notifications/channels", body).then(() => {
      event.target.reset();
      onAdded();
    }, (failed) => setError(failed.message));
  };
  return html`<form class="panel form" data-testid="new-channel" onSubmit=${submit}>
    <h2>Add a channel</h2>
    <div class="fields">
      <label><span>Channel</span>
        <select name="channel" value=${channel} onChange=${(e) => setChannel(e.target.value)}>
          <option value="webhook">webhook</option><option value="email">email</option><option value="telegram">telegram</option>
        </select>
      </label>
      <label><span>${{ webhook: "URL", email: "Email address", telegram: "Chat id or @channel" }[channel]}</span>
        <input name="target" required /></label>
      ${channel === "webhook" && html`<label><span>Signing secret (16+ characters)</span><input name="secret" type="password" minlength="16" required /></label>`}
    </div>
    <fieldset class="kinds"><legend>Notify about</legend>
      ${KINDS.map((kind) => html`<label class="check"><input type="checkbox" name=${`kind.${kind}`} checked=${kind === "order_filled"} /> ${kind}</label>`)}
    </fieldset>
    <${ErrorLine} error=${error} />
    <button>Add channel</button>
  </form>`;
}

function Channels() {
  const [error, setError] = useState(null);
  const channels = useLive(() => get("/v1/notifications/channels"), () => false, []);
  const change = (promise) => promise.then(channels.reload, (failed) => setError(failed.message));
  const columns = [
    ["Channel", (c) => c.channel],
    ["Target", (c) => c.target],
    ["Kinds", (c) => c.kinds.join(", ")],
    ["Enabled", (c) => (c.enabled ? "yes" : "no")],
    ["Created", (c) => time(c.created_at)],
    [
      "",
      (c) => html`<button onClick=${() => change(request("PUT", `/v1/notifications/channels/${c.id}`, { enabled: !c.enabled }))}>
          ${c.enabled ? "disable" : "enable"}</button>
        <button class="danger" onClick=${() => confirm(`Remove the ${c.channel} channel?`) && change(request("DELETE", `/v1/notifications/channels/${c.id}`))}>
          remove</button>`,
    ],
  ];
  return html`
    <${NewChannel} onAdded=${channels.reload} />
    <section class="panel">
      <h2>Channels</h2>
      <${ErrorLine} error=${error || channels.error} />
      ${channels.data && html`<${Table} testid="channels" columns=${columns} rows=${channels.data} rowKey=${(c) => c.id} empty="No channel yet." />`}
    </section>`;
}

function Deliveries() {
  const deliveries = useLive(() => get("/v1/notifications/deliveries"), (m) => m.type === "event", []);
  const columns = [
    ["At", (d) => time(d.at)],
    ["Channel", (d) => d.channel],
    ["Kind", (d) => d.kind],
    ["Source", (d) => d.source],
    ["Status", (d) => d.status],
    ["Attempts", (d) => d.attempts],
    ["Error", (d) => dash(d.error)],
  ];
  return html`<section class="panel">
    <h2>Deliveries</h2>
    <${ErrorLine} error=${deliveries.error} />
    ${deliveries.data && html`<${Table} testid="deliveries" columns=${columns} rows=${deliveries.data} rowKey=${(d) => d.id} empty="Nothing delivered yet." />`}
  </section>`;
}

export function NotificationsPage() {
  return html`<h1>Notifications</h1><${Channels} /><${Deliveries} />`;
}
