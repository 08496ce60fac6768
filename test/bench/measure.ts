import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** Runs a command and samples its peak RSS (VmHWM) from /proc until it exits. */
export function measured(command: string, args: string[], options: { input?: string } = {}): Promise<{ seconds: number; peakRssMb: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    let peakKb = 0;
    child.stdout.on('data', (c) => (stdout += c));
    const sample = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // the process has just exited
      }
    }, 25);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sample);
      if (code !== 0) reject(new Error(`${command} exited with ${code}`));
      else resolve({ seconds: (performance.now() - started) / 1000, peakRssMb: peakKb / 1024, stdout });
    });
    child.stdin.end(options.input ?? '');
  });
}

