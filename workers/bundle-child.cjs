// The workflow bundler, run in a child process of its own (workers/bundle.ts): webpack needs well over 100 MiB
// while it bundles, and in the worker's own process that memory stays resident for as long as the worker
// runs. CommonJS and plain JavaScript so that it starts without tsx; the bundler compiles the TypeScript.
const { bundleWorkflowCode } = require('@temporalio/worker');

// The parent is gone (killed while starting): nothing to bundle for.
process.once('disconnect', () => process.exit(1));

process.once('message', (options) => {
  const forward = (level) => (message, meta) => process.send({ log: { level, message: String(message), meta: plain(meta) } });
  const logger = {
    log: (level, message, meta) => forward(level)(message, meta),
    trace: forward('TRACE'),
    debug: forward('DEBUG'),
    info: forward('INFO'),
    warn: forward('WARN'),
    error: forward('ERROR'),
  };
  bundleWorkflowCode({ ...options, logger }).then(
    ({ code }) => process.send({ code }, () => process.exit(0)),
    (err) => process.send({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.exit(1)),
  );
});

/** Log metadata crosses the IPC channel as JSON: anything that does not survive it is dropped. */
function plain(meta) {
  try {
    return meta === undefined ? undefined : JSON.parse(JSON.stringify(meta));
  } catch {
    return undefined;
  }
}
