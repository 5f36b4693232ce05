/**
 * A worker thread that runs some of the router strategies (simulate.ts shares them between the cores).
 * It rebuilds the same population and workload from the seed, so every thread sees the same world.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Library } from './library.js';
import { runStrategies, type WorkerTask } from './simulate.js';

const task = workerData as WorkerTask;
const lib = (await import(task.libUrl)) as Library;
const results = await runStrategies(lib, task, (line) => parentPort!.postMessage({ progress: line }));
parentPort!.postMessage({ results });
