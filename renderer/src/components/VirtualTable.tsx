import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';

export interface Column<T> {
  key: string;
  title: string;
  width: number;
  align?: 'right';
  render: (row: T) => ReactNode;
}

const ROW = 30;
const PAGE = 200;

/**
 * Rows fetched a page at a time as they scroll into view and drawn only while visible, so a
 * table of 100k changes costs what a table of fifty does.
 */
export function VirtualTable<T>({ columns, fetchPage, resetKey, height = 360, onRowClick, testId, label }: {
  columns: Column<T>[];
  fetchPage: (offset: number, limit: number) => Promise<{ total: number; rows: T[] }>;
  /** Changing it drops the cached pages (a new filter or a new workspace). */
  resetKey: string;
  height?: number;
  onRowClick?: (row: T) => void;
  testId?: string;
  /** What the table lists, for screen readers. */
  label?: string;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const [total, setTotal] = useState(0);
  const [pages, setPages] = useState<Map<number, T[]>>(new Map());
  const loading = useRef(new Set<number>());
  // Bumped on every reset: an answer to a request made before it (another filter) is dropped,
  // or a slow first page could overwrite the new total.
  const generation = useRef(0);

  const load = useCallback((page: number) => {
    if (loading.current.has(page)) return;
    loading.current.add(page);
    const asked = generation.current;
    void fetchPage(page * PAGE, PAGE).then((r) => {
      if (asked !== generation.current) return;
      setTotal(r.total);
      setPages((prev) => new Map(prev).set(page, r.rows));
    });
  }, [fetchPage]);

  useEffect(() => {
    generation.current++;
    loading.current = new Set();
    setPages(new Map());
    setTotal(0);
    parent.current?.scrollTo({ top: 0 });
    load(0);
  }, [resetKey, load]);

  const virtualizer = useVirtualizer({ count: total, getScrollElement: () => parent.current, estimateSize: () => ROW, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  useEffect(() => {
    for (const item of items) {
      const page = Math.floor(item.index / PAGE);
      if (!pages.has(page)) load(page);
    }
  }, [items, pages, load]);

  const width = columns.reduce((w, c) => w + c.width, 0);
  return (
    <div className="vtable" data-testid={testId} data-total={total} role="table" aria-label={label} aria-rowcount={total + 1}>
      <div className="vtable-head" style={{ minWidth: width }} role="row" aria-rowindex={1}>
        {columns.map((c) => <div key={c.key} role="columnheader" className={`vcell${c.align === 'right' ? ' num' : ''}`} style={{ width: c.width }}>{c.title}</div>)}
      </div>
      <div ref={parent} className="vtable-body" style={{ height }} role="rowgroup" tabIndex={onRowClick ? undefined : 0}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative', minWidth: width }}>
          {items.map((item) => {
            const row = pages.get(Math.floor(item.index / PAGE))?.[item.index % PAGE];
            return (
              <div key={item.key} className={`vrow${onRowClick ? ' clickable' : ''}`} style={{ transform: `translateY(${item.start}px)`, height: ROW }}
                role="row" aria-rowindex={item.index + 2} tabIndex={onRowClick && row ? 0 : undefined}
                onClick={() => row && onRowClick?.(row)}
                onKeyDown={(e) => {
                  if (!row || !onRowClick) return;
                  if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onRowClick(row); }
                  // Up/down move between rows; the virtualizer keeps the neighbours rendered (overscan).
                  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
                    e.preventDefault();
                    const next = (e.key === 'ArrowDown' ? e.currentTarget.nextElementSibling : e.currentTarget.previousElementSibling) as HTMLElement | null;
                    next?.focus();
                  }
                }}>
                {row ? columns.map((c) => {
                  const content = c.render(row);
                  // Cells are cut to their column's width: a text cell carries its whole value on hover.
                  return <div key={c.key} role="cell" className={`vcell${c.align === 'right' ? ' num' : ''}`} style={{ width: c.width }} title={typeof content === 'string' || typeof content === 'number' ? String(content) : undefined}>{content}</div>;
                })
                  : <div className="vcell muted">…</div>}
              </div>
            );
          })}
        </div>
      </div>
      <div className="vtable-foot muted small">{total.toLocaleString('en-US')} rows</div>
    </div>
  );
}
