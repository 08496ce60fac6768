import { useStore, type Page } from '../store.js';

/** An empty page says what is missing and offers the way to it, rather than only naming another page. */
export function Empty({ text, page, action }: { text: string; page: Page; action: string }) {
  const navigate = useStore((s) => s.navigate);
  return (
    <div className="page">
      <div className="card empty" data-testid="empty-state">
        <p className="muted">{text}</p>
        <button className="primary" onClick={() => navigate(page)} data-testid="empty-go">{action}</button>
      </div>
    </div>
  );
}

export const NoWorkspace = () => <Empty text="No workspace is open." page="home" action="Open or create one" />;
