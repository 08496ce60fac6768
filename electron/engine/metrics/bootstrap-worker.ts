// Worker-thread entry: computes one range of a seeded bootstrap and posts its rows back.
import { parentPort } from 'node:worker_threads';
import { bootstrapSamples } from '../../../shared/metrics/bootstrap.js';
import type { BootstrapJob } from './parallel-bootstrap.js';

parentPort?.on('message', (job: BootstrapJob) => {
  const rows = bootstrapSamples(job.sorted, job.threshold, job.costs, job.seed, job.from, job.to);
  // The rows are a fresh, unshared buffer: hand it over rather than copy it.
  parentPort?.postMessage({ id: job.id, rows }, [rows.buffer as ArrayBuffer]);
});
