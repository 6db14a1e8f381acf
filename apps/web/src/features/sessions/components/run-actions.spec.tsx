import { create } from '@bufbuild/protobuf';
import { RunMetadataSchema } from '@trainwatch/proto';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { FakeDashboard } from '../../../test/fake-dashboard';
import { summary } from '../../../test/fixtures';
import { renderWithServer } from '../../../test/render';
import { SessionsPage } from './sessions-page';

const rowOf = (id: string) =>
  screen
    .getAllByTestId('session-row')
    .find((row) => row.getAttribute('data-session-id') === id) as HTMLElement;

function setUp() {
  const fake = new FakeDashboard();
  fake.sessions = [
    summary({ sessionId: 'alpha', metadata: create(RunMetadataSchema, { tags: [] }) }),
    summary({ sessionId: 'beta', metadata: create(RunMetadataSchema, { tags: [] }) }),
  ];
  renderWithServer(fake, <SessionsPage pollIntervalMs={20} />);
  return fake;
}

describe('runs page search and in-place edits', () => {
  it('searches on the server and starts again from the first page', async () => {
    const fake = setUp();
    await screen.findByText('beta');
    fireEvent.change(screen.getByTestId('runs-search'), { target: { value: 'alp' } });
    await waitFor(() => expect(screen.queryByText('beta')).toBeNull());
    expect(screen.getByText('alpha')).toBeTruthy();
    expect(fake.listQueries.at(-1)?.text).toBe('alp');
    expect(fake.listRequests.at(-1)?.pageToken).toBe('');
    fireEvent.change(screen.getByTestId('runs-search'), { target: { value: 'nothing' } });
    await screen.findByTestId('runs-none-match');
  });

  it('renames and tags a run in place', async () => {
    setUp();
    await screen.findByText('alpha');
    fireEvent.click(within(rowOf('alpha')).getByTestId('run-rename'));
    fireEvent.change(screen.getByTestId('run-edit-input'), { target: { value: 'baseline' } });
    fireEvent.click(screen.getByTestId('run-edit-save'));
    await waitFor(() =>
      expect(within(rowOf('alpha')).getByTestId('run-name').textContent).toBe('baseline'),
    );
    fireEvent.click(within(rowOf('alpha')).getByTestId('run-tags'));
    fireEvent.change(screen.getByTestId('run-edit-input'), { target: { value: 'a, b ,' } });
    fireEvent.click(screen.getByTestId('run-edit-save'));
    await waitFor(() =>
      expect(within(rowOf('alpha')).getByTestId('run-tag-list').textContent).toBe('ab'),
    );
  });

  it('deletes a run only after confirming', async () => {
    setUp();
    await screen.findByText('beta');
    fireEvent.click(within(rowOf('beta')).getByTestId('run-delete'));
    fireEvent.click(screen.getByText('Cancel'));
    expect(screen.queryByTestId('confirm-dialog')).toBeNull();
    expect(screen.getByText('beta')).toBeTruthy();
    fireEvent.click(within(rowOf('beta')).getByTestId('run-delete'));
    fireEvent.click(screen.getByTestId('confirm-yes'));
    await waitFor(() => expect(screen.queryByText('beta')).toBeNull());
    expect(screen.getByText('alpha')).toBeTruthy();
  });
});
