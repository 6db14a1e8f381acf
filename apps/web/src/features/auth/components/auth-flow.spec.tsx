import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  GetSignInOptionsResponseSchema,
  Role,
  SignInResponseSchema,
  SignOutResponseSchema,
  TrainingStatus,
  WhoAmIResponseSchema,
  type SetUpFirstAdminRequest,
} from '@trainwatch/proto';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { App } from '../../../app';
import { FakeDashboard } from '../../../test/fake-dashboard';
import { summary } from '../../../test/fixtures';
import { renderWithServer } from '../../../test/render';
import { CommandBar } from '../../commands/components/command-bar';
import { AuthContext, type AuthApi } from '../auth-context';

const signedIn = (userName: string, role: Role) =>
  create(SignInResponseSchema, { identity: { userName, role } });

/** A server with AUTH=required where `vera` (viewer) signs in with "right-password". */
function authServer({ firstAdminNeeded = false } = {}) {
  const state = { signedIn: false, setUps: [] as SetUpFirstAdminRequest[] };
  const fake = new FakeDashboard({
    auth: {
      whoAmI: () => {
        if (!state.signedIn) throw new ConnectError('sign in', Code.Unauthenticated);
        return create(WhoAmIResponseSchema, {
          authRequired: true,
          identity: { userName: 'vera', role: Role.VIEWER },
        });
      },
      getSignInOptions: () =>
        create(GetSignInOptionsResponseSchema, { authRequired: true, firstAdminNeeded }),
      signIn: (request) => {
        if (request.password !== 'right-password') {
          throw new ConnectError('user name or password is wrong', Code.Unauthenticated);
        }
        state.signedIn = true;
        return signedIn(request.userName, Role.VIEWER);
      },
      setUpFirstAdmin: (request) => {
        state.setUps.push(request);
        state.signedIn = true;
        return signedIn(request.userName, Role.ADMIN);
      },
      signOut: () => {
        state.signedIn = false;
        return create(SignOutResponseSchema);
      },
    },
  });
  fake.sessions = [summary({ sessionId: 'run-1' })];
  return { fake, state };
}

function type(testId: string, value: string): void {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

describe('sign-in', () => {
  it('asks to sign in, says when the password is wrong, then shows the runs with who is signed in; sign-out returns', async () => {
    const { fake } = authServer();
    render(<App transport={fake.transport} />);
    await screen.findByTestId('sign-in-page');
    expect(fake.listCalls).toBe(0);
    type('sign-in-user', 'vera');
    type('sign-in-password', 'wrong');
    fireEvent.click(screen.getByTestId('sign-in-submit'));
    expect((await screen.findByTestId('sign-in-error')).textContent).toBe(
      'user name or password is wrong',
    );
    type('sign-in-password', 'right-password');
    fireEvent.click(screen.getByTestId('sign-in-submit'));
    await screen.findByTestId('sessions-table');
    expect(screen.getByTestId('current-user').textContent).toBe('vera');
    expect(screen.getByTestId('current-role').textContent).toBe('viewer');
    // Only admins get the link to users and keys.
    expect(screen.queryByTestId('admin-link')).toBeNull();
    fireEvent.click(screen.getByTestId('sign-out'));
    await screen.findByTestId('sign-in-page');
    expect(screen.queryByTestId('current-user')).toBeNull();
  });

  it('offers the first-admin set-up while the server has no users', async () => {
    const { fake, state } = authServer({ firstAdminNeeded: true });
    render(<App transport={fake.transport} />);
    await screen.findByTestId('setup-page');
    type('setup-token', 'the-setup-token');
    type('sign-in-user', 'root');
    type('sign-in-password', 'a long password');
    fireEvent.click(screen.getByTestId('sign-in-submit'));
    await screen.findByTestId('sessions-table');
    expect(state.setUps[0]).toMatchObject({
      setupToken: 'the-setup-token',
      userName: 'root',
      password: 'a long password',
    });
    expect(screen.getByTestId('current-role').textContent).toBe('admin');
    expect(screen.getByTestId('admin-link')).toBeTruthy();
  });

  it('an UNAUTHENTICATED answer while signed in (signed out elsewhere) returns to sign-in and says why', async () => {
    const { fake, state } = authServer();
    state.signedIn = true;
    render(<App transport={fake.transport} />);
    await screen.findByTestId('sessions-table');
    act(() => {
      state.signedIn = false;
      fake.listError = new ConnectError('your sign-in session ended', Code.Unauthenticated);
    });
    expect((await screen.findByTestId('sign-in-notice')).textContent).toBe(
      'You were signed out: your sign-in session ended',
    );
  });

  it('with AUTH=off (no AuthService answers) there is no sign-in and no user in the header', async () => {
    const fake = new FakeDashboard();
    fake.sessions = [summary({ sessionId: 'run-1' })];
    render(<App transport={fake.transport} />);
    await screen.findByTestId('sessions-table');
    expect(screen.queryByTestId('sign-in-page')).toBeNull();
    expect(screen.queryByTestId('sign-out')).toBeNull();
  });
});

describe('role-aware controls', () => {
  const as = (role: Role): AuthApi => ({
    state: { kind: 'signed-in', userName: 'vera', role },
    signIn: () => Promise.resolve(),
    setUpFirstAdmin: () => Promise.resolve(),
    signOut: () => Promise.resolve(),
  });

  it('a viewer sees Pause and Stop disabled, saying why; an operator can use them', async () => {
    const fake = new FakeDashboard();
    const { unmount } = renderWithServer(
      fake,
      <AuthContext.Provider value={as(Role.VIEWER)}>
        <CommandBar sessionId="run-1" status={TrainingStatus.RUNNING} />
      </AuthContext.Provider>,
    );
    const why = 'viewers cannot send commands; ask an admin for the operator role';
    for (const id of ['command-pause', 'command-stop']) {
      const button = screen.getByTestId(id) as HTMLButtonElement;
      expect([id, button.disabled, button.title]).toEqual([id, true, why]);
    }
    expect(screen.getByTestId('command-permission').textContent).toBe(why);
    unmount();

    renderWithServer(
      fake,
      <AuthContext.Provider value={as(Role.OPERATOR)}>
        <CommandBar sessionId="run-1" status={TrainingStatus.RUNNING} />
      </AuthContext.Provider>,
    );
    expect((screen.getByTestId('command-stop') as HTMLButtonElement).disabled).toBe(false);
    expect(screen.queryByTestId('command-permission')).toBeNull();
  });

  it('PERMISSION_DENIED from the server is shown in words', async () => {
    const fake = new FakeDashboard();
    fake.onSendCommand = () =>
      Promise.reject(
        new ConnectError(
          'vera is a viewer; DashboardService/SendCommand needs the operator role',
          Code.PermissionDenied,
        ),
      );
    renderWithServer(fake, <CommandBar sessionId="run-1" status={TrainingStatus.RUNNING} />);
    fireEvent.click(screen.getByTestId('command-pause'));
    await waitFor(() =>
      expect(screen.getByTestId('command-outcome').textContent).toBe(
        'Pause failed: not allowed: vera is a viewer; DashboardService/SendCommand needs the operator role',
      ),
    );
  });
});
