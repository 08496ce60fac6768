// Worker-thread entry: stores a run's suggestions (suggestion-writer.ts) while the run's thread
// goes on to the next batch's inference. Driven by suggestion-sink.ts; batches are written in the
// order they arrive, each acknowledged.
import { parentPort } from 'node:worker_threads';
import { openWorkspace, type Db } from '../db/workspace.js';
import { SubjectTable, suggestionWriter, type WireBatch } from './suggestion-writer.js';
import type { FromSuggestionWriter, ToSuggestionWriter } from './suggestion-sink.js';
import { writerLoop } from '../writer-loop.js';

const port = parentPort!;
const post = (message: FromSuggestionWriter): void => port.postMessage(message);
let db: Db | null = null;
let write: ((batch: WireBatch) => void) | null = null;
let table = new SubjectTable();

writerLoop<ToSuggestionWriter>(port, {
  handle(message) {
    switch (message.type) {
      case 'open':
        // A second connection to the workspace the run's thread opened and checked (through
        // openWorkspace all the same: in Electron it finds the native binding built for Electron).
        db = openWorkspace(message.path, { skipIntegrityCheck: true });
        // Every id written comes from this workspace's own tables: checking each reference
        // again costs three index lookups per row.
        db.pragma('foreign_keys = OFF');
        // A kept thread serves one run after another: each starts from its own subjects.
        table = new SubjectTable();
        table.append(message.subjects);
        write = suggestionWriter(db, message.runId, table);
        return;
      case 'subjects':
        table.append(message.subjects);
        return;
      case 'batches':
        for (const batch of message.batches) write!(batch);
        post({ type: 'written', batches: message.batches.length });
        return;
    }
  },
  // After a failure the run is failing and deletes its rows: what is queued is dropped.
  release() {
    db?.close();
    db = null;
  },
  failure: (err) => ({ type: 'failed', message: err instanceof Error ? err.message : String(err) }),
});
