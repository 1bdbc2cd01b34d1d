/** The sign-in helpers live in scripts/ (the demo signs its coordinator in with them too); tests import them from here. */
export * from '../scripts/oidc-sign-in.js';
