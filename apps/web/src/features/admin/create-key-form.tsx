import type { ApiKey } from '@trainwatch/proto';
import { useState } from 'react';

/** A new API key for one of the users, with an optional name saying what it is for. */
export function CreateKeyForm({
  userNames,
  onCreate,
}: {
  userNames: readonly string[];
  onCreate: (userName: string, name: string) => void;
}) {
  const [userName, setUserName] = useState('');
  const [name, setName] = useState('');
  const chosen = userName || userNames[0] || '';
  return (
    <form
      className="admin-form"
      aria-label="New API key"
      onSubmit={(event) => {
        event.preventDefault();
        onCreate(chosen, name.trim());
        setName('');
      }}
    >
      <select
        aria-label="Key for user"
        data-testid="admin-key-user"
        value={chosen}
        onChange={(event) => setUserName(event.target.value)}
      >
        {userNames.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
      <input
        aria-label="Key name"
        placeholder="what it is for (optional)"
        data-testid="admin-key-name"
        value={name}
        onChange={(event) => setName(event.target.value)}
      />
      <button type="submit" data-testid="admin-create-key" disabled={chosen === ''}>
        Create key
      </button>
    </form>
  );
}

/** The secret of a key just created: shown this once (the server keeps only its hash), copyable. */
export function NewKeyNotice({
  apiKey,
  secret,
  onDismiss,
}: {
  apiKey: ApiKey | undefined;
  secret: string;
  onDismiss: () => void;
}) {
  const [copied, setCopied] = useState<string>();
  const copy = () => {
    navigator.clipboard.writeText(secret).then(
      () => setCopied('Copied.'),
      () => setCopied('Copying was refused by the browser: select the key and copy it by hand.'),
    );
  };
  return (
    <div className="new-key" role="status" data-testid="admin-new-key">
      <p>
        New key <code>{apiKey?.keyId}</code> for {apiKey?.userName}. It is shown only now: copy it
        and give it to the trainer as <code>TRAINWATCH_API_KEY</code>.
      </p>
      <code className="secret" data-testid="admin-new-key-secret">
        {secret}
      </code>
      <button type="button" data-testid="admin-copy-key" onClick={copy}>
        Copy
      </button>
      <button type="button" onClick={onDismiss}>
        Done
      </button>
      {copied && <span className="small muted">{copied}</span>}
    </div>
  );
}
