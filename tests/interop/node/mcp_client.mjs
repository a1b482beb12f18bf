#!/usr/bin/env node
// An MCP host built on the official MCP TypeScript SDK, signing in through the bridge with the
// SDK's own OAuth client (unmodified): the 401, RFC 9728 and RFC 8414 discovery, the client's
// registration (pre-registered, Client ID Metadata Document, or RFC 7591 dynamic registration),
// PKCE, the token exchange with the server's RFC 8707 resource. Driven by
// tests/interop/test_mcp_typescript.py, which plays the user's browser.
//
//   node mcp_client.mjs MCP_SERVER_URL [--client-id ID | --client-metadata-url URL]
//                                      [--redirect-uri URI]
//
// --client-id ID             a pre-registered public client: no registration.
// --client-metadata-url URL  a Client ID Metadata Document: the client id is URL, handed to the
//                            SDK as its own `clientMetadataUrl` (an https URL with a path, which
//                            the SDK checks), used when the authorization server advertises
//                            `client_id_metadata_document_supported`; otherwise the SDK falls back
//                            to dynamic registration.
// neither                    dynamic client registration (RFC 7591).
//
// Protocol on stdin/stdout, one JSON object a line:
//   out {"authorize": URL}  the URL to open in the user's browser (redirectToAuthorization)
//   in  REDIRECT_URL        the redirect URI the browser landed on, with code, state and iss
//   out {"result": ...}     the search_resources result, with what the client saw; exit 0
//   out {"error": "..."}    on any failure; exit 1
// Nothing else is written to stdout; diagnostics go to stderr.

import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const DEFAULT_REDIRECT_URI = 'http://127.0.0.1:53682/callback'; // never listened on

