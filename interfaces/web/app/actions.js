// A bot's commands: the lifecycle (start, pause, resume, stop), the kill switch and its reset.
// Each button shows only where the bot's state allows it; the API's answer is the last word.
import { html, useState } from "./ui.js";
import { post } from "./api.js";
import { ErrorLine } from "./format.js";

const LIFECYCLE = {
  created: ["start"],
  running: ["pause", "stop"],
  paused: ["resume", "stop"],
  stopped: [],
};

export function BotActions({ bot, onDone }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const act = (path, body) => {
    setBusy(true);
    setError(null);
    post(`/v1/bots/${bot.bot_id}/${path}`, body)
      .then((answer) => onDone && onDone(answer.position))
      .catch((failed) => setError(failed.message))
      .finally(() => setBusy(false));
  };

  // both are recorded with a reason, asked for here
  const withReason = (path, question, fallback) => {
    const reason = prompt(question, fallback);
    if (reason !== null) act(path, { reason: reason.trim() || fallback });
  };
  const kill = () => withReason("kill", "Why trip the kill switch?", "kill switch from the dashboard");
  const reset = () => withReason("kill-switch/reset", "Why may the bot trade again?", "reset from the dashboard");

  return html`
    <span class="actions">
      ${(LIFECYCLE[bot.status] || []).map(
        (action) =>
          html`<button disabled=${busy} data-action=${action} onClick=${() => act(action)}>${action}</button>`,
      )}
      ${bot.kill_switch
        ? html`<button disabled=${busy} data-action="reset-kill-switch" onClick=${reset}>
            reset kill switch
          </button>`
        : html`<button class="danger" disabled=${busy} data-action="kill" onClick=${kill}>kill</button>`}
      <${ErrorLine} error=${error} />
    </span>
  `;
}
