/**
 * `npx onetime <command>`: what an operator runs beside the server (which `npm start` runs).
 * Compiled to dist/cli.js with the server; bin/onetime.mjs builds it when stale and runs it.
 */
import { refusedExitCode, runTokenCommand, tokenCommandUsage } from "./cli/tokenCommand.js";

const usage = `usage: npx onetime token …   mint a bearer token (npx onetime token --help)\n(the server itself starts with \`npm start\`)\n`;

const [command, ...rest] = process.argv.slice(2);
const output = { stdout: (text: string) => void process.stdout.write(text), stderr: (text: string) => void process.stderr.write(text) };
if (command === "token") {
  // exitCode, not exit(): a piped stdout is written asynchronously, and the token must get out whole.
  process.exitCode = await runTokenCommand(rest, process.env, output);
} else if (command === "--help" || command === "-h" || command === "help") {
  output.stdout(`${usage}\n${tokenCommandUsage}`);
} else {
  output.stderr(command === undefined ? usage : `onetime: unknown command "${command}"\n${usage}`);
  process.exitCode = refusedExitCode;
}
