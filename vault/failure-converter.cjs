// Failure messages and stack traces stay readable: operators read a rejection or a failed workflow in the Temporal
// UI and CLI without any key. The engine's own messages name fields, never their values (domain/validation.ts,
// rejection); a value the entitled may read travels in the failure's details, which the payload codec encrypts.
// CommonJS so that both the workflow bundler and the worker's own `require` load it (failureConverterPath); clients
// import the same object through vault/codec.ts.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: false });
