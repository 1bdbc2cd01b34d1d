/**
 * The console's stylesheet and its one script, served by the API from its own origin. The stylesheet is small on
 * purpose: readable type, visible focus, contrast above 4.5:1, and a layout that reflows at 200 % zoom. The script
 * listens to the operation's event stream (on the session cookie; it never sees a token) and, when something
 * changed, fetches the page again and swaps its live part in place, announcing it politely.
 */

export const CONSOLE_CSS = `
:root { --ink: #1b1b1b; --muted: #4a4a4a; --line: #8a8a8a; --accent: #005a9c; --bad: #a4000f; --ok: #1d6b2f; --bg: #ffffff; --panel: #f3f5f7; }
* { box-sizing: border-box; }
html { font-size: 100%; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid #ffbf47; outline-offset: 2px; box-shadow: 0 0 0 5px var(--ink); }
.skip { position: absolute; left: -999px; top: 0; background: var(--ink); color: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: 0; }
.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; justify-content: space-between; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
.brand { margin: 0; font-weight: 700; }
.top nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: 0; }
.who { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.who p { margin: 0; }
main { max-width: 72rem; padding: 1rem; margin: 0 auto; }
main:focus { outline: none; }
h1 { font-size: 1.75rem; line-height: 1.2; overflow-wrap: anywhere; }
h2 { font-size: 1.35rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
.table-wrap { overflow-x: auto; }
th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
th { background: var(--panel); }
dl.facts { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .4rem; border: 2px solid currentColor; border-radius: .25rem; font-weight: 700; }
.overdue { color: var(--bad); }
.notice { border-left: .4rem solid var(--ok); background: var(--panel); padding: .5rem 1rem; }
.error, .invalid legend, .invalid > label { color: var(--bad); }
.error { font-weight: 600; margin: .25rem 0; }
.error-summary { border: 3px solid var(--bad); padding: .5rem 1rem; margin-bottom: 1rem; }
.error-summary:focus { outline: 3px solid #ffbf47; }
.hint { color: var(--muted); margin: .25rem 0; }
.req { font-weight: 400; color: var(--muted); }
form.decision, form.tip { max-width: 44rem; }
.field { margin: 0 0 1.25rem; border: 0; padding: 0; }
fieldset.field { border: 1px solid var(--line); padding: .5rem 1rem 1rem; }
.field > label, legend { display: block; font-weight: 600; margin-bottom: .25rem; }
input[type=text], input[type=number], input[type=datetime-local], select, textarea { font: inherit; width: 100%; max-width: 40rem; padding: .4rem; border: 2px solid var(--ink); border-radius: 0; background: #fff; color: var(--ink); }
.invalid input, .invalid select, .invalid textarea { border-color: var(--bad); }
.choice { display: flex; gap: .5rem; align-items: flex-start; margin: .25rem 0; }
.choice input { width: 1.25rem; height: 1.25rem; margin-top: .15rem; flex: none; }
button, .button { font: inherit; font-weight: 600; padding: .5rem 1rem; border: 2px solid var(--ink); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--ink); }
ul.decisions { list-style: none; padding: 0; }
ul.decisions li { margin: .5rem 0; }
.reason { color: var(--muted); }
details { margin: 0 0 1.25rem; }
summary { cursor: pointer; font-weight: 600; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const LIVE_SCRIPT = `
(() => {
  const live = document.getElementById('live');
  const status = document.getElementById('live-status');
  const stream = document.body.dataset.stream;
  if (!live || !stream || !('EventSource' in window)) return;
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } });
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), 'text/html');
      const fresh = page.getElementById('live');
      if (!fresh) return;
      live.innerHTML = fresh.innerHTML;
      const note = page.getElementById('live-status-text');
      if (status && note) status.textContent = note.textContent;
    } finally {
      busy = false;
    }
  };
  const events = new EventSource(stream, { withCredentials: true });
  events.addEventListener('changed', refresh);
})();
`;
