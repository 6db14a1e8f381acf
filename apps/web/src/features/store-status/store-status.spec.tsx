import { render, screen, waitFor } from '@testing-library/react';
import { StoreStatusBanner, storeProblemOf } from './store-status';

describe('storeProblemOf', () => {
  it('is the reason of a 503 that names the store, without its prefix', () => {
    expect(
      storeProblemOf(503, { status: 'unavailable', reason: 'store: database or disk is full' }),
    ).toBe('database or disk is full');
  });

  it('is nothing for a healthy server, a server starting or stopping, or an answer it cannot read', () => {
    expect(storeProblemOf(200, { status: 'ok', sessions: 1 })).toBeUndefined();
    expect(storeProblemOf(503, { status: 'unavailable', reason: 'shutting down' })).toBeUndefined();
    expect(storeProblemOf(503, { status: 'unavailable' })).toBeUndefined();
    expect(storeProblemOf(503, undefined)).toBeUndefined();
    expect(storeProblemOf(503, 'store: text')).toBeUndefined();
  });
});

describe('StoreStatusBanner', () => {
  const original = globalThis.fetch;
  let answers: (() => Promise<Response>)[];
  let asked: string[];

  beforeEach(() => {
    answers = [];
    asked = [];
    globalThis.fetch = ((url: string) => {
      asked.push(url);
      const next = answers.length > 1 ? answers.shift() : answers[0];
      return next === undefined ? Promise.reject(new TypeError('no answer')) : next();
    }) as typeof fetch;
  });
  afterEach(() => {
    globalThis.fetch = original;
  });

  // jsdom has no Response: what the hook reads of one.
  const json = (status: number, body: unknown) => () =>
    Promise.resolve({ status, json: () => Promise.resolve(body) } as Response);

  it('appears while /healthz says the store fails and goes once it saves again', async () => {
    const failing = json(503, { status: 'unavailable', reason: 'store: database or disk is full' });
    // A few answers of the outage (the banner is looked for while they last), then healthy for good.
    answers = [failing, failing, failing, failing, json(200, { status: 'ok', sessions: 0 })];
    render(<StoreStatusBanner intervalMs={20} />);
    const banner = await screen.findByTestId('store-banner');
    expect(banner.textContent).toContain('Runs are not being saved: database or disk is full.');
    await waitFor(() => expect(screen.queryByTestId('store-banner')).toBeNull());
    expect(asked[0]).toBe('/healthz');
    expect(asked.length).toBeGreaterThanOrEqual(2);
  });

  it('says nothing when the server is unreachable or not serving for another reason', async () => {
    answers = [() => Promise.reject(new TypeError('Failed to fetch'))];
    const { unmount } = render(<StoreStatusBanner intervalMs={20} />);
    await waitFor(() => expect(asked.length).toBeGreaterThanOrEqual(2));
    expect(screen.queryByTestId('store-banner')).toBeNull();
    unmount();

    asked = [];
    answers = [json(503, { status: 'unavailable', reason: 'starting' })];
    render(<StoreStatusBanner intervalMs={20} />);
    await waitFor(() => expect(asked.length).toBeGreaterThanOrEqual(2));
    expect(screen.queryByTestId('store-banner')).toBeNull();
  });

  it('stops asking once unmounted', async () => {
    answers = [json(200, { status: 'ok' })];
    const { unmount } = render(<StoreStatusBanner intervalMs={20} />);
    await waitFor(() => expect(asked.length).toBeGreaterThanOrEqual(1));
    unmount();
    const count = asked.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(asked.length).toBeLessThanOrEqual(count + 1);
  });
});
