// Entry of a worker thread of src/engine/dataParallel.ts. Plain JS so it starts under any
// launcher; it registers the TypeScript loader, then runs the worker loop.
import { register } from 'tsx/esm/api';

register();
await import('./dataParallelWorkerMain.ts');
