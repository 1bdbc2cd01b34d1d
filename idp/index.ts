/** The embedded identity provider: its realm file's schema and password hashing, for the scripts and tests that run it. */
export { clientSecretEnvName, hashPassword, loadRealm, Realm, RealmClient, Person, LosClaims, ROLES, verifyPassword } from './realm.js';
export { DEFAULT_ACCESS_TOKEN_TTL, READY_LINE, TEMPORAL_UI_CALLBACK_PATH } from './provider.js';
