import { runCli } from './cli.js';

// `shadowbench runs list | head -1`: the reader leaving is not an error worth a stack trace, and
// whatever was left to print has nowhere to go. Exit as the shell expects of a closed pipe.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

process.exitCode = await runCli(process.argv.slice(2));
