import { ConnectError } from '@connectrpc/connect';
import {
  AdminService,
  Role,
  type ApiKey,
  type CreateApiKeyResponse,
  type User,
} from '@trainwatch/proto';
import { useCallback, useEffect, useState } from 'react';
import { formatTime } from '../../common/format';
import { useServiceClient } from '../../common/transport-context';
import { usePermission } from '../auth/hooks/use-auth';
import { describeAccessError, ROLE_LABEL } from '../auth/permissions';
import { CreateKeyForm, NewKeyNotice } from './create-key-form';
import { CreateUserForm } from './create-user-form';
import './admin-page.css';

const ROLES = [Role.VIEWER, Role.OPERATOR, Role.ADMIN] as const;

export const errorText = (error: unknown) =>
  describeAccessError(error) ?? ConnectError.from(error).rawMessage;

/** Users and API keys (AdminService), for admins: create users, set roles, create and revoke keys. */
export function AdminPage() {
  const permission = usePermission('admin');
  const admin = useServiceClient(AdminService);
  const [users, setUsers] = useState<User[]>([]);
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [error, setError] = useState<string>();
  const [newKey, setNewKey] = useState<CreateApiKeyResponse>();

  const refresh = useCallback(() => {
    Promise.all([admin.listUsers({}), admin.listApiKeys({})]).then(
      ([userList, keyList]) => {
        setUsers(userList.users);
        setKeys(keyList.keys);
      },
      (failure: unknown) => setError(errorText(failure)),
    );
  }, [admin]);

  useEffect(() => {
    if (permission.allowed) refresh();
  }, [permission.allowed, refresh]);

  if (!permission.allowed) {
    return (
      <main className="page" data-testid="admin-page">
        <p className="error" role="alert" data-testid="admin-error">
          {permission.reason}
        </p>
      </main>
    );
  }

  const act = (call: () => Promise<unknown>) => {
    setError(undefined);
    call().then(refresh, (failure: unknown) => setError(errorText(failure)));
  };

  return (
    <main className="page admin-page" data-testid="admin-page">
      <h1>Users and API keys</h1>
      {error && (
        <p className="error" role="alert" data-testid="admin-error">
          {error}
        </p>
      )}
      <section aria-label="Users">
        <h2>Users</h2>
        <table data-testid="admin-users">
          <thead>
            <tr>
              <th>Name</th>
              <th>Role</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.userName} data-testid="admin-user-row" data-user={user.userName}>
                <td>{user.userName}</td>
                <td>
                  <select
                    aria-label={`Role of ${user.userName}`}
                    data-testid={`user-role-${user.userName}`}
                    value={user.role}
                    onChange={(event) =>
                      act(() =>
                        admin.setUserRole({
                          userName: user.userName,
                          role: Number(event.target.value) as Role,
                        }),
                      )
                    }
                  >
                    {ROLES.map((role) => (
                      <option key={role} value={role}>
                        {ROLE_LABEL[role]}
                      </option>
                    ))}
                  </select>
                </td>
                <td className="small muted">{formatTime(Number(user.createdAtMs))}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <CreateUserForm
          roles={ROLES}
          onCreate={(userName, role, password) =>
            act(() => admin.createUser({ userName, role, password }))
          }
        />
      </section>
      <section aria-label="API keys">
        <h2>API keys</h2>
        <p className="small muted">
          Trainers present a key as <code>TRAINWATCH_API_KEY</code> (or the SDKs&apos;{' '}
          <code>apiKey</code> option). A key may write only the runs it created.
        </p>
        {newKey && (
          <NewKeyNotice
            apiKey={newKey.key}
            secret={newKey.secret}
            onDismiss={() => setNewKey(undefined)}
          />
        )}
        <table data-testid="admin-keys">
          <thead>
            <tr>
              <th>Id</th>
              <th>User</th>
              <th>Name</th>
              <th>Created</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.keyId} data-testid="admin-key-row" data-key-id={key.keyId}>
                <td>
                  <code>{key.keyId}</code>
                </td>
                <td>{key.userName}</td>
                <td>{key.name || '—'}</td>
                <td className="small muted">{formatTime(Number(key.createdAtMs))}</td>
                <td data-testid="admin-key-state">
                  {key.revokedAtMs === 0n
                    ? 'active'
                    : `revoked ${formatTime(Number(key.revokedAtMs))}`}
                </td>
                <td>
                  {key.revokedAtMs === 0n && (
                    <button
                      type="button"
                      className="danger"
                      data-testid={`key-revoke-${key.keyId}`}
                      title="Refused from now on; trainers streaming with it are cut off within a second"
                      onClick={() => act(() => admin.revokeApiKey({ keyId: key.keyId }))}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <CreateKeyForm
          userNames={users.map((user) => user.userName)}
          onCreate={(userName, name) =>
            act(async () => setNewKey(await admin.createApiKey({ userName, name })))
          }
        />
      </section>
    </main>
  );
}
