/** Tasks (the 2026-07-28 tasks extension): what happened to them, by server; a refused handle names no server. */
import type { Instruments } from './instruments.js';
import type { LabelFolding } from './labels.js';
import type { Metrics } from './types.js';

export function taskMetrics(make: Instruments, fold: LabelFolding): Pick<Metrics, 'task'> {
  const total = make.counter({
    name: 'switchboard_tasks_total',
    help: 'Task events by server: created (a call came back as a task), polled, updated, cancelled; refused (a handle that did not open, server "").',
    labelNames: ['server', 'event'],
  });
  return {
    task(server, event) {
      total.inc({ server: server === undefined ? '' : fold.server(server), event });
    },
  };
}
