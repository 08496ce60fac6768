// Worker-thread entry: one ONNX model's onnxruntime session, for a replay (onnx-thread.ts).
// onnxruntime-node's `run` holds the thread that calls it for the whole inference; here it holds
// this one, so the replay's thread reads and builds the next changes meanwhile. Batches are scored
// one after another, in the order they arrive, each answered with its own id.
import { parentPort } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../../shared/contract/models.js';
import { EngineFailure } from '../errors.js';
import { loadSession, scoreOnnx } from './onnx-model.js';
import type { FromOnnxThread, ToOnnxThread } from './onnx-thread.js';

const port = parentPort!;
const post = (message: FromOnnxThread, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
const failure = (err: unknown): { code: EngineFailure['code']; message: string } => ({
  code: err instanceof EngineFailure ? err.code : 'internal',
  message: err instanceof Error ? err.message : String(err),
});

let session: ort.InferenceSession | null = null;
let manifest: ModelManifest | null = null;
// Each message's work starts when the one before it has finished: a batch is never scored
// before the session it needs exists, and replies keep the order of requests.
let queue: Promise<void> = Promise.resolve();

async function handle(message: ToOnnxThread): Promise<void> {
  switch (message.type) {
    case 'load':
      try {
        session = await loadSession(message.manifest.name, message.bytes);
        manifest = message.manifest;
        post({ type: 'loaded' });
      } catch (err) {
        post({ type: 'load-failed', ...failure(err) });
      }
      return;
    case 'score': {
      const started = performance.now();
      try {
        if (!session || !manifest) throw new Error('the model is not loaded');
        const { scores, errors } = await scoreOnnx(session, manifest, message.values, message.rows);
        const elapsedMs = performance.now() - started;
        post({ type: 'scored', id: message.id, scores, errors: errors.some((e) => e !== null) ? errors : null, elapsedMs }, [scores.buffer as ArrayBuffer]);
      } catch (err) {
        post({ type: 'score-failed', id: message.id, ...failure(err), elapsedMs: performance.now() - started });
      }
      return;
    }
    case 'release':
      try {
        await session?.release();
      } finally {
        session = null;
        post({ type: 'released' });
      }
  }
}

port.on('message', (message: ToOnnxThread) => {
  queue = queue.then(() => handle(message));
});
post({ type: 'ready' });
