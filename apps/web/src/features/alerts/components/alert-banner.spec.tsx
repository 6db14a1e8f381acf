import { create } from '@bufbuild/protobuf';
import { AlertRuleKind, AlertSchema } from '@trainwatch/proto';
import { render, screen } from '@testing-library/react';
import { createRouterTransport } from '@connectrpc/connect';
import { TransportProvider } from '../../../common/transport-context';
import { AlertBanner } from './alert-banner';

describe('AlertBanner', () => {
  it('shows open alerts with their count, hides acknowledged ones, and counts them in the tab title', () => {
    document.title = 'trainwatch';
    const open = create(AlertSchema, {
      alertId: 'a1',
      kind: AlertRuleKind.NON_FINITE,
      message: 'non-finite value: loss is NaN at step 3',
      count: 40,
    });
    const seen = create(AlertSchema, { alertId: 'a2', message: 'old', acknowledgedAtMs: 5n });
    render(
      <TransportProvider transport={createRouterTransport(() => undefined)}>
        <AlertBanner sessionId="s" alerts={[open, seen]} />
      </TransportProvider>,
    );
    expect(screen.getByTestId('alert-banner').textContent).toContain(
      'loss is NaN at step 3 (40 times)',
    );
    expect(screen.queryByText(/old/)).toBeNull();
    expect(document.title).toBe('(1 alert) trainwatch');
  });
});
