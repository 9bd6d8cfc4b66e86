// herald-js in a TypeScript project of its own (docs/clients.md, "herald.js"): a visitor's client that receives
// the messages of their dialog, first those already there, then each new one as it arrives.
//
//   npm install <the herald-js-0.1.0.tgz that `npm pack` made in clients/js>
//   npx tsc -p .          (tsconfig.json: strict, Node's module resolution, which reads the package's "exports")
//   then import { receiveMessages } from './out/sample.js' and call it.
import { Client, type ClientError } from 'herald-js';

export interface SampleOptions {
  baseUrl: string;
  assistantId: number;
  guestId: string;
  dialogId: number;
  /** Stop after this many messages. */
  count: number;
}

/**
 * Connects as the dialog's guest from the dialog's start (lastEventId 0), calls `onMessage` with each message as
 * "sender: text", and resolves with all of them once `count` have arrived. A fatal error (a refused credential)
 * rejects; transient ones are the client's to retry.
 */
export function receiveMessages(options: SampleOptions, onMessage?: (line: string) => void): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const client = new Client({
      baseUrl: options.baseUrl,
      dialogId: options.dialogId,
      auth: { assistantId: options.assistantId, guestId: options.guestId },
      lastEventId: 0,
    });
    client.on('message:new', (e) => {
      const line = `${e.data.message.sender}: ${e.data.message.text}`;
      lines.push(line);
      onMessage?.(line);
      if (lines.length >= options.count) {
        client.close();
        resolve(lines);
      }
    });
    client.on('reset', (e) => onMessage?.(`reset: ${e.reason ?? 'unknown'}`));
    client.on('error', (e: ClientError) => {
      if (e.fatal) {
        client.close();
        reject(new Error(`${e.error}${e.detail ? ': ' + e.detail : ''}`));
      }
    });
  });
}
