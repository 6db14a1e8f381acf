import { render, screen } from '@testing-library/react';
import { ConnectionState, TrainingStatus } from '@trainwatch/proto';
import { summary } from '../../../test/fixtures';
import { ConnectionIndicator } from './connection-indicator';

const NOW = 10_000_000;
const TWELVE_MINUTES_MS = 12 * 60_000;

function indicatorText(): string {
  return screen.getByTestId('connection-indicator').textContent ?? '';
}

describe('ConnectionIndicator', () => {
  beforeEach(() => jest.useFakeTimers({ now: NOW }));
  afterEach(() => jest.useRealTimers());

  it('says a run that finished 12 minutes ago finished then, however recent the last keepalive', () => {
    render(
      <ConnectionIndicator
        link={{ kind: 'live' }}
        summary={summary({
          status: TrainingStatus.COMPLETED,
          connection: ConnectionState.CLOSED,
          lastUpdateMs: BigInt(NOW - TWELVE_MINUTES_MS),
        })}
        // A keepalive just arrived on the open stream.
        lastEventAt={NOW}
      />,
    );
    expect(indicatorText()).toBe('Run finished · last update 12m 0s ago');
  });

  it('does not say Live while the trainer of a running run is disconnected', () => {
    render(
      <ConnectionIndicator
        link={{ kind: 'live' }}
        summary={summary({
          connection: ConnectionState.DISCONNECTED,
          lastUpdateMs: BigInt(NOW - 5_000),
        })}
        lastEventAt={NOW}
      />,
    );
    expect(indicatorText()).toBe('Waiting for the trainer · last update 5.0 s ago');
  });

  it('says Live with the age of the last batch while the trainer sends', () => {
    render(
      <ConnectionIndicator
        link={{ kind: 'live' }}
        summary={summary({ lastUpdateMs: BigInt(NOW - 300) })}
        lastEventAt={NOW}
      />,
    );
    expect(indicatorText()).toBe('Live · last update 300 ms ago');
  });
});
