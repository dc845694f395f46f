// A real OpenID provider (oauth2-mock-server) on a loopback port, for the Rust tests that log in: it prints
// `listening http://127.0.0.1:PORT` and signs every ID token with the claims in STEPLINE_TEST_CLAIMS (JSON).
// It approves every authorization request at once, as a provider would for a person already logged in.
import { OAuth2Server } from 'oauth2-mock-server';

const claims = JSON.parse(process.env.STEPLINE_TEST_CLAIMS ?? '{}');
const provider = new OAuth2Server();
await provider.issuer.keys.generate('RS256');
provider.service.on('beforeTokenSigning', (token) => Object.assign(token.payload, claims));
await provider.start(0, '127.0.0.1');
const { port } = provider.address();
provider.issuer.url = `http://127.0.0.1:${port}`;
console.log(`listening ${provider.issuer.url}`);
process.on('SIGTERM', async () => { await provider.stop(); process.exit(0); });
