/** Registers the training kernels the wasm backend lacks (filled in by the kernel modules). */
export function registerWasmTrainingKernels(): void {}
