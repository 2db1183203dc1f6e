// Signing in: a user name and password (a bearer token from /v1/auth/token), or an API key.
import { html, useState } from "./ui.js";
import { signInWithKey, signInWithPassword } from "./api.js";

export function SignIn() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const attempt = (event, signIn) => {
    event.preventDefault();
    const form = new FormData(event.target);
    setBusy(true);
    setError(null);
    signIn(form).catch((failed) => {
      setError(failed.message);
      setBusy(false);
    });
  };

  return html`
    <section class="signin">
      <h1>tbot</h1>
      <form data-testid="password-form" onSubmit=${(e) => attempt(e, (f) => signInWithPassword(f.get("username"), f.get("password")))}>
        <h2>Sign in</h2>
        <label>User name <input name="username" autocomplete="username" required /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
        <button disabled=${busy}>Sign in</button>
      </form>
      <form data-testid="key-form" onSubmit=${(e) => attempt(e, (f) => signInWithKey(f.get("key").trim()))}>
        <h2>…or use an API key</h2>
        <label>API key <input name="key" type="password" autocomplete="off" placeholder="tbot_…" required /></label>
        <button disabled=${busy}>Use key</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>
  `;
}
