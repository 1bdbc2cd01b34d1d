// Failure messages and stack traces can quote what went wrong with personal data in it: they are moved into an
// encoded attribute, which the payload codec encrypts. CommonJS so that both the workflow bundler and the worker's
// own `require` load it (failureConverterPath); clients import the same object through vault/codec.ts.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
