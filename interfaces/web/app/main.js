// The dashboard's shell: signed out, the sign-in page; signed in, the navigation, the live feed's
// state and the page the address's hash names (#/bots, #/bots/<id>, #/backtests, ...).
import { html, render, useEffect, useState } from "./ui.js";
import { credential, onCredentialChange, signOut } from "./api.js";
import { onFeedState, startFeed, stopFeed } from "./feed.js";
import { SignIn } from "./signin.js";
import { BotsPage } from "./bots.js";
import { BotPage } from "./bot.js";
import { BacktestsPage, BacktestPage } from "./backtests.js";
import { NotificationsPage } from "./notifications.js";
import { SignalsPage } from "./signals.js";

const PAGES = [
  { name: "Bots", path: "/bots" },
  { name: "Backtests", path: "/backtests" },
  { name: "Signals", path: "/signals" },
  { name: "Notifications", path: "/notifications" },
];

function route(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "bots" && parts[1]) return html`<${BotPage} botId=${parts[1]} />`;
  if (parts[0] === "backtests" && parts[1]) return html`<${BacktestPage} backtestId=${parts[1]} />`;
  if (parts[0] === "backtests") return html`<${BacktestsPage} />`;
  if (parts[0] === "signals") return html`<${SignalsPage} />`;
  if (parts[0] === "notifications") return html`<${NotificationsPage} />`;
  return html`<${BotsPage} />`;
}

function FeedState() {
  const [state, setState] = useState({ state: "connecting", after: null });
  useEffect(() => onFeedState((next, after) => setState({ state: next, after })), []);
  return html`<span class="feed feed-${state.state}" data-testid="feed-state" title="last position ${state.after ?? "-"}"
    >feed: ${state.state}</span
  >`;
}

function Shell({ held }) {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  const section = `/${hash.replace(/^#\/?/, "").split("/")[0] || "bots"}`;
  return html`
    <header>
      <strong class="brand">tbot</strong>
      <nav>
        ${PAGES.map(
          (page) => html`<a href=${`#${page.path}`} class=${section === page.path ? "active" : ""}>${page.name}</a>`,
        )}
      </nav>
      <span class="spacer"></span>
      <${FeedState} />
      <span class="muted" data-testid="signed-in-as">${held.label}</span>
      <button class="link" onClick=${signOut}>Sign out</button>
    </header>
    <main>${route(hash)}</main>
  `;
}

function App() {
  const [held, setHeld] = useState(credential());
  useEffect(() => onCredentialChange(setHeld), []);
  useEffect(() => {
    if (held) startFeed(held);
    else stopFeed();
  }, [held]);
  return held ? html`<${Shell} held=${held} />` : html`<${SignIn} />`;
}

const root = document.getElementById("root");
root.replaceChildren(); // the "Loading…" shown until the modules ran
render(html`<${App} />`, root);