function emit(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function readLine() {
  const { value, done } = await lines.next();
  if (done) throw new Error('stdin closed before the redirect URL came');
  return value.trim();
}

/**
 * The SDK's `OAuthClientProvider`, kept in memory for one run. It also keeps what the SDK hands
 * over (discovery, registration, tokens) for the checks of the redirect and the final report.
 */
class Provider {
  constructor({ redirectUri, clientId, clientMetadataUrl }) {
    this._redirectUri = redirectUri;
    this.mode = clientId ? 'pre-registered' : clientMetadataUrl ? 'client-id-metadata-document' : 'dynamic-registration';
    // A pre-registered client is known in advance; the other two are not until the flow runs.
    this._clientInformation = clientId ? { client_id: clientId } : undefined;
    this.saved = []; // what the SDK saved through saveClientInformation (registration, issuer stamp)
    this._state = undefined;
    this._codeVerifier = undefined;
    this._tokens = undefined;
    this._discovery = undefined;
    if (clientMetadataUrl) {
      // The SDK's own SEP-991 branch: when the authorization server's metadata says
      // client_id_metadata_document_supported, the SDK uses this URL as the client id (and
      // saves it through saveClientInformation). It refuses a URL that is not https.
      this.clientMetadataUrl = clientMetadataUrl;
    }
  }

  get redirectUrl() {
    return this._redirectUri;
  }

  get clientMetadata() {
    // What dynamic registration sends (RFC 7591), and what a metadata document holds.
    return {
      client_name: 'MCP TypeScript SDK interop test',
      redirect_uris: [this._redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this._state = randomBytes(24).toString('base64url');
    return this._state;
  }

  clientInformation() {
    return this._clientInformation;
  }

  saveClientInformation(clientInformation) {
    this.saved.push(clientInformation);
    this._clientInformation = clientInformation;
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
  }

  redirectToAuthorization(authorizationUrl) {
    this.authorizationUrl = authorizationUrl.toString();
    emit({ authorize: this.authorizationUrl });
  }

  saveCodeVerifier(codeVerifier) {
    this._codeVerifier = codeVerifier;
  }

  codeVerifier() {
    if (!this._codeVerifier) throw new Error('no code verifier saved');
    return this._codeVerifier;
  }

  saveDiscoveryState(state) {
    this._discovery = state;
  }

  discoveryState() {
    return this._discovery;
  }

  get authorizationServerMetadata() {
    return this._discovery?.authorizationServerMetadata;
  }

  /**
   * What the SDK leaves to the caller: the redirect's `state` must be the one this client sent
   * (CSRF), and its `iss` the authorization server's issuer (RFC 9207, mix-up attacks), which
   * the redirect must carry when the server's metadata says it does. Returns the code.
   */
  codeFrom(redirectUrl) {
    if (!URL.canParse(redirectUrl)) throw new Error(`not a redirect URL: ${JSON.stringify(redirectUrl)}`);
    const redirect = new URL(redirectUrl);
    const expected = new URL(this._redirectUri);
    if (redirect.origin !== expected.origin || redirect.pathname !== expected.pathname) {
      throw new Error(`the browser was sent to ${redirect.origin}${redirect.pathname}, not ${this._redirectUri}`);
    }
    const params = redirect.searchParams;
    if (this._state === undefined || params.get('state') !== this._state) {
      throw new Error(`the redirect's state ${JSON.stringify(params.get('state'))} is not the one sent`);
    }
    const metadata = this.authorizationServerMetadata;
    const iss = params.get('iss');
    if (iss !== null || metadata?.authorization_response_iss_parameter_supported) {
      if (!metadata?.issuer || iss !== metadata.issuer) {
        throw new Error(`the redirect's iss ${JSON.stringify(iss)} is not the issuer ${JSON.stringify(metadata?.issuer)}`);
      }
    }
    if (params.has('error')) {
      throw new Error(`authorization failed: ${params.get('error')}: ${params.get('error_description') ?? ''}`);
    }
    const code = params.get('code');
    if (!code) throw new Error('the redirect has no code');
    return code;
  }
}

/** `fetch` that records each request the SDK sends (method, URL without query, status). */
function recordingFetch(requests) {
  return async (url, init) => {
    const target = new URL(url instanceof Request ? url.url : String(url));
    const method = init?.method ?? (url instanceof Request ? url.method : 'GET');
    const response = await fetch(url, init);
    requests.push(`${method} ${target.origin}${target.pathname} -> ${response.status}`);
    return response;
  };
}

function claimsOf(jwt) {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'client-id': { type: 'string' },
      'client-metadata-url': { type: 'string' },
      'redirect-uri': { type: 'string', default: DEFAULT_REDIRECT_URI },
    },
  });
  if (positionals.length !== 1) throw new Error('usage: mcp_client.mjs MCP_SERVER_URL [--client-id ID | --client-metadata-url URL]');
  if (values['client-id'] && values['client-metadata-url']) throw new Error('--client-id and --client-metadata-url exclude each other');
  const serverUrl = new URL(positionals[0]);
  const provider = new Provider({
    redirectUri: values['redirect-uri'],
    clientId: values['client-id'],
    clientMetadataUrl: values['client-metadata-url'],
  });
  const requests = [];
  const transportOptions = { authProvider: provider, fetch: recordingFetch(requests) };
  const client = new Client({ name: 'ib-oauth-bridge-interop', version: '1.0.0' }, { capabilities: {} });

  // As the SDK's own example client does: connect; on UnauthorizedError the SDK has sent the
  // user to the authorization URL; finish with the code from the redirect, then reconnect.
  let transport = new StreamableHTTPClientTransport(serverUrl, transportOptions);
  try {
    await client.connect(transport);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    const code = provider.codeFrom(await readLine());
    await transport.finishAuth(code);
    transport = new StreamableHTTPClientTransport(serverUrl, transportOptions);
    await client.connect(transport);
  }

  const tools = await client.listTools();
  const result = await client.callTool({ name: 'search_resources', arguments: { keywords: 'logo', limit: 3 } });
  await client.close();
  const tokens = provider.tokens();
  emit({
    result,
    tools: tools.tools.map((tool) => tool.name).sort(),
    mode: provider.mode,
    client_id: provider.clientInformation()?.client_id ?? null,
    saved_client_information: provider.saved.map(({ client_id, issuer }) => ({ client_id, issuer })),
    authorization_url: provider.authorizationUrl ?? null,
    access_token_claims: tokens ? claimsOf(tokens.access_token) : null,
    requests,
  });
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error);
  const cause = error?.cause instanceof Error ? ` (${error.cause.message})` : '';
  emit({ error: error instanceof Error ? `${error.name}: ${error.message}${cause}` : String(error) });
  process.exit(1);
}
