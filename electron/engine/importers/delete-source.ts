import type { Db } from '../db/workspace.js';
import { EngineFailure } from '../errors.js';
import { forget } from '../memo.js';

/**
 * Undoing an import: the rows a source brought in (and still owns) go, and the source with them, so
 * the corrected file can be imported again (a source is unique by kind and content). What cannot be
 * undone exactly is refused with the reason and what to do instead:
 * - telemetry: points are kept once per series and time, whichever import brought them first, so
 *   which points came from one file is not recorded (a column for it would cost every import);
 * - services: the catalogue is merged from every services file, not owned by one;
 * - changes a run has scored: the run's suggestions, and any human feedback on them, hang on them.
 * Rows a later import replaced (`--update-existing`) belong to that later source and stay.
 */

const TABLE: Record<string, { table: string; what: string }> = {
  changes: { table: 'changes', what: 'changes' },
  incidents: { table: 'incidents', what: 'incidents' },
  alerts: { table: 'alerts', what: 'alerts' },
  predictions: { table: 'logged_scores', what: 'logged scores' },
  'detector-scores': { table: 'logged_detector_scores', what: 'logged detector scores' },
};

export interface DeletedSource { id: number; kind: string; fileName: string; rows: number; what: string }

export function deleteSource(db: Db, id: number): DeletedSource {
  const source = db.prepare('SELECT id, kind, file_name AS fileName FROM sources WHERE id = ?').get(id) as { id: number; kind: string; fileName: string } | undefined;
  if (!source) throw new EngineFailure('not_found', `No import ${id}; the workspace's imports are listed by \`shadowbench sources list\` and on the Data page`);
  const named = `Import ${id} (${source.kind} from ${source.fileName})`;
  if (source.kind === 'telemetry') {
    throw new EngineFailure('conflict', `${named} cannot be undone exactly: telemetry points are stored once per series and time, whichever import brought them, so which ones came from this file is not recorded. Restore a backup taken before it (\`shadowbench backup\` makes one), or import into a new workspace`);
  }
  if (source.kind === 'services') {
    throw new EngineFailure('conflict', `${named} cannot be undone: the service catalogue is merged from every services file. Import a corrected services file; it updates tiers, teams and dependencies`);
  }
  const target = TABLE[source.kind];
  if (!target) throw new EngineFailure('conflict', `${named}: imports of kind ${source.kind} cannot be deleted`);
  if (source.kind === 'changes') {
    const runs = db.prepare(`SELECT DISTINCT s.run_id FROM suggestions s JOIN changes c ON c.id = s.change_id WHERE c.source_id = ? ORDER BY s.run_id`).pluck().all(id) as number[];
    if (runs.length > 0) {
      const list = runs.length > 10 ? `${runs.slice(0, 10).join(', ')} and ${runs.length - 10} more` : runs.join(', ');
      throw new EngineFailure('conflict', `${named} has changes that run${runs.length === 1 ? '' : 's'} ${list} scored; their suggestions (and any feedback on them) need those changes. Delete the run${runs.length === 1 ? '' : 's'} first (\`shadowbench runs delete\`), or keep the import`);
    }
  }
  // Scorecards and reports kept for this workspace were judged against the rows about to go.
  forget(db);
  return db.transaction(() => {
    const rows = db.prepare(`DELETE FROM ${target.table} WHERE source_id = ?`).run(id).changes;
    db.prepare('DELETE FROM sources WHERE id = ?').run(id);
    return { id, kind: source.kind, fileName: source.fileName, rows, what: target.what };
  })();
}
