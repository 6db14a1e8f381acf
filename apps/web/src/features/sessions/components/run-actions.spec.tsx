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

/** Opens the row's actions (one Edit button per row) and clicks one of them. */
function act(id: string, action: string) {
  const toggle = within(rowOf(id)).getByTestId('run-actions-open');
  fireEvent.click(toggle);
  expect(toggle.getAttribute('aria-expanded')).toBe('true');
  fireEvent.click(within(rowOf(id)).getByTestId(action));
}

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
    act('alpha', 'run-rename');
    fireEvent.change(screen.getByTestId('run-edit-input'), { target: { value: 'baseline' } });
    fireEvent.click(screen.getByTestId('run-edit-save'));
    await waitFor(() =>
      expect(within(rowOf('alpha')).getByTestId('run-name').textContent).toBe('baseline'),
    );
    act('alpha', 'run-tags');
    fireEvent.change(screen.getByTestId('run-edit-input'), { target: { value: 'a, b ,' } });
    fireEvent.click(screen.getByTestId('run-edit-save'));
    await waitFor(() =>
      expect(within(rowOf('alpha')).getByTestId('run-tag-list').textContent).toBe('ab'),
    );
  });

  it('shows one Edit button per row until it is opened, and closes with Escape', async () => {
    setUp();
    await screen.findByText('alpha');
    expect(within(rowOf('alpha')).queryByTestId('run-rename')).toBeNull();
    const toggle = within(rowOf('alpha')).getByTestId('run-actions-open');
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(toggle);
    const menu = within(rowOf('alpha')).getByTestId('run-actions-menu');
    expect(toggle.getAttribute('aria-controls')).toBe(menu.id);
    expect(
      within(menu)
        .getAllByRole('button')
        .map((button) => button.textContent),
    ).toEqual(['Rename', 'Tags', 'Note', 'Delete']);
    // Only the opened row shows its actions.
    expect(within(rowOf('beta')).queryByTestId('run-actions-menu')).toBeNull();
    fireEvent.keyDown(within(menu).getByTestId('run-note'), { key: 'Escape' });
    expect(within(rowOf('alpha')).queryByTestId('run-actions-menu')).toBeNull();
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
  });

  it('deletes a run only after confirming', async () => {
    setUp();
    await screen.findByText('beta');
    act('beta', 'run-delete');
    fireEvent.click(screen.getByText('Cancel'));
    expect(screen.queryByTestId('confirm-dialog')).toBeNull();
    expect(screen.getByText('beta')).toBeTruthy();
    act('beta', 'run-delete');
    fireEvent.click(screen.getByTestId('confirm-yes'));
    await waitFor(() => expect(screen.queryByText('beta')).toBeNull());
    expect(screen.getByText('alpha')).toBeTruthy();
  });
});
