/**
 * The provider's own pages: the sign-in form and the device flow's pages. Plain HTML forms that work without
 * JavaScript (a test drives them over plain HTTP), in Swedish, with a label for every field.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);
}

const STYLE = `
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1b1f24;margin:0}
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.2)}
h1{font-size:1.4rem;margin-top:0}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #6b7280;border-radius:4px}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:4px;background:#1d4ed8;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#1d4ed8;border:1px solid #1d4ed8;margin-left:.5rem}
.error{color:#b91c1c;font-weight:600}
code.user-code{font-size:1.6rem;letter-spacing:.1em}
`;

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} – LOS inloggning</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

export interface LoginPageInput {
  /** Where the form posts. */
  action: string;
  /** Who asks: the client's name. */
  clientName: string;
  username?: string;
  error?: string;
}

export function loginPage(input: LoginPageInput): string {
  const error = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : '';
  return page(
    'Logga in',
    `<p>${escapeHtml(input.clientName)} vill veta vem du är.</p>
${error}
<form method="post" action="${escapeHtml(input.action)}">
<label for="username">Användarnamn</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" required value="${escapeHtml(input.username ?? '')}"${input.username ? '' : ' autofocus'}>
<label for="password">Lösenord</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${input.username ? ' autofocus' : ''}>
<button type="submit">Logga in</button>
</form>`,
  );
}

export interface DeviceInputPageInput {
  action: string;
  xsrf: string;
  error?: string;
}

/** Where a person types the code `los login` shows. */
export function deviceInputPage(input: DeviceInputPageInput): string {
  const message = input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : '<p>Skriv koden som visas i terminalen.</p>';
  return page(
    'Koppla en enhet',
    `${message}
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="xsrf" value="${escapeHtml(input.xsrf)}">
<label for="user_code">Kod</label>
<input id="user_code" name="user_code" type="text" autocomplete="off" autocapitalize="characters" required autofocus>
<button type="submit">Fortsätt</button>
</form>`,
  );
}

export interface DeviceConfirmPageInput {
  action: string;
  xsrf: string;
  userCode: string;
  clientName: string;
}

/** The code is shown again so the person can check it is the one on their screen before going on. */
export function deviceConfirmPage(input: DeviceConfirmPageInput): string {
  const hidden = `<input type="hidden" name="xsrf" value="${escapeHtml(input.xsrf)}">
<input type="hidden" name="user_code" value="${escapeHtml(input.userCode)}">`;
  return page(
    'Bekräfta enheten',
    `<p><strong>${escapeHtml(input.clientName)}</strong> vill logga in som du. Visar terminalen samma kod?</p>
<p><code class="user-code">${escapeHtml(input.userCode)}</code></p>
<form method="post" action="${escapeHtml(input.action)}">
${hidden}
<input type="hidden" name="confirm" value="yes">
<button type="submit">Ja, fortsätt</button>
</form>
<form method="post" action="${escapeHtml(input.action)}">
${hidden}
<input type="hidden" name="abort" value="yes">
<button type="submit" class="secondary">Nej, avbryt</button>
</form>`,
  );
}

export function deviceSuccessPage(clientName: string): string {
  return page('Klart', `<p>Du är inloggad i ${escapeHtml(clientName)}. Du kan stänga den här sidan och gå tillbaka till terminalen.</p>`);
}

export function errorPage(title: string, detail: string): string {
  return page(title, `<p class="error" role="alert">${escapeHtml(detail)}</p>`);
}
