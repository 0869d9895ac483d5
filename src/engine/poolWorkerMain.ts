import { parentPort, workerData } from 'node:worker_threads';
import { UnlearnError } from '../errors.js';
import { initEngine, type BackendName } from './backend.js';
import type { TaskMessage, ResultMessage } from './workerPool.js';

/** Worker loop: one tfjs backend per worker; runs `module.fn(args)` for each task message. */
const port = parentPort!;
const backendReady = initEngine((workerData as { backend: BackendName | 'auto' }).backend);
const modules = new Map<string, Promise<Record<string, unknown>>>();

port.on('message', async (msg: TaskMessage) => {
  let reply: ResultMessage;
  try {
    await backendReady;
    if (!modules.has(msg.module)) modules.set(msg.module, import(msg.module));
    const mod = await modules.get(msg.module)!;
    const fn = mod[msg.fn];
    if (typeof fn !== 'function') throw new Error(`${msg.module} exports no function ${msg.fn}`);
    reply = { id: msg.id, ok: true, value: await fn(msg.args) };
  } catch (e) {
    const err = e as Error & { code?: string; hint?: string };
    reply = { id: msg.id, ok: false, error: { message: err.message, stack: err.stack, code: e instanceof UnlearnError ? err.code : undefined, hint: err.hint } };
  }
  port.postMessage(reply);
});
