import type { FastifyReply } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';

/**
 * The pages behind the links in verification and reset mails. The token travels in the URL
 * fragment (`#token=…`), which browsers never send to a server, so it stays out of access logs,
 * proxies and Referer headers; the page's script reads it and calls the JSON API. Script lives
 * in its own file so the pages can run under a strict Content-Security-Policy.
 */
const pageSecurityPolicy =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const style = `
  body { font-family: system-ui, sans-serif; line-height: 1.5; margin: 0; background: #f6f6f4; color: #1d1d1b; }
  main { max-width: 26rem; margin: 4rem auto; padding: 2rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgb(0 0 0 / 10%); }
  h1 { font-size: 1.4rem; margin-top: 0; }
  label { display: block; margin-top: 1rem; font-weight: 600; }
  input { box-sizing: border-box; width: 100%; padding: .5rem; font-size: 1rem; margin-top: .25rem; }
  button { margin-top: 1.5rem; padding: .6rem 1.2rem; font-size: 1rem; cursor: pointer; }
  [data-state="error"] { color: #a4000f; }
  [data-state="done"] { color: #176117; }
`;

function page(title: string, name: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Bazaar</title>
<style>${style}</style>
</head>
<body>
<main data-page="${name}">
<h1>${title}</h1>
${body}
<p id="status" role="status" aria-live="polite"></p>
</main>
<script src="/account/account.js"></script>
</body>
</html>
`;
}

const verifyEmailPage = page(
  'Confirm your e-mail address',
  'verify-email',
  '<noscript><p>This page needs JavaScript.</p></noscript>',
);

const resetPasswordPage = page(
  'Choose a new password',
  'reset-password',
  `<form id="reset-form" novalidate>
<label for="new-password">New password</label>
<input id="new-password" name="new_password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required aria-describedby="password-hint">
<small id="password-hint">At least 8 characters; common passwords are refused.</small>
<label for="repeat-password">Repeat the new password</label>
<input id="repeat-password" name="repeat_password" type="password" autocomplete="new-password" minlength="8" maxlength="256" required>
<button type="submit">Set new password</button>
</form>`,
);

const accountScript = `'use strict';
(() => {
  const main = document.querySelector('main');
  const status = document.getElementById('status');
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  // Drop the token from the address bar and history once read.
  history.replaceState(null, '', location.pathname);

  const show = (text, state) => {
    status.textContent = text;
    status.dataset.state = state;
  };
  const post = async (path, body) => {
    const response = await fetch('/api/v1/auth/' + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
    });
    const json = await response.json().catch(() => ({}));
    if (response.ok) return json.data;
    const error = json.error || {};
    const detail = Array.isArray(error.details) && error.details[0] ? error.details[0].message : '';
    throw new Error(detail ? 'The ' + (error.details[0].field === 'token' ? 'link' : 'password') + ' ' + detail + '.' : error.message || 'Something went wrong.');
  };

  if (!token) {
    show('This link is incomplete. Open the link from the e-mail again.', 'error');
    const form = document.getElementById('reset-form');
    if (form) form.hidden = true;
    return;
  }

  if (main.dataset.page === 'verify-email') {
    show('Confirming…', 'busy');
    post('email/verify', { token }).then(
      () => show('Thank you: your e-mail address is confirmed.', 'done'),
      (error) => show(error.message, 'error'),
    );
    return;
  }

  const form = document.getElementById('reset-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const password = form.elements.new_password.value;
    if (password !== form.elements.repeat_password.value) {
      show('The two passwords differ.', 'error');
      return;
    }
    const button = form.querySelector('button');
    button.disabled = true;
    show('Saving…', 'busy');
    post('password/reset', { token, new_password: password }).then(
      () => {
        form.hidden = true;
        show('Your password is changed. Sign in with the new password.', 'done');
      },
      (error) => {
        button.disabled = false;
        show(error.message, 'error');
      },
    );
  });
})();
`;

export const accountPageRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  const html = (body: string) => async (_request: unknown, reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('Content-Security-Policy', pageSecurityPolicy)
      .header('Cache-Control', 'no-store')
      .send(body);

  app.get('/account/verify-email', { schema: { hide: true } }, html(verifyEmailPage));
  app.get('/account/reset-password', { schema: { hide: true } }, html(resetPasswordPage));
  app.get('/account/account.js', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('Cache-Control', 'public, max-age=300')
      .send(accountScript),
  );
  done();
};
