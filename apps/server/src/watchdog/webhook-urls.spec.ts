import { checkWebhookUrls, isAllowedWebhookHost, redactedWebhookUrl } from './webhook-urls';

describe('per-session webhook URLs', () => {
  it('allows exact hosts, *.domain for subdomains only, and * for any', () => {
    expect(isAllowedWebhookHost('hooks.slack.com', ['hooks.slack.com'])).toBe(true);
    expect(isAllowedWebhookHost('a.example.com', ['*.example.com'])).toBe(true);
    expect(isAllowedWebhookHost('example.com', ['*.example.com'])).toBe(false);
    expect(isAllowedWebhookHost('evilexample.com', ['*.example.com'])).toBe(false);
    expect(isAllowedWebhookHost('169.254.169.254', ['hooks.slack.com'])).toBe(false);
    expect(isAllowedWebhookHost('10.0.0.1', ['*'])).toBe(true);
    expect(isAllowedWebhookHost('localhost', [])).toBe(false);
  });

  it('shows scheme, host and port only', () => {
    expect(redactedWebhookUrl('https://hooks.slack.com/services/T0/B0/XXXX')).toBe(
      'https://hooks.slack.com/…',
    );
    expect(redactedWebhookUrl('http://127.0.0.1:8080/?token=abc')).toBe('http://127.0.0.1:8080/…');
    expect(redactedWebhookUrl('https://example.com')).toBe('https://example.com');
  });

  it('refuses a scheme other than http(s), credentials, a host not allowed, and more than the bound, naming the entry and the setting but never the secret', () => {
    const allowed = ['hooks.slack.com'];
    const refused = (urls: string[], hosts = allowed) => {
      try {
        checkWebhookUrls(urls, hosts, 'webhook_urls');
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refused(['https://hooks.slack.com/services/T/B/secret'])).toBe('accepted');
    expect(refused(['file:///etc/passwd'])).toBe(
      'webhook_urls[0]: only http:// and https:// webhooks are posted to',
    );
    expect(refused(['https://user:pw@hooks.slack.com/x'])).toBe(
      'webhook_urls[0]: credentials in the URL are not accepted',
    );
    expect(refused(['https://hooks.slack.com/a', 'http://169.254.169.254/latest/secret'])).toBe(
      'webhook_urls[1]: host 169.254.169.254 is not in WEBHOOK_ALLOWED_HOSTS',
    );
    expect(refused(['https://hooks.slack.com/a'], [])).toBe(
      'webhook_urls[0]: this server takes no per-session webhooks (WEBHOOK_ALLOWED_HOSTS is empty)',
    );
    expect(refused(Array.from({ length: 5 }, () => 'https://hooks.slack.com/a'))).toBe(
      'webhook_urls: 5 URLs, at most 4 per session',
    );
    expect(refused(['not a url'])).toBe('webhook_urls[0] is not a URL');
  });
});
