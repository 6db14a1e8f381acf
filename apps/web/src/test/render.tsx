import { render, type RenderResult } from '@testing-library/react';
import type { ReactElement } from 'react';
import { TransportProvider } from '../common/transport-context';
import type { FakeDashboard } from './fake-dashboard';

/** Renders `ui` talking to the fake server. */
export function renderWithServer(fake: FakeDashboard, ui: ReactElement): RenderResult {
  return render(<TransportProvider transport={fake.transport}>{ui}</TransportProvider>);
}
