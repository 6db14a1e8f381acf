import { Role } from '@trainwatch/proto';
import { useState } from 'react';
import { ROLE_LABEL } from '../auth/permissions';

/** Name, role and first password of a new user. */
export function CreateUserForm({
  roles,
  onCreate,
}: {
  roles: readonly Role[];
  onCreate: (userName: string, role: Role, password: string) => void;
}) {
  const [userName, setUserName] = useState('');
  const [role, setRole] = useState<Role>(Role.VIEWER);
  const [password, setPassword] = useState('');
  return (
    <form
      className="admin-form"
      aria-label="New user"
      onSubmit={(event) => {
        event.preventDefault();
        onCreate(userName.trim(), role, password);
        setUserName('');
        setPassword('');
      }}
    >
      <input
        aria-label="New user name"
        placeholder="user name"
        data-testid="admin-new-user"
        value={userName}
        onChange={(event) => setUserName(event.target.value)}
      />
      <select
        aria-label="New user role"
        data-testid="admin-new-role"
        value={role}
        onChange={(event) => setRole(Number(event.target.value) as Role)}
      >
        {roles.map((option) => (
          <option key={option} value={option}>
            {ROLE_LABEL[option]}
          </option>
        ))}
      </select>
      <input
        aria-label="New user password"
        placeholder="password (8 characters or more)"
        type="password"
        autoComplete="new-password"
        data-testid="admin-new-password"
        value={password}
        onChange={(event) => setPassword(event.target.value)}
      />
      <button type="submit" data-testid="admin-create-user">
        Create user
      </button>
    </form>
  );
}
