import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  ApiKeySchema,
  CreateApiKeyResponseSchema,
  ListApiKeysResponseSchema,
  ListUsersResponseSchema,
  Role,
  UserSchema,
  type ApiKey,
  type User,
} from '@trainwatch/proto';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { FakeDashboard } from '../../test/fake-dashboard';
import { renderWithServer } from '../../test/render';
import { AuthContext, type AuthApi } from '../auth/auth-context';
import { AdminPage } from './admin-page';

const as = (role: Role): AuthApi => ({
  state: { kind: 'signed-in', userName: 'root', role },
  signIn: () => Promise.resolve(),
  setUpFirstAdmin: () => Promise.resolve(),
  signOut: () => Promise.resolve(),
});

/** An AdminService holding users and keys in memory, like the server's store. */
function adminServer() {
  const users: User[] = [create(UserSchema, { userName: 'root', role: Role.ADMIN })];
  const keys: ApiKey[] = [];
  const fake = new FakeDashboard({
    admin: {
      listUsers: () => create(ListUsersResponseSchema, { users }),
      listApiKeys: () => create(ListApiKeysResponseSchema, { keys }),
      createUser: (request) => {
        if (users.some((user) => user.userName === request.userName)) {
          throw new ConnectError(`user "${request.userName}" already exists`, Code.InvalidArgument);
        }
        const user = create(UserSchema, { userName: request.userName, role: request.role });
        users.push(user);
        return user;
      },
      setUserRole: (request) => {
        const user = users.find((u) => u.userName === request.userName);
        if (user === undefined) throw new ConnectError('no user', Code.InvalidArgument);
        user.role = request.role;
        return user;
      },
      createApiKey: (request) => {
        const key = create(ApiKeySchema, {
          keyId: `k${keys.length + 1}`,
          userName: request.userName,
          name: request.name,
        });
        keys.push(key);
        return create(CreateApiKeyResponseSchema, { key, secret: `twk_secret-${keys.length}` });
      },
      revokeApiKey: (request) => {
        const key = keys.find((k) => k.keyId === request.keyId);
        if (key === undefined) throw new ConnectError('no key', Code.InvalidArgument);
        key.revokedAtMs = 1n;
        return key;
      },
    },
  });
  return { fake, users, keys };
}

function renderAs(fake: FakeDashboard, role: Role) {
  return renderWithServer(
    fake,
    <AuthContext.Provider value={as(role)}>
      <AdminPage />
    </AuthContext.Provider>,
  );
}

describe('AdminPage', () => {
  it('creates a user, changes a role, creates a key shown once, and revokes it', async () => {
    const { fake, users } = adminServer();
    renderAs(fake, Role.ADMIN);
    await screen.findByTestId('user-role-root');
    fireEvent.change(screen.getByTestId('admin-new-user'), { target: { value: 'vera' } });
    fireEvent.change(screen.getByTestId('admin-new-password'), {
      target: { value: 'long enough' },
    });
    fireEvent.click(screen.getByTestId('admin-create-user'));
    const role = (await screen.findByTestId('user-role-vera')) as HTMLSelectElement;
    expect(role.value).toBe(String(Role.VIEWER));
    fireEvent.change(role, { target: { value: String(Role.OPERATOR) } });
    await waitFor(() => expect(users.find((u) => u.userName === 'vera')?.role).toBe(Role.OPERATOR));

    fireEvent.change(screen.getByTestId('admin-key-user'), { target: { value: 'vera' } });
    fireEvent.change(screen.getByTestId('admin-key-name'), { target: { value: 'gpu-1' } });
    fireEvent.click(screen.getByTestId('admin-create-key'));
    expect((await screen.findByTestId('admin-new-key-secret')).textContent).toBe('twk_secret-1');
    expect((await screen.findByTestId('admin-key-state')).textContent).toBe('active');
    fireEvent.click(screen.getByText('Done'));
    // Once dismissed, the secret is nowhere on the page: the list never has it.
    expect(screen.queryByText('twk_secret-1')).toBeNull();

    fireEvent.click(screen.getByTestId('key-revoke-k1'));
    await waitFor(() =>
      expect(screen.getByTestId('admin-key-state').textContent).toMatch(/^revoked/),
    );
  });

  it("shows the server's refusal in words", async () => {
    const { fake } = adminServer();
    renderAs(fake, Role.ADMIN);
    await screen.findByTestId('user-role-root');
    fireEvent.change(screen.getByTestId('admin-new-user'), { target: { value: 'root' } });
    fireEvent.click(screen.getByTestId('admin-create-user'));
    expect((await screen.findByTestId('admin-error')).textContent).toBe(
      'user "root" already exists',
    );
  });

  it('tells a non-admin why the page is not for them, without asking the server', () => {
    const { fake } = adminServer();
    renderAs(fake, Role.OPERATOR);
    expect(screen.getByTestId('admin-error').textContent).toBe(
      'only admins can manage users and API keys',
    );
    expect(screen.queryByTestId('admin-users')).toBeNull();
  });
});
