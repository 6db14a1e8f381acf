import { ConnectError } from '@connectrpc/connect';
import type { SessionSummary } from '@trainwatch/proto';
import { useState } from 'react';
import { useDashboardClient } from '../../../common/transport-context';
import { usePermission } from '../../auth/hooks/use-auth';
import { describeAccessError } from '../../auth/permissions';
import { ConfirmDialog } from '../../commands/components/confirm-dialog';

type Editing = 'name' | 'tags' | 'note' | undefined;

/** The in-place edits the Edit button opens, in order, before Delete. */
const EDITS = [
  { what: 'name', testId: 'run-rename', label: 'Rename' },
  { what: 'tags', testId: 'run-tags', label: 'Tags' },
  { what: 'note', testId: 'run-note', label: 'Note' },
] as const;

/**
 * Rename, tag, note and delete a run in place (UpdateSession,
 * DeleteSession); `onChanged` asks the list again. Delete asks first, in
 * the page; the server refuses it while the run's trainer streams, and the
 * reason is shown.
 *
 * A row shows one "Edit" button that opens the four actions: four buttons in
 * every row of a scrolled list were the costliest part of a row to lay out
 * (the runs-page benchmark scrolled at 48-52 fps with them, 55-56 without).
 */
export function RunActions({
  session,
  onChanged,
}: {
  session: SessionSummary;
  onChanged: () => void;
}) {
  const client = useDashboardClient();
  const [open, setOpen] = useState(false);
  const [editing, setEditing] = useState<Editing>();
  const [draft, setDraft] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();
  const id = session.sessionId;
  const edit = usePermission('edit');
  const remove = usePermission('delete');
  const editRefusal = edit.allowed ? undefined : edit.reason;
  const deleteRefusal = remove.allowed ? undefined : remove.reason;

  const start = (what: Editing) => {
    setOpen(false);
    setError(undefined);
    setEditing(what);
    setDraft(
      what === 'name'
        ? session.name
        : what === 'tags'
          ? (session.metadata?.tags ?? []).join(', ')
          : (session.metadata?.note ?? ''),
    );
  };

  const run = (call: () => Promise<unknown>) => {
    call()
      .then(() => {
        setEditing(undefined);
        setError(undefined);
        onChanged();
      })
      .catch((failure: unknown) =>
        setError(describeAccessError(failure) ?? ConnectError.from(failure).rawMessage),
      );
  };

  const save = () =>
    run(() =>
      editing === 'name'
        ? client.updateSession({ sessionId: id, name: draft.trim() })
        : editing === 'tags'
          ? client.updateSession({
              sessionId: id,
              setTags: true,
              tags: draft
                .split(',')
                .map((tag) => tag.trim())
                .filter((tag) => tag !== ''),
            })
          : client.updateSession({ sessionId: id, note: draft }),
    );

  return (
    <div className="run-actions small" data-testid="run-actions">
      {editing === undefined && (
        <button
          type="button"
          data-testid="run-actions-open"
          aria-expanded={open}
          aria-controls={open ? `run-actions-${id}` : undefined}
          onClick={() => setOpen(!open)}
        >
          Edit
        </button>
      )}
      {editing === undefined && open && (
        <div
          id={`run-actions-${id}`}
          role="group"
          aria-label={`Edit ${id}`}
          data-testid="run-actions-menu"
          className="run-actions-menu"
          onKeyDown={(event) => {
            if (event.key === 'Escape') setOpen(false);
          }}
        >
          {EDITS.map(({ what, testId, label }) => (
            <button
              key={what}
              type="button"
              data-testid={testId}
              disabled={editRefusal !== undefined}
              title={editRefusal}
              onClick={() => start(what)}
            >
              {label}
            </button>
          ))}
          <button
            type="button"
            className="danger"
            data-testid="run-delete"
            disabled={deleteRefusal !== undefined}
            title={deleteRefusal}
            onClick={() => {
              setOpen(false);
              setConfirming(true);
            }}
          >
            Delete
          </button>
        </div>
      )}
      {editing !== undefined && (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            save();
          }}
        >
          <input
            autoFocus
            aria-label={
              editing === 'name' ? 'Name' : editing === 'tags' ? 'Tags, comma-separated' : 'Note'
            }
            data-testid="run-edit-input"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === 'Escape') setEditing(undefined);
            }}
          />
          <button type="submit" data-testid="run-edit-save">
            Save
          </button>
          <button type="button" onClick={() => setEditing(undefined)}>
            Cancel
          </button>
        </form>
      )}
      {error && (
        <p className="error" role="alert" data-testid="run-action-error">
          {error}
        </p>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Delete ${session.name || id}?`}
          message="Every point, epoch, image and log line of this run is deleted from the server. This cannot be undone."
          confirmLabel="Delete run"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            run(() => client.deleteSession({ sessionId: id }));
          }}
        />
      )}
    </div>
  );
}
