import { Option, type Command } from 'commander';
import {
  bearerToken,
  credentialsPath,
  readTokenSet,
  removeTokenSet,
  revokeRefreshToken,
  signIn,
  temporalBearerToken,
  type DevicePrompt,
} from '../credentials.js';
import { apiClient, command, type CommonOptions, type Perform } from './command.js';

/**
 * `los login`, `los logout` and `los token`: a person's sign-in, kept on this machine for the API it was made
 * with, and its access token for the tools that take one (the codec server: `temporal workflow show
 * --codec-endpoint <url> --codec-auth "Bearer $(los token)"`). Where the Temporal server checks the provider's
 * tokens (the cluster), `los token --for temporal` prints one for it, which the codec server takes too:
 * `temporal workflow show --api-key "$T" --codec-auth "Bearer $T"`.
 */

function say(prompt: DevicePrompt): void {
  // On stderr: instructions for the person, while stdout keeps the one answer (and --json its one document).
  const lines = [
    `To sign in, open ${prompt.verificationUri} and enter the code ${prompt.userCode}`,
    ...(prompt.verificationUriComplete ? [`  (or open ${prompt.verificationUriComplete})`] : []),
    `Waiting for you to sign in there (the code is valid for ${Math.round(prompt.expiresInSeconds / 60)} min)…`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

export function sessionCommands(program: Command, perform: Perform): void {
  command(program, 'login', 'Sign in with the identity provider the API names (the device flow: open a URL, enter a code).').action((options: CommonOptions) =>
    perform(options, async () => {
      const auth = await apiClient(options).authConfig();
      const file = credentialsPath();
      const tokens = await signIn(options.apiUrl, auth, file, say);
      const who = tokens.name ?? 'you';
      return {
        text: `signed in as ${who} to ${options.apiUrl}; the sign-in is kept in ${file}`,
        json: { apiUrl: options.apiUrl, name: tokens.name ?? null, expiresAt: new Date(tokens.expiresAt).toISOString(), credentialsFile: file },
        warnings: process.env.LOS_TOKEN ? ['warning: LOS_TOKEN is set, and is used instead of this sign-in while it is'] : [],
      };
    }),
  );
  command(
    program,
    'token',
    'Print the signed-in person’s access token (renewed first when it is near expiry), e.g. for temporal --codec-auth "Bearer $(los token)".',
  )
    .addOption(
      new Option(
        '--for <audience>',
        'api: for the LOS API and the codec server; temporal: for the Temporal server (temporal --api-key), where it checks tokens, and the codec server',
      )
        .choices(['api', 'temporal'])
        .default('api'),
    )
    .action((options: CommonOptions & { for: 'api' | 'temporal' }) =>
      perform(options, async () => {
        const file = credentialsPath();
        // Always the person's own sign-in: LOS_TOKEN is a machine's, which it already has.
        const source = { apiUrl: options.apiUrl, credentialsFile: file };
        const { accessToken, expiresAt } =
          options.for === 'temporal'
            ? await temporalBearerToken(source)
            : { accessToken: await bearerToken(source), expiresAt: (await readTokenSet(file, options.apiUrl))?.expiresAt };
        return {
          // The token alone on stdout, so that $(los token) is the token.
          text: accessToken,
          json: { apiUrl: options.apiUrl, accessToken, expiresAt: expiresAt !== undefined ? new Date(expiresAt).toISOString() : null },
        };
      }),
    );
  command(program, 'logout', 'Forget the sign-in to this API on this machine, and revoke its refresh token at the provider.').action((options: CommonOptions) =>
    perform(options, async () => {
      const file = credentialsPath();
      const removed = await removeTokenSet(file, options.apiUrl);
      if (!removed) return { text: `not signed in to ${options.apiUrl}`, json: { apiUrl: options.apiUrl, signedOut: false } };
      // The file no longer holds it either way; a provider that cannot be reached now is said, not fatal.
      const revoked = await revokeRefreshToken(removed);
      return {
        text: `signed out of ${options.apiUrl}${removed.name ? ` (${removed.name})` : ''}`,
        json: { apiUrl: options.apiUrl, signedOut: true, revoked: revoked === undefined },
        warnings: revoked === undefined ? [] : [`warning: the refresh token could not be revoked at ${removed.issuer}: ${revoked}`],
      };
    }),
  );
}
