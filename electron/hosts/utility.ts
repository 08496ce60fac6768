import path from 'node:path';
import { createEngine } from '../engine/engine.js';
import { defaultWorkspacesDir } from './paths.js';

/**
 * The engine inside Electron's utility process: messages from the main process in, results and
 * job events out. The main process decides what is privileged; this side trusts only it.
 */
interface ParentPort {
  on(event: 'message', listener: (e: { data: { id: number; method: string; input: unknown; privileged: boolean } }) => void): void;
  postMessage(message: unknown): void;
}

const port = (process as unknown as { parentPort: ParentPort }).parentPort;
const engine = createEngine({
  workspacesDir: defaultWorkspacesDir(),
  ...(process.env.SHADOWBENCH_SAMPLE_DATA ? { sampleDataDir: path.resolve(process.env.SHADOWBENCH_SAMPLE_DATA) } : {}),
});
engine.onEvent((event) => port.postMessage({ event }));
port.on('message', ({ data }) => {
  void engine.dispatch(data.method, data.input, { privileged: data.privileged }).then((result) => port.postMessage({ id: data.id, result }));
});
