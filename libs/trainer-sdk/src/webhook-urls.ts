import { MAX_WEBHOOK_URL_LENGTH, MAX_WEBHOOK_URLS_PER_SESSION } from '@trainwatch/proto';

/**
 * The `webhooks` option checked before anything is sent: http(s) URLs, at
 * most MAX_WEBHOOK_URLS_PER_SESSION. The server also checks each host
 * against its WEBHOOK_ALLOWED_HOSTS and refuses the registration otherwise.
 * Errors name the entry, never the URL (its path or query may be a secret).
 */
export function toWebhookUrls(inputs: readonly string[] = []): string[] {
  if (inputs.length > MAX_WEBHOOK_URLS_PER_SESSION) {
    throw new RangeError(
      `webhooks: ${inputs.length} URLs, at most ${MAX_WEBHOOK_URLS_PER_SESSION} per run`,
    );
  }
  return inputs.map((input, index) => {
    if (typeof input !== 'string' || input.length > MAX_WEBHOOK_URL_LENGTH) {
      throw new RangeError(
        `webhooks[${index}] must be a URL of at most ${MAX_WEBHOOK_URL_LENGTH} characters`,
      );
    }
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new RangeError(`webhooks[${index}] is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new RangeError(`webhooks[${index}] must be an http:// or https:// URL`);
    }
    return input;
  });
}
