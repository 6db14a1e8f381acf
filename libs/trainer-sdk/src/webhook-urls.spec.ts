import { toWebhookUrls } from './webhook-urls';

describe('the webhooks option', () => {
  it('takes http(s) URLs as given', () => {
    expect(
      toWebhookUrls(['https://hooks.slack.com/services/T/B/x', 'http://127.0.0.1:9/h']),
    ).toEqual(['https://hooks.slack.com/services/T/B/x', 'http://127.0.0.1:9/h']);
    expect(toWebhookUrls()).toEqual([]);
  });

  it('names the entry that is not http(s), not a URL, or over the bound, without echoing it', () => {
    expect(() => toWebhookUrls(['file:///etc/secret'])).toThrow(
      /^webhooks\[0\] must be an http:\/\/ or https:\/\/ URL$/,
    );
    expect(() => toWebhookUrls(['https://a.example/ok', 'not a url'])).toThrow(
      /^webhooks\[1\] is not a URL$/,
    );
    expect(() =>
      toWebhookUrls(Array.from({ length: 5 }, (_, i) => `https://h${i}.example/`)),
    ).toThrow('webhooks: 5 URLs, at most 4 per run');
  });
});
