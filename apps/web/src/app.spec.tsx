import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { App } from './app';
import { FakeDashboard } from './test/fake-dashboard';
import { snapshot, summary } from './test/fixtures';

function navigate(hash: string): void {
  act(() => {
    window.location.hash = hash;
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  });
}

describe('App', () => {
  afterEach(() => navigate(''));

  it('opens a session from the list on one stream and closes that stream on the way back', async () => {
    const fake = new FakeDashboard();
    fake.sessions = [summary({ sessionId: 'run-1' })];
    render(<App transport={fake.transport} />);
    fireEvent.click(await screen.findByRole('link', { name: 'run-1' }));
    // jsdom follows the href by updating location.hash and firing hashchange.
    await waitFor(() => expect(window.location.hash).toBe('#/sessions/run-1'));
    expect((await screen.findByTestId('session-title')).textContent).toBe('run-1');
    act(() => fake.stream(0).push(snapshot(0n, [0, 1])));
    await waitFor(() =>
      expect(screen.getByTestId('loss-chart').getAttribute('data-points')).toBe('2'),
    );
    expect(fake.watchRequests).toEqual(['run-1']);

    const listCallsWhileWatching = fake.listCalls;
    navigate('#/');
    await screen.findByTestId('sessions-table');
    await waitFor(() => expect(fake.cancelled).toBe(1));
    expect(fake.listCalls).toBeGreaterThan(listCallsWhileWatching);
    expect(fake.watchRequests).toHaveLength(1);
  });
});
