import { errors } from '../common/app-error';
import { MAX_WEBHOOK_URL_LENGTH, MAX_WEBHOOK_URLS_PER_SESSION } from '../common/limits';

/**
 * True when `host` (a URL's hostname, lower case) is allowed by
 * WEBHOOK_ALLOWED_HOSTS: an exact name, `*.example.com` for its subdomains,
 * or `*` for any host.
 */
export function isAllowedWebhookHost(host: string, allowed: readonly string[]): boolean {
  return allowed.some(
    (entry) =>
      entry === '*' ||
      entry === host ||
      (entry.startsWith('*.') && host.endsWith(entry.slice(1)) && host.length > entry.length - 1),
  );
}

/**
 * A URL as it may be shown or logged: scheme, host and port, and "/…" for
 * whatever follows. A Slack webhook's key is its path and other receivers
 * take tokens in the query, so nothing past the host leaves the server.
 */
export function redactedWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const rest = parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '';
    return `${parsed.protocol}//${parsed.host}${rest ? '/…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

/**
 * Checks webhook URLs a trainer or an operator gives for one session; throws
 * INVALID_ARGUMENT naming the entry and the rule it breaks (never the URL's
 * secret part). Per-session URLs make the server call addresses chosen by
 * whoever holds a trainer key, so only http(s) to hosts the deployment
 * allows are taken (WEBHOOK_ALLOWED_HOSTS), and only a few of them.
 */
export function checkWebhookUrls(
  urls: readonly string[],
  allowedHosts: readonly string[],
  where: string,
): void {
  if (urls.length > MAX_WEBHOOK_URLS_PER_SESSION) {
    throw errors.invalidArgument(
      `${where}: ${urls.length} URLs, at most ${MAX_WEBHOOK_URLS_PER_SESSION} per session`,
    );
  }
  for (const [index, url] of urls.entries()) {
    const name = `${where}[${index}]`;
    if (url.length > MAX_WEBHOOK_URL_LENGTH) {
      throw errors.invalidArgument(`${name} is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw errors.invalidArgument(`${name} is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw errors.invalidArgument(`${name}: only http:// and https:// webhooks are posted to`);
    }
    if (parsed.username !== '' || parsed.password !== '') {
      throw errors.invalidArgument(`${name}: credentials in the URL are not accepted`);
    }
    if (!isAllowedWebhookHost(parsed.hostname.toLowerCase(), allowedHosts)) {
      throw errors.invalidArgument(
        allowedHosts.length === 0
          ? `${name}: this server takes no per-session webhooks (WEBHOOK_ALLOWED_HOSTS is empty)`
          : `${name}: host ${parsed.hostname} is not in WEBHOOK_ALLOWED_HOSTS`,
      );
    }
  }
}
