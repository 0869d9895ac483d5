/**
 * Warm-up of an `unlearn worker`'s threads: load the modules of the queue's task functions (the
 * model farm's jobs, SISA shard training, the service's unlearning task) and their engine, so the
 * first job a long-running worker takes does not pay for module loading. Run once per thread of
 * the worker's pool at start; changes no state a task's result depends on.
 */
export async function warmThread(): Promise<string[]> {
  const mods = [import('../workflows/farmJobs.js'), import('../unlearn/sisa/train.js'), import('./unlearnTask.js')];
  await Promise.all(mods);
  return ['farmJobs', 'sisa/train', 'unlearnTask'];
}
