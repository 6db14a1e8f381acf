import { AlertBanner, AlertLog } from '../../alerts/components/alert-banner';
import { ChartPageProvider } from '../../charts/chart-view-context';
import { useWindowFetcher } from '../../charts/use-window-fetcher';
import { CommandBar } from '../../commands/components/command-bar';
import { PANEL_REGISTRY, SESSION_LAYOUT, type PanelKind } from '../../panels/panel-registry';
import type { SessionStore } from '../store/session-store';
import type { WatchLoopOptions } from '../hooks/watch-loop';
import { useWatchSession } from '../hooks/use-watch-session';
import { HistoryNotice } from './history-notice';
import { SessionHeader } from './session-header';
import { WriterConflictBanner } from './writer-conflict-banner';

function Panel({
  kind,
  sessionId,
  store,
}: {
  kind: PanelKind;
  sessionId: string;
  store: SessionStore;
}) {
  const Component = PANEL_REGISTRY[kind].component;
  return <Component sessionId={sessionId} store={store} />;
}

/** One session, live: the page behind #/sessions/<id>. Key it by session id. */
export function SessionPage({
  sessionId,
  watchOptions,
}: {
  sessionId: string;
  watchOptions?: WatchLoopOptions;
}) {
  const { view, store } = useWatchSession(sessionId, watchOptions);
  const { summary, link } = view;
  const fetcher = useWindowFetcher();

  if (link.kind === 'not-found') {
    return (
      <main className="page">
        <a href="#/">← Sessions</a>
        <p className="error" role="alert">
          The server does not know session “{sessionId}”. {link.reason}
        </p>
      </main>
    );
  }

  const page = (
    <main className="page">
      <SessionHeader
        sessionId={sessionId}
        summary={summary}
        link={link}
        lastEventAt={view.lastEventAt}
      />
      {link.kind === 'reconnecting' && (
        <p className="banner" role="alert" data-testid="reconnecting-banner">
          Reconnecting… the chart continues where it left off once the server answers.
        </p>
      )}
      <WriterConflictBanner conflict={summary?.writerConflict} />
      <AlertBanner sessionId={sessionId} alerts={view.alerts} />
      <HistoryNotice summary={summary} />
      <CommandBar
        sessionId={sessionId}
        status={summary?.status}
        customCommands={view.customCommands}
      />
      <AlertLog alerts={view.alerts} />
      {SESSION_LAYOUT.map((row, index) =>
        'kind' in row ? (
          <Panel key={row.kind} kind={row.kind} sessionId={sessionId} store={store} />
        ) : (
          <div key={index} className="two-columns">
            {row.columns.map((column) => (
              <div key={column.join()}>
                {column.map((kind) => (
                  <Panel key={kind} kind={kind} sessionId={sessionId} store={store} />
                ))}
              </div>
            ))}
          </div>
        ),
      )}
    </main>
  );
  // One chart view per page (x axis, smoothing, zoom, step cursor), kept in the URL.
  return <ChartPageProvider fetcher={fetcher}>{page}</ChartPageProvider>;
}
